"""Grids on the local executor: several embedders x tasks, one RunRecord per cell, failing cells
reported without stopping the others, each embedder loaded once."""
from __future__ import annotations

import json
import os
from pathlib import Path


import cli
from benchmark.run.grid import reason_of, run_grid
from benchmark.core.spec import RunEnv, grid
from benchmark.core.errors import WeightsError
from tests.helpers import invoke, write_csv_dataset

# an embedder that logs its loads and embedded clips to files beside it
COUNTING = '''
import os
import numpy as np
from embedders.base import Embedder

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log")

class Counting(Embedder):
    name = "counting"
    sample_rate = 8000
    dim = 3
    batch_size = 4

    def load(self):
        with open(LOG + ".loads", "a") as handle:
            handle.write("load\\n")

    def embed(self, batch):
        with open(LOG + ".clips", "a") as handle:
            handle.write("x\\n" * len(batch))
        return [np.stack([np.abs(x).mean(keepdims=True), x.std(keepdims=True), x.max(keepdims=True)], axis=1)
                .astype("float32") for x in batch]


class Broken(Counting):
    name = "broken"

    def embed(self, batch):
        raise ValueError("the plugin crashed")
'''


def setup(tmp_path):
    plugin = tmp_path / "plugins" / "counting.py"
    plugin.parent.mkdir()
    plugin.write_text(COUNTING)
    a = write_csv_dataset(tmp_path / "a")
    b = write_csv_dataset(tmp_path / "b", n_per_class=6, column="split")
    b = b.rename(b.with_name("other.csv"))  # task names come from the file stem: csv:data, csv:other
    return plugin, a, b


def records():
    return sorted(Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/*/*.json"))


def test_grid_runs_every_cell_once_and_resumes_as_already_done(tmp_path):
    plugin, a, b = setup(tmp_path)
    code, out = invoke("run", "-e", "mfcc", "-e", f"{plugin}:Counting", "-t", f"csv:{a},csv:{b}", "--seeds", 2, "-p", "linear")
    assert code == 0, out
    assert "4 done, 0 already done, 0 failed" in out
    assert len(records()) == 4 and all(json.loads(p.read_text())["status"] == "complete" for p in records())
    # the grid table: both embedders, both tasks
    table = out[out.index("| System"):]
    assert "csv:data" in table and "csv:other" in table and "| mfcc" in table and "| counting" in table
    # one model load for the two cells of the embedder; each task's clips embedded once
    assert (plugin.parent / "log.loads").read_text().count("load") == 1
    assert (plugin.parent / "log.clips").read_text().count("x") == 16 + 12
    code, again = invoke("run", "-e", "mfcc,{}:Counting".format(plugin), "-t", f"csv:{a}", "-t", f"csv:{b}",
                         "--seeds", 2, "-p", "linear")
    assert code == 0 and "0 done, 4 already done, 0 failed" in again
    assert (plugin.parent / "log.clips").read_text().count("x") == 16 + 12


def test_failing_cells_do_not_stop_the_others_and_the_exit_code_says_so(tmp_path):
    plugin, a, b = setup(tmp_path)
    missing = tmp_path / "nowhere" / "data.csv"
    code, out = invoke("run", "-e", f"{plugin}:Broken", "-e", "mfcc", "-t", f"csv:{a}", "-t", f"csv:{missing}",
                       "--seeds", 1, "-p", "linear")
    assert code == 1, out
    assert "1 done, 0 already done, 3 failed" in out
    lines = out[out.index("Grid summary:"):].splitlines()
    assert any(l.strip().startswith("failed") and "broken" in l.lower() and "ValueError: the plugin crashed" in l
               for l in lines)
    assert any(l.strip().startswith("failed") and "CSV task file not found" in l for l in lines)
    assert any(l.strip().startswith("done") and f"mfcc on csv:{a}" in l for l in lines)
    assert "Traceback" not in out and "| mfcc" in out
    # the broken cells' failure did not keep the good one from finishing
    assert sum(json.loads(p.read_text())["status"] == "complete" for p in records()) == 1


def test_a_single_run_still_fails_with_its_message_and_exit_2(tmp_path):
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{tmp_path / 'absent.csv'}")
    assert code == 2 and "CSV task file not found" in out and "Grid summary" not in out


def test_run_grid_returns_outcomes_in_spec_order(tmp_path):
    _, a, _ = setup(tmp_path)
    outcomes = run_grid(grid(["mfcc", "mfc"], [f"csv:{a}"], seeds=1, protocol="linear"), cli.registries(), RunEnv(threads=1))
    assert [o.status for o in outcomes] == ["done", "failed"]
    assert "Did you mean: mfcc" in outcomes[1].reason and outcomes[0].record["status"] == "complete"


def test_reasons_are_one_line():
    # the whole message, so the line keeps what to do (issue 19, item 12)
    assert reason_of(WeightsError("Weights not found: x.pt.\nPass --weights PATH")) == "Weights not found: x.pt. Pass --weights PATH"
    assert reason_of(KeyError("k")) == "KeyError: 'k'"


def test_the_ray_executor_without_ray_says_how_to_install_it(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    _, a, b = setup(tmp_path)
    for tasks in (["-t", f"csv:{a}"], ["-t", f"csv:{a}", "-t", f"csv:{b}"]):
        code, out = invoke("run", "-e", "mfcc", *tasks, "--executor", "ray")
        assert code == 2 and 'pip install -e ".[ray]"' in out and "Traceback" not in out


def test_a_plugin_files_cache_key_is_the_same_in_every_process(tmp_path):
    """The plugin module's name is in the embedder config (the cache key): it was salted by
    Python's per-process str hash, so a new process never found the earlier runs' embeddings."""
    import subprocess
    import sys

    plugin, _, _ = setup(tmp_path)
    code = ("import cli; e = cli.registries().embedders.create(%r, device='cpu'); print(e.config()['class'])"
            % f"{plugin}:Counting")
    root = Path(__file__).resolve().parent.parent
    names = {subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2)}
    assert len(names) == 1 and "bench_plugin_" in names.pop()
