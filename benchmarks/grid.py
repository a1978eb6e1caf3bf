"""Wall time of one grid on the local executor and on Ray, in the same run, and Ray's throughput
per worker on a two-node loopback cluster.

The grid: ``--embedders`` (default mfcc and musicnn-random, which needs no weights) x two
generated CSV tasks of ``--clips`` clips each (4 folds, two pitch classes), ``--seeds`` seeds of
the ``coala`` probe, torch pinned to ``--threads`` threads in every process. Each executor starts
from an empty cache and results folder. Ray's start (``ray.init``) is timed apart and the ratio
is given with and without it. The scores of the two executors are compared bit for bit.

``--cluster``: then the same grid on a ``ray.cluster_utils.Cluster`` of two nodes, the head on
127.0.0.2 and a worker node on 127.0.0.3 (``--cluster-cpus`` CPUs each, one extraction worker per
``--threads`` CPUs): the extraction's clips per second per worker (its scores are compared to
the local ones when the thread count is the same).

Run:  python benchmarks/grid.py [--clips 200] [--seeds 3] [--threads 2] [--cluster] [--cluster-cpus 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local or loopback Ray only


def make_tasks(folder: Path, n_clips: int) -> list[str]:
    from tests.helpers import write_csv_dataset

    tasks = []
    for name in ("grid_a", "grid_b"):
        csv = write_csv_dataset(folder / name, n_per_class=max(4, n_clips // 2))
        tasks.append(f"csv:{csv.rename(csv.with_name(name + '.csv'))}")
    return tasks


def scores(outcomes) -> dict:
    bad = [f"{o.spec.label()}: {o.reason}" for o in outcomes if o.status == "failed"]
    if bad:
        raise SystemExit("failed cells:\n" + "\n".join(bad))
    return {(o.spec.embedder, o.spec.task, s["split"], s["seed"]): s["metrics"] for o in outcomes
            for s in o.record["scores"]}


def run(name: str, embedders, tasks, args, work: Path, threads: int) -> tuple[float, dict, float]:
    """The grid on ``local`` or on the Ray this process is connected to: wall seconds, the scores,
    and the extraction's clips per second (clips embedded / the extraction phases' seconds)."""
    import cli
    from benchmark.run.grid import run_grid
    from benchmark.core.spec import RunEnv, grid

    specs = grid(embedders, tasks, seeds=args.seeds, protocol="coala")
    env = RunEnv(threads=threads, device="cpu", executor="local" if name == "local" else "ray",
                 cache_dir=str(work / f"cache-{name}"), results_dir=str(work / f"results-{name}"))
    started = time.perf_counter()
    outcomes = run_grid(specs, cli.registries(), env)
    seconds = time.perf_counter() - started
    found = scores(outcomes)
    clips = sum(o.record["task"]["n_clips"] for o in outcomes)
    # the Ray executor records one extraction phase per embedder: count each phase once
    phases = {(o.spec.embedder, o.record["timings"].get("extract_s", 0.0)) for o in outcomes}
    extract_s = sum(s for _, s in phases) if name != "local" else sum(o.record["timings"].get("extract_s", 0.0)
                                                                       for o in outcomes)
    return seconds, found, clips / extract_s if extract_s else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=200, help="clips per task")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--embedders", default="mfcc,musicnn-random")
    parser.add_argument("--cluster", action="store_true", help="also the grid on a two-node loopback cluster")
    parser.add_argument("--cluster-cpus", type=int, default=1, help="CPUs of each cluster node")
    args = parser.parse_args(argv)
    try:
        import ray
    except ImportError:
        print('Ray is not installed: pip install -e ".[ray]"')
        return 1
    from benchmark.run.executors.ray import runtime_env

    embedders = args.embedders.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-grid-") as tmp:
        work = Path(tmp)
        tasks = make_tasks(work / "data", args.clips)
        print(f"grid: {len(embedders)} embedders x {len(tasks)} tasks of {args.clips} clips, {args.seeds} seeds, "
              f"{args.threads} torch threads, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        local_s, local_scores, local_rate = run("local", embedders, tasks, args, work, args.threads)
        print(f"local: {local_s:.1f} s (extraction {local_rate:.1f} clips/s)")
        started = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), _node_ip_address="127.0.0.2", include_dashboard=False,
                 log_to_driver=False, _temp_dir=str(work / "ray"), runtime_env=runtime_env(),
                 object_store_memory=200 * 1024 * 1024)
        init_s = time.perf_counter() - started
        try:
            ray_s, ray_scores, ray_rate = run("ray", embedders, tasks, args, work, args.threads)
        finally:
            ray.shutdown()
        same = "bitwise equal" if ray_scores == local_scores else "DIFFERENT"
        print(f"ray:   {ray_s:.1f} s (+ {init_s:.1f} s ray.init, extraction {ray_rate:.1f} clips/s); "
              f"scores {same} to local")
        print(f"ratio ray/local: {ray_s / local_s:.2f} without ray.init, {(ray_s + init_s) / local_s:.2f} with it")
        if args.cluster and cluster(embedders, tasks, args, work, local_scores) == "DIFFERENT":
            same = "DIFFERENT"
    return 0 if same == "bitwise equal" else 1


def cluster(embedders, tasks, args, work: Path, local_scores: dict) -> str:
    """The grid on a two-node loopback cluster; what its scores are to the local ones."""
    from tests.ray_cluster import loopback_cluster

    threads = min(args.threads, args.cluster_cpus)
    workers = 2 * (args.cluster_cpus // threads)
    started = time.perf_counter()
    with loopback_cluster(cpus_per_node=args.cluster_cpus, object_store_mb=200):
        start_s = time.perf_counter() - started
        seconds, found, rate = run("cluster", embedders, tasks, args, work, threads)
    if threads == args.threads:
        same = "bitwise equal" if found == local_scores else "DIFFERENT"
    else:
        same = f"not compared ({threads} threads, local {args.threads})"
    print(f"two-node loopback cluster ({args.cluster_cpus} CPU each, {workers} workers of {threads} thread): "
          f"{seconds:.1f} s (+ {start_s:.1f} s to start the nodes), extraction {rate:.1f} clips/s, "
          f"{rate / workers:.1f} clips/s per worker; scores {same} to local")
    return same


if __name__ == "__main__":
    sys.exit(main())
