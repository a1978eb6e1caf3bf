"""End to end: ``run(embedder="mfcc", task=T)`` on tiny datasets written in each official layout
(short generated audio, subsets of the real metadata and split files from ../shared), for one
task of each kind: multiclass (us8k, esc50, gtzan, nsynth), multi-label (mtat, mtg-moodtheme)
and regression (emomusic). The record must have the task's number of splits, split sizes, and
its metrics for every split x seed.

To stay fast, most runs use a short-training copy of the task's default protocol (same probe,
same code path, 3-5 epochs); two runs use the real defaults (``coala`` on gtzan, ``mulap`` with
MTAT's per-dataset values on mtat).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmark.protocols import COALA, MULAP
from tasks import TASKS
from tests import datasets as D

# short-training variants; named differently so that no per-dataset override stretches them
COALA_FAST = dataclasses.replace(COALA, name="coala-fast", max_epochs=5)
MULAP_FAST = dataclasses.replace(MULAP, name="mulap-fast", max_epochs=3, patience=2)
FAST = {"coala": f"{__name__}:COALA_FAST", "mulap": f"{__name__}:MULAP_FAST"}
SEEDS = 2


@pytest.fixture(scope="module")
def home(shared, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("data-home")
    D.make_us8k(home, shared, per_fold_class=1, classes=2)
    D.make_esc50(home, shared, per_fold_class=1, classes=2)
    D.make_gtzan(home, shared, per_genre=2, genres=2)
    D.make_nsynth(home, shared, per_family=2, families=2, test_per_family=2)
    D.make_mtat(home, shared, per_split=6)
    D.make_mtg(home, shared, "moodtheme", per_split=6)
    D.make_emomusic(home, shared, per_split=6)
    return home


def _run(name: str, home: Path, tmp_path: Path, protocol: str | None) -> tuple[dict, object]:
    pytest.importorskip("benchmark.stats", reason="the runner's summary statistics (benchmark/stats.py) are not there yet")
    from benchmark.runner import run

    record = run(embedder="mfcc", task=name, protocol=protocol, seeds=SEEDS, data_home=home,
                 cache_dir=tmp_path / "cache", results_dir=tmp_path / "results")
    task = TASKS.create(name)
    return record, task


def _assert_record(record: dict, task, splits: list[tuple[str, int, int, int]]) -> None:
    assert record["status"] == "complete"
    got = [(s["name"], s["n_train"], s["n_valid"], s["n_test"]) for s in record["task"]["splits"]]
    assert got == splits
    assert len(record["scores"]) == len(splits) * SEEDS
    assert {(s["split"], s["seed"]) for s in record["scores"]} == {(n, k) for n, *_ in splits for k in range(SEEDS)}
    for score in record["scores"]:
        assert list(score["metrics"]) == list(task.metrics)
    assert list(record["summary"]) == list(task.metrics)
    assert record["skipped"]["count"] == 0


@pytest.mark.parametrize("name,splits", [
    # 2 classes x 1 clip in each of the 10 folds: train 16 (8 folds), valid = next fold, test = fold.
    # The slowest (~25 s): as the first run it also pays the torch/librosa imports and JIT (~15 s).
    ("us8k", [(f"fold{k}", 16, 2, 2) for k in range(1, 11)]),
    ("esc50", [(f"fold{k}", 6, 2, 2) for k in range(1, 6)]),
    ("gtzan", [("filtered", 4, 4, 4)]),
    ("nsynth", [("official", 4, 0, 4)]),
])
def test_multiclass_end_to_end(name, splits, home, tmp_path):
    task = TASKS.create(name)
    record, task = _run(name, home, tmp_path, FAST[task.protocol])
    _assert_record(record, task, splits)
    assert all(0.0 <= s["metrics"]["accuracy"] <= 1.0 for s in record["scores"])


@pytest.mark.parametrize("name,split", [("mtat", "official"), ("mtg-moodtheme", "split-0")])
def test_multilabel_end_to_end(name, split, home, tmp_path):
    record, task = _run(name, home, tmp_path, FAST["mulap"])
    _assert_record(record, task, [(split, 6, 6, 6)])
    assert record["protocol"]["uses_validation"] is True


def test_regression_end_to_end(home, tmp_path):
    record, task = _run("emomusic", home, tmp_path, FAST["mulap"])
    _assert_record(record, task, [("official", 6, 6, 6)])
    assert all(s["metrics"]["r2"] <= 1.0 for s in record["scores"])


def test_default_protocols_with_per_dataset_values(home, tmp_path):
    """The real defaults: coala on gtzan (trains on the 4 training clips only, ignoring the
    official validation list) and mulap with MTAT's values (hidden 512, 300 epochs). ~15 s."""
    record, task = _run("gtzan", home, tmp_path, None)
    assert record["protocol"]["name"] == "coala"
    _assert_record(record, task, [("filtered", 4, 4, 4)])
    record, task = _run("mtat", home, tmp_path, None)
    assert (record["protocol"]["name"], tuple(record["protocol"]["hidden"]), record["protocol"]["max_epochs"]) == ("mulap", (512,), 300)
    _assert_record(record, task, [("official", 6, 6, 6)])
