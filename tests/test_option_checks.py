"""Options, names and plugins checked before any work (issue 14): exit code 2, one paragraph, no
record left "running", nothing extracted."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import invoke, write_csv_dataset
from tests.test_registry import PLUGIN


def _nothing_done() -> bool:
    results = Path(os.environ["BENCH_RESULTS_DIR"])
    cache = Path(os.environ["BENCH_CACHE_DIR"])
    return not list(results.glob("runs/**/*.json")) and not [p for p in cache.rglob("*") if p.is_file()]


def _one_paragraph(out: str) -> bool:
    return "Traceback" not in out and out.startswith("Error: ") and out.strip().count("\n") == 0


@pytest.mark.parametrize("device, says", [
    ("cuda", "Devices usable here: cpu"),
    ("cuda:7", "Devices usable here:"),
    ("banana", "Unknown --device 'banana'. Devices usable here: cpu"),
])
def test_bad_device_fails_before_any_work(tmp_path, device, says):
    import torch

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has the GPU asked for")
    csv = write_csv_dataset(tmp_path / "data")
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--device", device)
    assert code == 2 and says in out and _one_paragraph(out), out
    assert _nothing_done()
    code, out = invoke("embed", "-e", "mfcc", tmp_path / "data" / "audio" / "low_0.wav", "-o", tmp_path / "x.npz",
                       "--device", device)
    assert code == 2 and says in out and not (tmp_path / "x.npz").exists()
    code, out = invoke("check-embedder", "mfcc", "--device", device)
    assert code == 2 and says in out


def test_cpu_only_torch_is_named_as_such(tmp_path):
    import torch

    if torch.version.cuda is not None:
        pytest.skip("this torch is a CUDA build")
    code, out = invoke("run", "-e", "mfcc", "-t", "demo", "--seeds", 1, "--device", "cuda")
    assert code == 2 and "CPU-only build" in out and "--device cpu" in out
    assert _nothing_done()  # not even the demo data was generated


@pytest.mark.parametrize("jobs", [0, -4])
def test_jobs_below_one_is_refused(tmp_path, jobs):
    csv = write_csv_dataset(tmp_path / "data")
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--jobs", jobs)
    assert code == 2 and f"--jobs {jobs}" in out and "1 or more" in out and _one_paragraph(out), out
    assert _nothing_done()
    code, out = invoke("embed", "-e", "mfcc", tmp_path / "data" / "audio" / "low_0.wav", "-o", tmp_path / "x.npz",
                       "--jobs", jobs)
    assert code == 2 and "1 or more" in out


def test_wrong_case_gets_a_suggestion():
    code, out = invoke("run", "-e", "mfcc", "-t", "demo", "--protocol", "COALA")
    assert code == 2 and "Did you mean: coala?" in out
    code, out = invoke("run", "-e", "MFCC", "-t", "demo")
    assert code == 2 and "Did you mean: mfcc" in out
    assert _nothing_done()


def test_table_on_an_unknown_task_lists_the_tasks_with_runs(tmp_path):
    from _report_runs import write_run

    write_run(tmp_path, "demo", "mfcc", 0.7)
    write_run(tmp_path, "us8k", "mfcc", 0.6)
    code, out = invoke("table", "--results-dir", tmp_path, "-t", "nosuch")
    assert code == 2 and "No runs for --task 'nosuch'" in out and "Runs found for: demo, us8k" in out
    code, out = invoke("table", "--results-dir", tmp_path, "-t", "dmeo")
    assert code == 2 and "Did you mean: demo?" in out
    code, out = invoke("table", "--results-dir", tmp_path, "-e", "nobody")
    assert code == 2 and "Runs found for: mfcc" in out
    code, out = invoke("table", "--results-dir", tmp_path, "-t", "demo")
    assert code == 0 and "| mfcc" in out


TASK_PLUGIN = '''
import csv
from pathlib import Path
from tasks.base import Task, kfold_splits
from benchmark.data.clips import Clip

class Tones(Task):
    name = "tones"
    dataset = "tones"
    labels = ("low", "high")

    def root(self, data_home, cache=None):
        return Path(__file__).parent / "data"

    def clips(self, root):
        with open(root / "data.csv") as f:
            return [Clip(id=r["path"], target=r["label"], path=root / r["path"], group=r["fold"])
                    for r in csv.DictReader(f)]

    def splits(self, clips):
        return kfold_splits(clips)
'''

PROTOCOL_PLUGIN = '''
from benchmark.probe.protocols import Protocol
SMALL = Protocol(name="small", hidden=(16,), max_epochs=30)
class NotAProtocol:
    pass
'''


def test_task_and_protocol_from_a_file(tmp_path):
    write_csv_dataset(tmp_path / "data")
    (tmp_path / "mytask.py").write_text(TASK_PLUGIN)
    (tmp_path / "proto.py").write_text(PROTOCOL_PLUGIN)
    code, out = invoke("run", "-e", "mfcc", "-t", f"{tmp_path}/mytask.py:Tones", "--protocol",
                       f"{tmp_path}/proto.py:SMALL", "--seeds", 1)
    assert code == 0, out
    assert "| tones" in out and "small" in out
    code, out = invoke("run", "-e", "mfcc", "-t", f"{tmp_path}/mytask.py:Tones", "--protocol",
                       f"{tmp_path}/proto.py:NotAProtocol", "--seeds", 1)
    assert code == 2 and "not a bench protocol" in out and "benchmark.probe.protocols.Protocol" in out
    code, out = invoke("run", "-e", "mfcc", "-t", f"{tmp_path}/proto.py:NotAProtocol")
    assert code == 2 and "not a bench task" in out and "tasks.base.Task" in out and _one_paragraph(out)


PLUGINS = {
    "syntax.py:Energy": (PLUGIN + "\ndef broken(:\n", "syntax error in"),
    "missing.py:Energy": ("import nosuchmodule_xyz\n" + PLUGIN, "imports 'nosuchmodule_xyz', which is not installed"),
    "plain.py:Plain": (PLUGIN + "\nclass Plain:\n    name = 'plain'\n    dim = 2\n", "not a bench embedder"),
    "raises.py:Energy": ("raise RuntimeError('no GPU here')\n" + PLUGIN, "raised RuntimeError: no GPU here"),
    "badcfg.py:Bad": (PLUGIN + "\nclass Bad(Energy):\n    def config(self):\n        return {**super().config(), 'x': object()}\n",
                      "config() is not JSON-serialisable (key 'x')"),
}


@pytest.mark.parametrize("spec", sorted(PLUGINS))
def test_broken_plugins_are_one_paragraph_before_extraction(tmp_path, spec):
    source, says = PLUGINS[spec]
    (tmp_path / spec.split(":")[0]).write_text(source)
    csv = write_csv_dataset(tmp_path / "data")
    code, out = invoke("run", "-e", f"{tmp_path}/{spec}", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and says in out and _one_paragraph(out), out
    assert _nothing_done()
    if spec.startswith(("syntax", "missing")):  # the broken module is not kept half-imported
        (tmp_path / spec.split(":")[0]).write_text(PLUGIN)
        code, out = invoke("check-embedder", f"{tmp_path}/{spec}")
        assert "syntax error" not in out and "not installed" not in out, out
