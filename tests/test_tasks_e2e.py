"""End to end, multi-class: ``run(embedder="mfcc", task=T)`` on tiny datasets written in the
official layouts (short generated audio; subsets of the real metadata and split files of
../shared) for us8k, esc50, gtzan and nsynth. The record must have the task's number of splits,
their sizes, and its metrics for every split x seed. Multi-label and regression tasks:
test_tasks_e2e_music.py. Runs use a short-training copy of the default protocol (same code path).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tasks import TASKS
from tests import datasets as D


@pytest.fixture(scope="module")
def home(shared, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("data-home")
    D.make_us8k(home, shared, per_fold_class=1, classes=2)
    D.make_esc50(home, shared, per_fold_class=1, classes=2)
    D.make_gtzan(home, shared, per_genre=2, genres=2)
    D.make_nsynth(home, shared, per_family=2, families=2, test_per_family=2)
    return home


@pytest.mark.parametrize("name,splits", [
    # 2 classes x 1 clip in each of the 10 folds: train 16 (8 folds), valid = next fold, test = fold.
    # The slowest (~25 s): as the first run it also pays the torch/librosa imports and JIT (~15 s).
    ("us8k", [(f"fold{k}", 16, 2, 2) for k in range(1, 11)]),
    ("esc50", [(f"fold{k}", 6, 2, 2) for k in range(1, 6)]),
    ("gtzan", [("filtered", 4, 4, 4)]),
    ("nsynth", [("official", 4, 0, 4)]),
])
def test_multiclass_end_to_end(name, splits, home, tmp_path):
    record, task = D.run_mfcc(name, home, tmp_path, D.FAST_PROTOCOLS[TASKS.create(name).protocol])
    D.assert_record(record, task, splits)
    accuracies = [s["metrics"]["accuracy"] for s in record["scores"]]
    assert all(0.0 <= a <= 1.0 for a in accuracies)
    # two classes of tones a fourth or more apart (datasets.tone): the probe must beat chance (50%) clearly
    assert sum(accuracies) / len(accuracies) >= 0.9, accuracies


def test_nsynth_refuses_a_protocol_that_needs_validation(home, tmp_path):
    """nsynth has no validation set (as in the papers): mulap says so instead of inventing one."""
    from benchmark.core.errors import BenchError

    with pytest.raises(BenchError, match="validation"):
        D.run_mfcc("nsynth", home, tmp_path, D.FAST_PROTOCOLS["mulap"])
