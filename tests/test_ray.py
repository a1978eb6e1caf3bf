"""The Ray executor: the same numbers as the local executor, bit for bit on CPU; actors that die
and drivers that are killed lose nothing finished. Ray on loopback only, in its own temp dir,
shut down by the fixture that started it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import cli
from benchmark.run.grid import run_grid
from benchmark.core.spec import RunEnv, grid
from tests.helpers import write_csv_dataset

ray = pytest.importorskip("ray", reason='the Ray executor is an optional extra: pip install -e ".[ray]"')
ROOT = Path(__file__).resolve().parent.parent

# an embedder whose output depends on its batch (a batch-norm-like scaling), so that chunks and
# batches formed differently would show; it logs embedded clips, can die once on demand, and
# stops before its next batch once N clips are logged while the file "gate" (holding N) exists
PLUGIN = '''
import os
import time
import numpy as np
from embedders.base import Embedder

HERE = os.path.dirname(os.path.abspath(__file__))

class Batchy(Embedder):
    name = "batchy"
    sample_rate = 8000
    dim = 4
    batch_size = 2
    clips_per_chunk = 4

    def embed(self, batch):
        if os.path.exists(os.path.join(HERE, "die-once")):
            os.unlink(os.path.join(HERE, "die-once"))
            os._exit(1)
        gate, log = os.path.join(HERE, "gate"), os.path.join(HERE, "log")
        if os.path.exists(gate) and os.path.exists(log) and len(open(log).read().split()) >= int(open(gate).read()):
            while os.path.exists(gate):
                time.sleep(0.05)
        with open(log, "a") as handle:
            handle.write("".join(f"{os.getpid()}\\n" for _ in batch))
        scale = float(np.mean([np.abs(x).mean() for x in batch]))
        return [np.stack([np.abs(x).mean(keepdims=True) / scale, x.std(keepdims=True), x.max(keepdims=True),
                          (x ** 2).mean(keepdims=True)], axis=1).astype("float32") for x in batch]
'''


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One local Ray for the module: a head on 127.0.0.2, 2 CPUs, its own temp dir."""
    os.environ["RAY_AUTH_MODE"] = "disabled"
    temp = tmp_path_factory.mktemp("ray")
    from benchmark.run.executors.ray import runtime_env

    info = ray.init(num_cpus=2, _node_ip_address="127.0.0.2", _temp_dir=str(temp), include_dashboard=False,
                    object_store_memory=100 * 1024 * 1024, log_to_driver=False, runtime_env=runtime_env())
    yield info
    ray.shutdown()


@pytest.fixture()
def data(tmp_path):
    plugin = tmp_path / "plugin" / "batchy.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    a = write_csv_dataset(tmp_path / "a", n_per_class=5, column="split")
    b = write_csv_dataset(tmp_path / "b", n_per_class=4, column="split")
    b = b.rename(b.with_name("other.csv"))
    return plugin, [f"csv:{a}", f"csv:{b}"]


def scores(outcomes) -> dict:
    out = {}
    for o in outcomes:
        assert o.status in ("done", "already done"), o.reason
        for s in o.record["scores"]:
            out[(o.spec.embedder, o.spec.task, s["split"], s["seed"])] = s["metrics"]
    return out


#: fields of the environment (RunEnv), not of the specs
ENV_FIELDS = ("cache_dir", "results_dir", "data_home", "device", "jobs")


def run(kwargs, embedders, tasks, executor, threads=2, shared_cache=True, **options):
    env = RunEnv(executor=executor, threads=threads, shared_cache=shared_cache,
                 **{k: v for k, v in kwargs.items() if k in ENV_FIELDS})
    specs = grid(embedders, tasks, **{k: v for k, v in kwargs.items() if k not in ENV_FIELDS})
    return run_grid(specs, cli.registries(), env, **options)


def test_ray_grid_gives_bitwise_the_local_scores_shared_cache_or_not(ray_session, data, tmp_path):
    plugin, tasks = data
    embedders = ["mfcc", f"{plugin}:Batchy"]
    common = dict(seeds=2, protocol="coala")
    local = run({**common, "cache_dir": tmp_path / "c1", "results_dir": tmp_path / "r1"}, embedders, tasks, "local")
    on_ray = run({**common, "cache_dir": tmp_path / "c2", "results_dir": tmp_path / "r2"}, embedders, tasks, "ray")
    assert [o.status for o in on_ray] == ["done"] * 4
    assert scores(on_ray) == scores(local) and len(scores(local)) == 8
    for a, b in zip(local, on_ray):
        assert a.record["summary"] == b.record["summary"] and a.record["run_key"] == b.record["run_key"]
    # the workers, not this process, embedded the clips (they wrote the shards of the shared cache)
    pids = set((plugin.parent / "log").read_text().split())
    assert str(os.getpid()) in pids and len(pids) >= 2
    # not shared: the arrays come back and this process writes them
    (plugin.parent / "log").unlink()
    unshared = run({"seeds": 1, "protocol": "linear", "cache_dir": tmp_path / "c3", "results_dir": tmp_path / "r3"},
                   embedders, tasks[:1], "ray", shared_cache=False)
    assert [o.status for o in unshared] == ["done"] * 2
    assert str(os.getpid()) not in set((plugin.parent / "log").read_text().split())
    assert stored(tmp_path / "c3") == stored(tmp_path / "c2", only=stored(tmp_path / "c3"))


def stored(cache: Path, only: dict | None = None) -> dict:
    """(embedder key, clip key) -> frames bytes of every clip in a cache (those in ``only``). Clip
    keys, not ids: the two tasks have clips of the same ids (other files)."""
    out = {}
    for index in cache.glob("embeddings/*/shard-*.json"):
        entry = json.loads(index.read_text())
        frames = np.load(index.with_suffix(".npy"))
        for clip, (start, stop) in entry["clips"].items():
            key = (index.parent.name, clip)
            if only is None or key in only:
                out[key] = frames[start:stop].tobytes()
    return out


def test_an_actor_that_dies_mid_extraction_is_replaced_and_the_numbers_stay(ray_session, data, tmp_path):
    plugin, tasks = data
    embedders = [f"{plugin}:Batchy"]
    common = dict(seeds=2, protocol="linear")
    local = run({**common, "cache_dir": tmp_path / "c1", "results_dir": tmp_path / "r1"}, embedders, tasks, "local")
    (plugin.parent / "die-once").write_text("")
    on_ray = run({**common, "cache_dir": tmp_path / "c2", "results_dir": tmp_path / "r2"}, embedders, tasks, "ray")
    assert not (plugin.parent / "die-once").exists()  # an actor did die
    assert scores(on_ray) == scores(local)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_driver_resumes_redoing_only_unfinished_chunks(ray_session, data, tmp_path):
    plugin, tasks = data
    embedders = [f"{plugin}:Batchy"]
    cache, results = tmp_path / "cache", tmp_path / "results"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "BENCH_CACHE_DIR": str(cache), "BENCH_RESULTS_DIR": str(results),
           "PYTHONPATH": str(ROOT)}
    log = plugin.parent / "log"
    log.unlink(missing_ok=True)
    (plugin.parent / "gate").write_text("8")  # the worker stops after two chunks of 4 clips
    address = ray_session.address_info["gcs_address"]
    args = ["run", "-e", embedders[0], "-t", tasks[0], "-t", tasks[1], "--seeds", "2", "-p", "linear",
            "--executor", "ray", "--address", address, "--threads", "2"]
    driver = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()"] + args, cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    shards = lambda: list(cache.glob("embeddings/*/shard-*.json"))  # noqa: E731
    deadline = time.time() + 300
    while len(shards()) < 2 and time.time() < deadline and driver.poll() is None:
        time.sleep(0.1)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    workers = set(log.read_text().split())
    deadline = time.time() + 120
    while any(_alive(int(pid)) for pid in workers) and time.time() < deadline:  # Ray ends the driver's actors
        time.sleep(0.1)
    assert not any(_alive(int(pid)) for pid in workers), "the killed driver's worker still runs"
    (plugin.parent / "gate").unlink()
    clips_before = sum(len(json.loads(p.read_text())["ids"]) for p in shards())
    assert len(shards()) == 2 and clips_before == 8, driver.stdout.read().decode()  # 18 clips: 4, 4, 2 and 4, 4
    embedded_before = len(log.read_text().split())
    resumed = run(dict(seeds=2, protocol="linear", cache_dir=cache, results_dir=results), embedders, tasks, "ray")
    embedded_after = len((plugin.parent / "log").read_text().split()) - embedded_before
    assert embedded_after == 18 - clips_before  # only the unfinished chunks again
    assert sorted(len(json.loads(p.read_text())["ids"]) for p in shards()) == [2, 4, 4, 4, 4]
    local = run(dict(seeds=2, protocol="linear", cache_dir=tmp_path / "c2", results_dir=tmp_path / "r2"), embedders,
                tasks, "local")
    assert scores(resumed) == scores(local)


def test_a_deform_grid_on_ray_gives_the_local_scores_and_deformed_caches(ray_session, data, tmp_path):
    """--deform reaches the workers' extraction: the deformed embeddings the actors write are
    those of the local executor, and so are the scores of the deformed runs."""
    pytest.importorskip("audiomentations", reason='--deform needs the extra: pip install -e ".[deform]"')
    from benchmark.records.variants import expand

    plugin, tasks = data
    embedders = [f"{plugin}:Batchy"]

    specs = [s for spec in grid(embedders, tasks[:1], seeds=2, protocol="linear")
             for s in expand(spec, deforms=["noise:snr=10"])]

    def env(n, executor, **more):
        return RunEnv(executor=executor, threads=2, cache_dir=tmp_path / f"c{n}", results_dir=tmp_path / f"r{n}", **more)

    local = run_grid(specs, cli.registries(), env(1, "local"))
    (plugin.parent / "log").unlink(missing_ok=True)
    on_ray = run_grid(specs, cli.registries(), env(2, "ray"))
    assert [o.status for o in on_ray] == ["done"]
    keyed = lambda outcomes: {(o.spec.task, o.spec.deform, s["split"], s["seed"]): s["metrics"]  # noqa: E731
                              for o in outcomes for s in o.record["scores"]}
    assert keyed(on_ray) == keyed(local) and len(keyed(local)) == 1  # linear on the full set: one seed
    for a, b in zip(local, on_ray):
        assert a.record["run_key"] == b.record["run_key"]
        assert a.record["notes"]["deformed_cache_key"] == b.record["notes"]["deformed_cache_key"]
        assert a.record["notes"]["deformed_cache_key"] != a.record["cache_key"]
    assert str(os.getpid()) not in set((plugin.parent / "log").read_text().split())  # the workers embedded
    assert stored(tmp_path / "c2") == stored(tmp_path / "c1")  # the same clean and deformed frames, bitwise
    assert len({key for key, _ in stored(tmp_path / "c1")}) == 2  # the clean store and the deformed one
    # not shared: the driver writes the deformed shards the workers send back, the same frames
    unshared = run_grid(specs, cli.registries(), env(3, "ray", shared_cache=False))
    assert keyed(unshared) == keyed(local) and stored(tmp_path / "c3") == stored(tmp_path / "c1")


def test_ray_workers_fill_the_cache_bitwise_as_the_local_executor(ray_session, tmp_path):
    """Ray starts a worker with OMP_NUM_THREADS set to the CPUs it reserves (1 here, while the grid
    runs 2 threads, as on a cluster whose --cpus-per-worker is below --threads); the workers pin the
    driver's BLAS threads, so the one cache key holds the same MFCC bytes whichever executor filled
    it (3 s clips: the BLAS splits their products)."""
    from test_threads import cached_frames, long_clip_csv

    task = f"csv:{long_clip_csv(tmp_path / 'data')}"
    common = dict(seeds=1, protocol="linear")
    local = run({**common, "cache_dir": tmp_path / "c1", "results_dir": tmp_path / "r1"}, ["mfcc"], [task], "local")
    on_ray = run({**common, "cache_dir": tmp_path / "c2", "results_dir": tmp_path / "r2"}, ["mfcc"], [task], "ray",
                 cpus_per_worker=1)
    one, two = cached_frames(tmp_path / "c1"), cached_frames(tmp_path / "c2")
    assert len(one) == 8 and one == two
    assert scores(local) == scores(on_ray)
