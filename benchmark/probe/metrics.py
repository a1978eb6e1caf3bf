"""Test metrics, as fractions (0-1), computed with scikit-learn.

* ``accuracy`` (multiclass): argmax of the predicted probabilities against the class index.
* ``roc_auc``, ``pr_auc`` (multilabel; multiclass one-vs-rest): macro averages over labels of
  ``roc_auc_score`` and ``average_precision_score``. A label with no positive (or no negative)
  in the test set has no defined score: it is skipped and counted in ``labels_skipped``.
* ``r2``: ``r2_score`` per target (in ``r2_per_target``) and their mean (= scikit-learn's
  ``uniform_average``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from benchmark.core.errors import BenchError

METRICS = ("accuracy", "roc_auc", "pr_auc", "r2")
#: the values a metric can take; confidence intervals are kept inside (and say when they were clipped)
RANGES = {"accuracy": (0.0, 1.0), "roc_auc": (0.0, 1.0), "pr_auc": (0.0, 1.0), "r2": (float("-inf"), 1.0)}
_KINDS = {"accuracy": ("multiclass",), "roc_auc": ("multiclass", "multilabel"),
          "pr_auc": ("multiclass", "multilabel"), "r2": ("regression",)}


def check(kind: str, name: str) -> None:
    if name not in _KINDS:
        raise BenchError(f"Unknown metric '{name}'. Known metrics: {', '.join(METRICS)}.")
    if kind not in _KINDS[name]:
        raise BenchError(f"Metric '{name}' does not apply to a {kind} task; it needs {' or '.join(_KINDS[name])}.")


def _indicator(kind: str, y_true: np.ndarray, n_columns: int) -> np.ndarray:
    if kind == "multiclass":
        out = np.zeros((len(y_true), n_columns), dtype=np.int64)
        out[np.arange(len(y_true)), np.asarray(y_true, dtype=np.int64)] = 1
        return out
    return (np.asarray(y_true) > 0.5).astype(np.int64)


def _macro(score_fn, truth: np.ndarray, scores: np.ndarray) -> tuple[float, list[int]]:
    """Macro average over the labels that have both a positive and a negative."""
    positives = truth.sum(axis=0)
    usable = [j for j in range(truth.shape[1]) if 0 < positives[j] < truth.shape[0]]
    skipped = [j for j in range(truth.shape[1]) if j not in set(usable)]
    if not usable:
        return float("nan"), skipped
    values = [score_fn(truth[:, j], scores[:, j]) for j in usable]
    return float(np.mean(values)), skipped


def compute(kind: str, names: Sequence[str], y_true: np.ndarray, y_pred: np.ndarray) -> tuple[dict[str, float], dict]:
    """Scores keyed by metric name, and extra information (skipped labels, per-target r2)."""
    # imported here: tables, listings and a rerun that finds its records complete need no scikit-learn
    from sklearn.metrics import accuracy_score, average_precision_score, r2_score, roc_auc_score

    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    if not np.isfinite(y_pred).all():
        raise BenchError("The probe produced non-finite predictions (NaN or inf); the run cannot be scored. "
                         "Check the embeddings for NaN/inf values or huge magnitudes.")
    scores: dict[str, float] = {}
    extra: dict = {}
    for name in names:
        check(kind, name)
        if name == "accuracy":
            scores[name] = float(accuracy_score(np.asarray(y_true, dtype=np.int64), y_pred.argmax(axis=1)))
        elif name in ("roc_auc", "pr_auc"):
            fn = roc_auc_score if name == "roc_auc" else average_precision_score
            value, skipped = _macro(fn, _indicator(kind, y_true, y_pred.shape[1]), y_pred)
            scores[name] = value
            extra["labels_skipped"] = len(skipped)
            if skipped:
                extra["labels_skipped_index"] = skipped
        elif name == "r2":
            truth = np.asarray(y_true, dtype=np.float64).reshape(len(y_pred), -1)
            per_target = [float(r2_score(truth[:, t], y_pred[:, t])) for t in range(truth.shape[1])]
            scores[name] = float(np.mean(per_target))
            extra["r2_per_target"] = per_target
    return scores, extra


def per_seed(kind: str, name: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """One score per seed for predictions stacked as (S, n, k): the validation metric of early
    stopping, vectorised where cheap (accuracy, r2, ROC-AUC by ranks) and exact in every case."""
    check(kind, name)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    S = y_pred.shape[0]
    if name == "accuracy":
        return (y_pred.argmax(axis=2) == np.asarray(y_true)[None, :]).mean(axis=1)
    if name == "r2":
        truth = np.asarray(y_true, dtype=np.float64).reshape(y_pred.shape[1], -1)[None]
        ss_res = ((truth - y_pred) ** 2).sum(axis=1)
        ss_tot = ((truth - truth.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        # scikit-learn's convention for a constant target: 1 if predicted exactly, else 0
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
        return r2.mean(axis=1)
    truth = _indicator(kind, y_true, y_pred.shape[2])
    positives = truth.sum(axis=0)
    usable = (positives > 0) & (positives < truth.shape[0])
    if not usable.any():
        return np.full(S, np.nan)
    if name == "roc_auc":  # Mann-Whitney U with average ranks for ties = roc_auc_score
        from scipy.stats import rankdata

        ranks = rankdata(y_pred[:, :, usable], axis=1)
        t = truth[:, usable]
        n_pos, n_neg = t.sum(axis=0), (1 - t).sum(axis=0)
        u = (ranks * t[None]).sum(axis=1) - n_pos * (n_pos + 1) / 2
        return (u / (n_pos * n_neg)).mean(axis=1)
    return np.array([compute(kind, [name], y_true, y_pred[s])[0][name] for s in range(S)])
