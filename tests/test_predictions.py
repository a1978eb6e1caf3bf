"""Per-clip test predictions stored beside a one-split run's record (issue 20): what the bootstrap
over test clips reads, written with the split's scores, and the same from the Ray executor's task."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmark.probe import predictions
from benchmark.stats import scores as stats
from helpers import run_bench, write_csv_dataset


def test_save_split_appends_seeds_and_replaces_redone_ones(tmp_path):
    path = tmp_path / "run.predictions.npz"
    ids, truth = ["a", "b", "c"], np.array([0, 1, 1])

    def entries(values):
        return [predictions.entry(ids, truth, np.full((3, 2), v)) for v in values]

    predictions.save_split(path, "test", [0, 1], entries([0.25, 0.5]))
    predictions.save_split(path, "test", [2, 1], entries([0.75, 1.0]))  # a resumed run: seed 2, seed 1 again
    loaded = predictions.load(path)["test"]
    assert list(loaded["seeds"]) == [0, 2, 1] and loaded["scores"].dtype == np.float16
    assert loaded["scores"][:, 0, 0].tolist() == [0.25, 0.75, 1.0] and list(loaded["ids"]) == ids
    assert predictions.load(tmp_path / "missing.npz") == {}
    (tmp_path / "bad.predictions.npz").write_text("not a zip")
    assert predictions.load(tmp_path / "bad.predictions.npz") == {}


def test_out_of_float16_range_predictions_stay_float32():
    kept = predictions.entry(["a"], np.array([[1e6]]), np.array([[1e6]]))
    assert kept["scores"].dtype == np.float32


def test_a_one_split_run_stores_its_test_predictions_and_a_clip_interval(tmp_path):
    csv = write_csv_dataset(tmp_path / "data", n_per_class=8, column="split")
    results = tmp_path / "results"
    record = run_bench("mfcc", f"csv:{csv}", seeds=3, results_dir=str(results))
    json_path = next(results.glob("runs/*/*/*.json"))
    assert "_path" not in json.loads(json_path.read_text())  # in memory only
    stored = predictions.load(predictions.path_beside(json_path))
    (split,) = stored
    assert stored[split]["scores"].shape == (3, 4, 2) and sorted(stored[split]["seeds"]) == [0, 1, 2]
    # the stored predictions give back the recorded scores (float16 rounding aside)
    from benchmark.probe.metrics import compute

    for i, seed in enumerate(stored[split]["seeds"]):
        value = compute("multiclass", ["accuracy"], stored[split]["truth"], stored[split]["scores"][i])[0]["accuracy"]
        recorded = next(s for s in record["scores"] if s["seed"] == seed)["metrics"]["accuracy"]
        assert value == pytest.approx(recorded)
    assert all(predictions.KEY not in s for s in record["scores"])
    summary = record["summary"]["accuracy"]
    assert stats.ci_kind(summary) == "test clips" and summary["ci_n"] == 4
    # the comparison of the run with itself goes over the stored clips
    from benchmark.records.results import ResultsStore

    (again,) = ResultsStore(results).records()
    result = stats.paired_test(again, again, "accuracy")
    assert result["unit"] == "test clips" and result["diff"] == 0 and result["status"] == stats.TESTED


def test_the_ray_probe_task_returns_the_predictions_probe_split_does(tmp_path):
    """The Ray executor records what its remote task returns: the predictions travel with the scores."""
    pytest.importorskip("ray")
    from benchmark.data.clips import Split
    from benchmark.run.executors.ray_probes import _probe
    from benchmark.probe.protocols import PROTOCOLS
    from benchmark.run.runner import probe_split
    from tasks import TASKS

    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    task = TASKS.create(f"csv:{csv}")
    clips = {c.id: c for c in task.clips(csv.parent)}
    ids = sorted(clips)
    rng = np.random.default_rng(0)
    frames = {i: rng.normal(size=(2, 3)).astype(np.float32) for i in ids}
    split = Split("one", tuple(ids[:6]), (), tuple(ids[6:]))
    local = probe_split(task, PROTOCOLS.create("linear"), split, frames, clips, [0, 1], "cpu")
    remote, _ = _probe(task, PROTOCOLS.create("linear"), split, frames, clips, [0, 1], "cpu", 1)
    for a, b in zip(local, remote):
        assert a[predictions.KEY]["ids"] == list(split.test)
        assert np.array_equal(a[predictions.KEY]["scores"], b[predictions.KEY]["scores"])
