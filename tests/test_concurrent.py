"""Two identical runs at once, in two real processes sharing the cache and the results folder:
both finish with the same numbers, one RunRecord, no duplicated (split, seed) score, no leftover
temporary file. Two first runs of the demo never see half-generated data."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import write_csv_dataset

ROOT = Path(__file__).resolve().parent.parent

# start, import everything, then wait for the go file so that the two processes really overlap
STARTER = """
import sys, time, pathlib
sys.path.insert(0, {root!r})
import cli, benchmark.run.runner, benchmark.probe.mlp, embedders.mfcc, tasks.csvtask, tasks.synthetic  # noqa: F401
go = pathlib.Path({go!r})
while not go.exists():
    time.sleep(0.02)
{body}
"""


def _start(go: Path, body: str, env: dict, output: Path | None = None) -> subprocess.Popen:
    code = STARTER.format(root=str(ROOT), go=str(go), body=body)
    return subprocess.Popen([sys.executable, "-c", code], stdout=output.open("w") if output else subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=str(ROOT))


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "BENCH_CACHE_DIR": str(tmp_path / "cache"), "BENCH_RESULTS_DIR": str(tmp_path / "results"),
            "BENCH_OFFLINE": "1", "MPLBACKEND": "Agg"}


def _leftovers(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.name.endswith(".tmp")]


# the run that holds the lock waits in its extraction until the test releases it, so that the
# other one provably reaches the lock meanwhile (it says "Waiting:")
HOLD = """
import benchmark.run.executors.local as local
real_extract = local.extract_cell
def held_extract(*args, **kwargs):
    while not pathlib.Path({release}).exists():
        time.sleep(0.05)
    return real_extract(*args, **kwargs)
local.extract_cell = held_extract
"""


def _overlapping(tmp_path: Path, body: str) -> list[str]:
    """The outputs of two processes running ``body`` (which holds its lock until the file
    ``release`` exists), released once one of them says it waits for the other's lock."""
    go, release = tmp_path / "go", tmp_path / "release"
    logs = [tmp_path / f"out{i}.txt" for i in range(2)]
    procs = [_start(go, body.replace("{release}", repr(str(release))), {**_env(tmp_path), "PYTHONUNBUFFERED": "1"},
                    log) for log in logs]
    go.touch()
    deadline = time.time() + 300
    while not any("Waiting:" in log.read_text() for log in logs) and time.time() < deadline:
        time.sleep(0.1)
    release.touch()
    for p in procs:
        p.wait(timeout=600)
    outputs = [log.read_text() for log in logs]
    assert sum("Waiting:" in out for out in outputs) == 1, outputs  # they overlapped: one waited for the other
    assert [p.returncode for p in procs] == [0, 0], outputs
    return outputs


def test_two_identical_runs_at_once(tmp_path):
    csv = write_csv_dataset(tmp_path / "data", n_per_class=8)
    body = HOLD + f"sys.argv = ['bench', 'run', '-e', 'mfcc', '-t', 'csv:{csv}', '--seeds', '3']\ncli.main()"
    outputs = _overlapping(tmp_path, body)
    tables = [[line for line in out.splitlines() if "| accuracy |" in line] for out in outputs]
    assert tables[0] and tables[0] == tables[1], outputs  # the same numbers
    records = list((tmp_path / "results").glob("runs/*/*/*.json"))
    assert len(records) == 1, records
    record = json.loads(records[0].read_text())
    pairs = [(s["split"], s["seed"]) for s in record["scores"]]
    assert len(pairs) == len(set(pairs)) == 4 * 3 and record["status"] == "complete"
    assert not _leftovers(tmp_path / "cache", tmp_path / "results")
    # the one that waited for the other did not extract or train anything
    waited = next(out for out in outputs if "Waiting:" in out)
    assert "Already complete" in waited and "extracted" not in waited, outputs
    assert sum("Already complete" in out for out in outputs) == 1, outputs
    shards = json.loads("[" + ",".join(p.read_text() for p in (tmp_path / "cache").rglob("shard-*.json")) + "]")
    assert sum(len(s["clips"]) for s in shards) == 16  # every clip stored once


GENERATION_HELD = """
import benchmark.core.locks as locks
real_held, real_generate = locks.held, tasks.synthetic._generate
locks.held = lambda path, waiting=None, echo=None: real_held(path, "Waiting: the demo's lock", print)
def held_generate(root):
    while not pathlib.Path({release}).exists():
        time.sleep(0.05)
    return real_generate(root)
tasks.synthetic._generate = held_generate
"""


def test_two_first_demo_generations_at_once(tmp_path):
    root = tmp_path / "cache" / "datasets" / "demo"
    body = GENERATION_HELD + f"""
import os
tasks.synthetic.CLIPS_PER_CLASS = 6
root = pathlib.Path({str(root)!r})
tasks.synthetic.generate(root)
inode = os.stat(root).st_ino
files = sorted(p.name for p in root.rglob('*.wav'))
print(inode, len(files))
"""
    outputs = _overlapping(tmp_path, body)
    seen = [out.split()[-2:] for out in outputs]
    final = str(os.stat(root).st_ino)
    # both saw the complete data, and the folder the first one read was not replaced under it
    assert seen == [[final, "60"], [final, "60"]], (seen, final)
    assert sorted(p.name for p in root.parent.iterdir() if p.name.startswith(".demo")) == [".demo.lock"]
