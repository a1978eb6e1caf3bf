"""A damaged RunRecord (half-written, hand-edited, foreign, NaN metrics, schema 1 without task)
never stops table, report, plot or compare: they warn, naming the file, and go on."""
import json

import pytest

from tests._report_runs import write_run
from tests.helpers import invoke


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    write_run(root, "demo", "mfcc", 0.6)
    write_run(root, "demo", "coala", 0.7)
    write_run(root, "us8k", "mfcc", 0.5)
    write_run(root, "us8k", "coala", 0.55)
    return root


def _edit(root, task, embedder, change):
    (path,) = root.glob(f"runs/{task}/{embedder}/*.json")
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))
    return path


def _nan_metric(record):
    for score in record["scores"]:
        score["metrics"]["accuracy"] = float("nan")
    record["summary"]["accuracy"].update(mean=float("nan"), std=float("nan"), ci95=[float("nan")] * 2)


COMMANDS = [("table",), ("report", "-o", "{tmp}/site"), ("plot", "-o", "{tmp}/figures"),
            ("compare", "coala", "mfcc", "-t", "demo")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_unreadable_records_are_named_and_left_out(results, tmp_path, command):
    half = results / "runs" / "demo" / "mfcc" / "coala-halfwritten0.json"
    half.write_text('{"schema": 1, "run_key": "ab')
    no_task = _edit(results, "us8k", "coala", lambda r: r.pop("task"))  # schema 1 without task
    edited = results / "runs" / "demo" / "coala" / "coala-handedited.json"
    edited.write_text(json.dumps({"schema": 1, "run_key": "x", "status": "complete", "task": {"name": "demo"},
                                  "embedder": {"name": "coala"}, "protocol": {"name": "coala"}, "scores": "many"}))
    listed = results / "runs" / "demo" / "coala" / "coala-list.json"
    listed.write_text("[1, 2]")
    args = [a.format(tmp=tmp_path) for a in command]
    code, out = invoke(*args, "--results-dir", results)
    assert code == 0, out
    assert "Traceback" not in out
    for path in (half, no_task, edited, listed):
        assert f"Warning: Run record {path} " in out, path
    if command[0] == "table":
        rows = [line for line in out.splitlines() if line.startswith(("| mfcc", "| coala"))]
        assert len(rows) == 2 and "not run" not in rows[1]  # the good records still fill the table
        assert rows[0].startswith("| coala") and rows[0].count("not run") == 1  # us8k: its record was left out
    if command[0] == "compare":
        assert "coala is better" in out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_record_with_nan_metrics_does_not_stop_the_others(results, tmp_path, command):
    _edit(results, "us8k", "mfcc", _nan_metric)
    args = [a.format(tmp=tmp_path) for a in command]
    code, out = invoke(*args, "--results-dir", results)
    assert code == 0, out
    if command[0] == "table":
        us8k_coala = [line for line in out.splitlines() if line.startswith("| coala")][0]
        assert "**55." in us8k_coala or "**54." in us8k_coala  # the finite entry is still the column's best
        assert "nan" in [line for line in out.splitlines() if line.startswith("| mfcc")][0]


def test_compare_with_a_schema_1_record_without_task_names_it(results):
    path = _edit(results, "demo", "mfcc", lambda r: r.pop("task"))
    code, out = invoke("compare", "coala", "mfcc", "-t", "demo", "--results-dir", results)
    assert code == 2 and f"Warning: Run record {path} is damaged ('task' is missing" in out
    assert "No complete run of embedder 'mfcc'" in out and "Traceback" not in out
