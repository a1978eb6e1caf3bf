"""Metrics against scikit-learn, skipped labels, per-target r2, and the per-seed fast paths."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score

from benchmark.probe import metrics
from benchmark.core.errors import BenchError


def test_accuracy_is_argmax_of_probabilities():
    y = np.array([0, 1, 2, 2])
    p = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.0, 0.1, 0.9]])
    scores, _ = metrics.compute("multiclass", ["accuracy"], y, p)
    assert scores == {"accuracy": 0.75}


def test_macro_auc_skips_labels_without_positives_and_counts_them():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (50, 4)).astype(np.float32)
    y[:, 2] = 0  # no positive in the test set
    y[:, 3] = 1  # no negative
    p = np.clip(y * 0.3 + rng.uniform(0, 0.7, y.shape), 0, 1)
    scores, extra = metrics.compute("multilabel", ["roc_auc", "pr_auc"], y, p)
    assert extra["labels_skipped"] == 2 and extra["labels_skipped_index"] == [2, 3]
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y[:, :2], p[:, :2], average="macro"))
    assert scores["pr_auc"] == pytest.approx(average_precision_score(y[:, :2], p[:, :2], average="macro"))


def test_multiclass_auc_is_one_vs_rest_macro():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 60)
    p = rng.dirichlet(np.ones(3), 60)
    scores, extra = metrics.compute("multiclass", ["accuracy", "roc_auc"], y, p)
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert extra["labels_skipped"] == 0


def test_r2_per_target_and_mean():
    rng = np.random.default_rng(2)
    y = rng.standard_normal((40, 2))
    p = y + rng.standard_normal((40, 2)) * np.array([0.1, 1.0])
    scores, extra = metrics.compute("regression", ["r2"], y, p)
    assert extra["r2_per_target"] == pytest.approx([r2_score(y[:, 0], p[:, 0]), r2_score(y[:, 1], p[:, 1])])
    assert scores["r2"] == pytest.approx(r2_score(y, p))


def test_bad_metric_or_kind_or_values_is_a_user_error():
    with pytest.raises(BenchError, match="Known metrics"):
        metrics.compute("multiclass", ["f1"], np.array([0]), np.array([[1.0]]))
    with pytest.raises(BenchError, match="does not apply"):
        metrics.compute("regression", ["accuracy"], np.array([0.0]), np.array([[1.0]]))
    with pytest.raises(BenchError, match="non-finite"):
        metrics.compute("multiclass", ["accuracy"], np.array([0]), np.array([[np.nan]]))


@pytest.mark.parametrize("kind,name", [("multiclass", "accuracy"), ("multilabel", "roc_auc"), ("multilabel", "pr_auc"),
                                       ("regression", "r2"), ("multiclass", "roc_auc")])
def test_per_seed_equals_compute_seed_by_seed(kind, name):
    rng = np.random.default_rng(3)
    n, k = 45, 4
    if kind == "multiclass":
        y = rng.integers(0, k, n)
        preds = rng.dirichlet(np.ones(k), (3, n))
    elif kind == "multilabel":
        y = rng.integers(0, 2, (n, k)).astype(np.float32)
        y[:, 1] = 0
        preds = np.round(rng.uniform(0, 1, (3, n, k)), 1)  # rounded: ties must be ranked like sklearn does
    else:
        y = rng.standard_normal((n, 2))
        preds = y[None] + rng.standard_normal((3, n, 2))
    fast = metrics.per_seed(kind, name, y, preds)
    slow = [metrics.compute(kind, [name], y, preds[s])[0][name] for s in range(3)]
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
