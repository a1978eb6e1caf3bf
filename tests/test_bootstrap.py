"""The vectorised resampled metrics of ``benchmark.stats.bootstrap`` against scikit-learn on the same resamples."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, r2_score, roc_auc_score

from benchmark.stats import bootstrap
from benchmark.probe.metrics import compute


def _resamples(n: int, n_resamples: int, seed: int) -> np.ndarray:
    return np.concatenate(list(bootstrap.count_chunks(n, n_resamples, np.random.default_rng(seed), chunk=3)), axis=1)


def _expand(counts: np.ndarray) -> list[np.ndarray]:
    """Each resample as explicit clip indices (clip i repeated counts[i] times)."""
    return [np.repeat(np.arange(counts.shape[0]), counts[:, b].astype(int)) for b in range(counts.shape[1])]


def test_counts_are_resamples_of_n_clips():
    counts = _resamples(50, 7, 0)
    assert counts.shape == (50, 7) and (counts.sum(axis=0) == 50).all()
    assert (counts == np.round(counts)).all() and counts.min() >= 0


@pytest.mark.parametrize("metric", ["roc_auc", "pr_auc"])
def test_multilabel_aucs_equal_scikit_learn_on_each_resample_with_ties(metric):
    rng = np.random.default_rng(1)
    n, k, S = 60, 4, 2
    truth = (rng.random((n, k)) < [0.5, 0.2, 0.08, 0.3]).astype(int)
    # rounded scores: many ties, within a label and between positives and negatives
    preds = np.round(rng.random((S, n, k)) + 0.4 * truth[None], 1).astype(np.float16)
    B = 12
    values = bootstrap.resampled_metric("multilabel", metric, truth, preds, B, np.random.default_rng(5))
    counts = _resamples(n, B, 5)
    fn = roc_auc_score if metric == "roc_auc" else average_precision_score
    for b, idx in enumerate(_expand(np.concatenate(list(bootstrap.count_chunks(n, B, np.random.default_rng(5))), 1))):
        for s in range(S):
            expected = compute("multilabel", [metric], truth[idx], preds[s][idx].astype(np.float64))[0][metric]
            assert values[s, b] == pytest.approx(expected, abs=1e-9), (s, b)
            # and scikit-learn's sample weights on the original clips say the same
            w = np.bincount(idx, minlength=n)
            usable = [j for j in range(k) if 0 < (truth[idx, j]).sum() < len(idx)]
            weighted = np.mean([fn(truth[:, j], preds[s][:, j].astype(np.float64), sample_weight=w) for j in usable])
            assert values[s, b] == pytest.approx(weighted, abs=1e-9)
    assert counts.shape == (n, B)


def test_multiclass_accuracy_and_one_vs_rest_auc():
    rng = np.random.default_rng(2)
    n, k = 40, 3
    truth = rng.integers(0, k, n)
    preds = rng.random((3, n, k)).astype(np.float32)
    B = 9
    acc = bootstrap.resampled_metric("multiclass", "accuracy", truth, preds, B, np.random.default_rng(3))
    auc = bootstrap.resampled_metric("multiclass", "roc_auc", truth, preds, B, np.random.default_rng(3))
    idxs = _expand(np.concatenate(list(bootstrap.count_chunks(n, B, np.random.default_rng(3))), 1))
    for b, idx in enumerate(idxs):
        for s in range(3):
            assert acc[s, b] == pytest.approx(accuracy_score(truth[idx], preds[s][idx].argmax(1)))
            assert auc[s, b] == pytest.approx(compute("multiclass", ["roc_auc"], truth[idx], preds[s][idx])[0]["roc_auc"])


def test_r2_per_target_mean():
    rng = np.random.default_rng(4)
    n = 30
    truth = rng.normal(size=(n, 2))
    preds = truth[None] + rng.normal(0, 0.5, (2, n, 2))
    B = 6
    values = bootstrap.resampled_metric("regression", "r2", truth, preds, B, np.random.default_rng(8))
    idxs = _expand(np.concatenate(list(bootstrap.count_chunks(n, B, np.random.default_rng(8))), 1))
    for b, idx in enumerate(idxs):
        for s in range(2):
            expected = np.mean([r2_score(truth[idx, t], preds[s][idx, t].astype(np.float32)) for t in range(2)])
            assert values[s, b] == pytest.approx(expected, abs=1e-5)


def test_paired_systems_see_the_same_resamples():
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 2, (50, 3))
    preds = rng.random((2, 50, 3))
    a, b = bootstrap.paired_resampled_metric("multilabel", "roc_auc", truth, [preds, preds], 20, np.random.default_rng(0))
    assert np.array_equal(a, b)  # same predictions, same resamples: zero difference on every one


def test_runs_on_different_test_clips_are_refused():
    from benchmark.core.errors import BenchError

    a = {"ids": np.array(["a", "b"]), "truth": np.array([0, 1]), "seeds": np.arange(1), "scores": np.zeros((1, 2, 2))}
    b = {**a, "ids": np.array(["c", "d"])}
    with pytest.raises(BenchError, match="share no test clip"):
        bootstrap.paired_clip_bootstrap("multiclass", "accuracy", a, b, 10)
