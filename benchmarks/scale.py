"""Memory and time of a whole ``bench run`` as the cached frames grow: more frames per clip, more
clips, more layers.

Each size is one ``python -m cli run`` (extraction included) in a fresh cache and results folder:
a plugin embedder (written here) gives every clip ``frames`` x ``dim`` x ``layers`` random float32
values, on a generated CSV task (two classes, 4 folds), ``--protocol mulap --seeds 1`` (the
chunk-level protocol, which trains on frames: the one whose memory used to grow with them). A
thread samples the peak anonymous memory (``RssAnon`` of /proc/<pid>/status, summed over the
process tree) every 20 ms. Extraction throughput: the record's clips per second. Probe time per
epoch: after the run, in this process, ``probe.fit_predict`` (mulap, 5 epochs, one seed; after a
1-epoch warm-up) on the first split's cached frames, its seconds / 5 (prediction included).

Output: a table (cached GB, peak MB, extraction clips/s, probe s/epoch) and ``scale.png``
(memory and time against cached GB, one line per direction). Goal: memory flat in frames and
layers, a small slope in clips; time linear.

``--max-gb`` caps the largest size (default 10; the grid's largest sizes are 10 GB of cached
frames, 40 times the smallest); the cap is printed. ``--cluster`` (or ``--cluster-only``): 1000 clips x
1000 frames x 512 values (2.05 GB) locally and on a two-node loopback Ray cluster
(tests/ray_cluster.py), 1 thread everywhere: every worker process's peak RssAnon and whether
the scores are bitwise the local run's.

Run:  python benchmarks/scale.py [--max-gb 10] [--work /tmp/scale] [--cluster]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLUGIN = '''
import zlib
import numpy as np
from embedders.base import Embedder

class Synth(Embedder):
    """frames x (layers * dim) random float32 values per clip, seeded by the clip's audio."""
    name = "synth"
    sample_rate = 8000
    batch_size = 16
    takes_weights = False
    accepted_options = {"frames": "frames per clip", "dim": "values per layer", "layers": "layers stored"}

    def __init__(self, weights=None, device=None, **options):
        super().__init__(weights, device, **options)
        self.frames, width, layers = (int(self.options.get(k, d)) for k, d in (("frames", 1000), ("dim", 512), ("layers", 1)))
        self.dim = width * layers
        if layers > 1:
            self.layer_ids, self.layer_dims = list(range(layers)), [width] * layers

    def embed(self, batch):
        out = []
        for x in batch:
            rng = np.random.default_rng(zlib.crc32(np.asarray(x, np.float32).tobytes()))
            out.append(rng.standard_normal((self.frames, self.dim), dtype=np.float32))
        return out
'''


def tree_anon_kb(pid: int) -> int:
    import psutil

    total = 0
    try:
        procs = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    for proc in procs:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def peak_anon_mb(cmd: list[str], env: dict) -> tuple[float, int, str]:
    """Run ``cmd``; the peak RssAnon of its process tree (MB), its exit code and its output."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_anon_kb(proc.pid))
            time.sleep(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    output = proc.communicate()[0]
    thread.join()
    return peak[0] / 1024, proc.returncode, output


def make_task(folder: Path, n_clips: int) -> str:
    import soundfile

    csv = folder / f"clips{n_clips}.csv"
    if not csv.exists():
        rows = ["path,label,fold"]
        for i in range(n_clips):
            rel = f"audio/{i}.wav"
            if not (folder / rel).exists():  # 50 ms of a tone and noise, distinct per clip
                (folder / "audio").mkdir(parents=True, exist_ok=True)
                t = np.arange(400) / 8000
                noise = np.random.default_rng(i).standard_normal(t.size)
                soundfile.write(folder / rel, (0.5 * np.sin(2 * np.pi * (300 + 7 * i) * t) + 0.05 * noise)
                                .astype(np.float32), 8000)
            rows.append(f"{rel},{'ab'[i // 4 % 2]},{i % 4 + 1}")  # both labels in every fold
        csv.write_text("\n".join(rows) + "\n")
    return f"csv:{csv}"


def bench_run(work: Path, plugin: Path, task: str, frames: int, dim: int, layers: int, name: str,
              extra: Sequence[str] = ()) -> tuple[float, dict, str]:
    cache, results = work / f"cache-{name}", work / f"results-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(results, ignore_errors=True)
    cmd = [sys.executable, "-m", "cli", "run", "-e", f"{plugin}:Synth", "-t", task, "--protocol", "mulap",
           "--seeds", "1", "--cache-dir", str(cache), "--results-dir", str(results),
           "--option", f"frames={frames}", "--option", f"dim={dim}", "--option", f"layers={layers}", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_OFFLINE": "1"}
    peak, code, output = peak_anon_mb(cmd, env)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{output}")
    (record_file,) = list(results.rglob("*.json"))[:1] or [None]
    record = json.loads(record_file.read_text()) if record_file else {}
    return peak, record, str(cache)


def epoch_seconds(cache: str, plugin: Path, task: str, frames: int, dim: int, layers: int) -> float:
    """Seconds per mulap epoch (one seed) on the first split's cached frames, read from the cache."""
    import cli
    from benchmark.probe import mlp as probe
    from benchmark.probe.protocols import MULAP
    from benchmark.run.runner import extract_cell, prepare
    from benchmark.core.spec import RunEnv, RunSpec

    spec = RunSpec(f"{plugin}:Synth", task, protocol="mulap", seeds=1,
                   options=(("dim", dim), ("frames", frames), ("layers", layers)))
    cell = prepare(spec, cli.registries(), env=RunEnv(cache_dir=cache, results_dir=str(Path(cache).parent / "results-epoch")))
    extract_cell(cell)  # all cached: only the splits
    split, clips = cell.splits[0], {c.id: c for c in cell.clips}

    def data(ids):
        return cell.store.get_many([clips[i] for i in ids]), cell.task.encode_targets([clips[i] for i in ids])

    train, valid, test = data(split.train), data(split.valid), data(split.test)[0]
    for epochs in (1, 5):  # the first: a warm-up (lazy imports, kernels' first calls)
        started = time.perf_counter()
        probe.fit_predict(dataclasses.replace(MULAP, max_epochs=epochs, patience=100), cell.task.kind, train, valid,
                          test, [0], valid_metric=cell.task.metrics[0])
    return (time.perf_counter() - started) / 5


def sizes(max_gb: float) -> list[tuple[str, int, int, int, int]]:
    """(direction, clips, frames, dim, layers): from 250 clips x 500 frames x 512 values (0.26 GB),
    each direction x2, x4, ... x40 (10.2 GB), up to ``max_gb``."""
    grid = []
    for k in (1, 2, 4, 8, 16, 40):
        grid += [("frames", 250, 500 * k, 512, 1), ("clips", 250 * k, 500, 512, 1), ("layers", 250, 500, 512, k)]
    grid.sort(key=lambda s: ("frames", "clips", "layers").index(s[0]))
    return [s for s in grid if gb(s) <= max_gb + 1e-9]


def gb(size: tuple) -> float:
    _, clips, frames, dim, layers = size
    return clips * frames * dim * layers * 4 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-gb", type=float, default=10.0, help="largest cached frames measured (GB)")
    parser.add_argument("--work", default="/tmp/bench-scale")
    parser.add_argument("--only", choices=("frames", "clips", "layers"), help="one direction only")
    parser.add_argument("--cluster", action="store_true", help="also the largest frames size on a loopback Ray cluster")
    parser.add_argument("--cluster-only", action="store_true", help="only the cluster comparison")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    plugin = work / "synth_plugin.py"
    plugin.write_text(PLUGIN)
    grid = [s for s in sizes(args.max_gb) if args.only in (None, s[0]) and not args.cluster_only]
    if grid:
        print(f"Largest size measured: {max(map(gb, grid)):.2f} GB of cached frames (--max-gb {args.max_gb:g}"
              + ("; the grid goes to 10 GB" if args.max_gb < 10 else "") + ")")
        rows, done = [], {}
        print(f"{'direction':<9} {'clips':>6} {'frames':>6} {'dim':>5} {'layers':>6} {'cached GB':>9} "
              f"{'peak RssAnon MB':>15} {'extract clips/s':>15} {'probe s/epoch':>13}")
        for size in grid:
            direction, clips, frames, dim, layers = size
            if size[1:] not in done:  # the smallest size starts every direction: measured once
                task = make_task(work / "data", clips)
                name = f"{clips}x{frames}x{dim}x{layers}"
                peak, record, cache = bench_run(work, plugin, task, frames, dim, layers, name)
                per_epoch = epoch_seconds(cache, plugin, task, frames, dim, layers)
                rate = record.get("timings", {}).get("extract_clips_per_s", float("nan"))
                shutil.rmtree(cache, ignore_errors=True)  # the disk for the next size
                done[size[1:]] = peak, rate, per_epoch
            peak, rate, per_epoch = done[size[1:]]
            rows.append((direction, gb(size), peak, rate, per_epoch))
            print(f"{direction:<9} {clips:>6} {frames:>6} {dim:>5} {layers:>6} {gb(size):>9.2f} {peak:>15.0f} "
                  f"{rate:>15.1f} {per_epoch:>13.4f}", flush=True)
        plot(rows, work / "scale.png")
        print(f"Plot: {work / 'scale.png'}")
    if args.cluster or args.cluster_only:
        cluster(work, plugin, CLUSTER_SIZE)


def plot(rows: list[tuple], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for direction in ("frames", "clips", "layers"):
        mine = [r for r in rows if r[0] == direction]
        if mine:
            left.plot([r[1] for r in mine], [r[2] for r in mine], "o-", label=f"more {direction}")
            right.plot([r[1] for r in mine], [r[4] for r in mine], "o-", label=f"more {direction}")
    left.set(xlabel="cached frames (GB)", ylabel="peak RssAnon of the run (MB)", title="memory")
    right.set(xlabel="cached frames (GB)", ylabel="probe seconds per epoch (1 seed)", title="time")
    left.legend()
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


#: issue 22's case: 1000 clips x 1000 frames x 512 values (2.05 GB)
CLUSTER_SIZE = ("frames", 1000, 1000, 512, 1)


def cluster(work: Path, plugin: Path, size: tuple) -> None:
    """The size on local and on a two-node loopback Ray cluster (one CPU per node, 1 thread
    everywhere): each worker process's peak RssAnon, and whether the scores are bitwise equal."""
    import importlib.util

    import psutil

    spec = importlib.util.spec_from_file_location("ray_cluster", ROOT / "tests" / "ray_cluster.py")
    ray_cluster = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ray_cluster)
    _, clips, frames, dim, layers = size
    task = make_task(work / "data", clips)
    one = ["--threads", "1"]
    local_peak, local, _ = bench_run(work, plugin, task, frames, dim, layers, "local", one)
    with ray_cluster.loopback_cluster(cpus_per_node=1, object_store_mb=200) as nodes:
        raylets = [n.all_processes["raylet"][0].process.pid for n in nodes.list_all_nodes()]
        stop, peak = threading.Event(), {}

        def sample() -> None:  # every worker process of the cluster's two raylets
            while not stop.is_set():
                for raylet in raylets:
                    try:
                        workers = psutil.Process(raylet).children(recursive=True)
                    except psutil.NoSuchProcess:
                        continue
                    for proc in workers:
                        peak[proc.pid] = max(peak.get(proc.pid, 0), tree_anon_kb(proc.pid) / 1024)
                time.sleep(0.05)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        driver, remote, _ = bench_run(work, plugin, task, frames, dim, layers, "ray",
                                      one + ["--executor", "ray", "--address", nodes.address])
        stop.set()
        thread.join()
    def by_split(record: dict) -> dict:  # Ray records the splits in the order they finish
        return {(s["split"], s["seed"]): s["metrics"] for s in record["scores"]}

    same = by_split(local) == by_split(remote) and len(by_split(local)) == len(local["scores"])
    print(f"Local, 1 thread, {gb(size):.2f} GB: peak RssAnon {local_peak:.0f} MB. Ray cluster (2 loopback nodes, "
          f"1 CPU each): driver's process tree {driver:.0f} MB; largest worker processes (MB) "
          f"{sorted((round(v) for v in peak.values()), reverse=True)[:6]}; scores bitwise equal to local: {same}")


if __name__ == "__main__":
    main()
