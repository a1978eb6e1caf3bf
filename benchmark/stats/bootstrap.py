"""The bootstrap over test clips: a task's metric on many resamples of one test set at once.

A resample of n test clips is a vector of counts w (how often each clip was drawn; they sum to
n). Every metric is recomputed exactly as scikit-learn would on the resampled clips, written in
terms of w so that all resamples go through a few matrix products:

* accuracy: sum_i w_i correct_i / n.
* ROC-AUC (Mann-Whitney, ties count 1/2) and PR-AUC (average precision, sklearn's step rule) per
  label: group the positives by distinct score u_1 < ... < u_U; each negative falls in a slot
  (below u_m, or tied with u_m). One sparse 0/1 matrix maps clips to (label, slot) rows, so its
  product with the counts gives every row's weight in every resample (cost: clips x labels x
  resamples, the minimum); cumulative sums over slots then give, per distinct positive score,
  the weighted negatives below it, hence the U statistic, and the weighted positives and
  negatives at or above it, hence precision and the recall step.
* r2: the weighted sums of y, y^2 and (y - p)^2.

Macro averages skip, per resample, a label with no positive or no negative in it, as
``metrics.compute`` does on a test set. ``tests/test_bootstrap.py`` checks each against
scikit-learn on explicit resamples.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np
from scipy import sparse

N_RESAMPLES = 2000
#: clips x resamples per matrix product (bounds memory: the product has up to 3 rows per clip and
#: label), and at most CHUNK_MAX resamples at once (larger chunks measured slower: cache)
CHUNK_CELLS = 3_000_000
CHUNK_MAX = 512


def count_chunks(n: int, n_resamples: int, rng: np.random.Generator, chunk: int | None = None) -> Iterator[np.ndarray]:
    """Resample counts, (n, c) float32 per chunk of c resamples: clip i drawn w[i, b] times."""
    chunk = chunk or min(CHUNK_MAX, max(16, CHUNK_CELLS // max(n, 1)))
    done = 0
    while done < n_resamples:
        c = min(chunk, n_resamples - done)
        draws = rng.integers(0, n, size=(c, n))
        counts = np.bincount((draws + n * np.arange(c)[:, None]).ravel(), minlength=c * n).reshape(c, n)
        yield np.ascontiguousarray(counts.T, dtype=np.float32)
        done += c


def _indicator(kind: str, truth: np.ndarray, k: int) -> np.ndarray:
    if kind == "multiclass":
        out = np.zeros((len(truth), k), dtype=bool)
        out[np.arange(len(truth)), np.asarray(truth, dtype=np.int64)] = True
        return out
    return np.asarray(truth) > 0.5


class _RankLayout:
    """For one seed's scores (n, k) and the positives (n, k): the clip -> (label, slot) matrix. Rows:
    first every label's negative slots (2U + 1 each: slot 2m holds the negatives between distinct
    positive scores u_(m-1) and u_m, slot 2m + 1 those tied with u_m), then every label's positive
    groups (U each), so that the sums over all labels are a few whole-array passes."""

    def __init__(self, scores: np.ndarray, positive: np.ndarray) -> None:
        n, k = scores.shape
        neg_rows, neg_cols, pos_rows, pos_cols = [], [], [], []
        neg_start, pos_start, even = [], [], []  # first rows of each label; each group's "below" slot
        n_neg_rows = n_pos_rows = 0
        for j in range(k):
            pos = positive[:, j]
            if not 0 < pos.sum() < n:
                continue  # no defined score on this test set (metrics.compute skips it too)
            s = scores[:, j]
            u = np.unique(s[pos])
            neg_idx, pos_idx = np.flatnonzero(~pos), np.flatnonzero(pos)
            left = np.searchsorted(u, s[neg_idx], side="left")
            tied = (left < len(u)) & (u[np.minimum(left, len(u) - 1)] == s[neg_idx])
            neg_rows.append(n_neg_rows + 2 * left + tied)
            neg_cols.append(neg_idx)
            pos_rows.append(n_pos_rows + np.searchsorted(u, s[pos_idx]))
            pos_cols.append(pos_idx)
            neg_start.append(n_neg_rows)
            pos_start.append(n_pos_rows)
            even.append(n_neg_rows + 2 * np.arange(len(u)))
            n_neg_rows += 2 * len(u) + 1
            n_pos_rows += len(u)
        self.n_labels = len(neg_start)
        self.n_neg_rows = n_neg_rows
        if not self.n_labels:
            return
        rows = np.concatenate(neg_rows + [n_neg_rows + r for r in pos_rows])
        cols = np.concatenate(neg_cols + pos_cols)
        # column-major: each clip's counts are read once and added to its row of every label
        self.matrix = sparse.csc_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                        shape=(n_neg_rows + n_pos_rows, n))
        self.neg_start, self.pos_start = np.array(neg_start), np.array(pos_start)
        self.neg_end = np.append(self.neg_start[1:], n_neg_rows) - 1  # last slot of each label
        self.even = np.concatenate(even)
        group_label = np.repeat(np.arange(self.n_labels), np.diff(np.append(self.pos_start, n_pos_rows)))
        self.group_label = group_label
        self.label_pos_base = self.pos_start[group_label]

    def macro(self, counts: np.ndarray, metric: str) -> np.ndarray:
        """Macro ROC-AUC or PR-AUC of each resample (columns of ``counts``)."""
        if not self.n_labels:
            return np.full(counts.shape[1], np.nan)
        y = self.matrix @ counts  # float32 sums of counts: integers, exact below 2^24 (n x labels is far below)
        neg = y[:self.n_neg_rows]
        below = np.cumsum(neg, axis=0)  # over all labels' slots; each label's start is subtracted
        base = np.where((self.neg_start > 0)[:, None], below[np.maximum(self.neg_start - 1, 0)], 0.0)
        neg_below = (below[self.even] - base[self.group_label]).astype(np.float64)
        n_neg = (below[self.neg_end] - base).astype(np.float64)
        pos = y[self.n_neg_rows:].astype(np.float64)
        n_pos = np.add.reduceat(pos, self.pos_start, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            if metric == "roc_auc":
                num = np.add.reduceat(pos * (neg_below + 0.5 * neg[self.even + 1]), self.pos_start, axis=0)
                values = num / (n_pos * n_neg)
            else:  # precision at each distinct positive score, times its recall step
                pos_cum = np.vstack([np.zeros((1, y.shape[1])), np.cumsum(pos, axis=0)])
                tp = n_pos[self.group_label] - (pos_cum[:-1] - pos_cum[self.label_pos_base])
                fp = n_neg[self.group_label] - neg_below
                values = np.add.reduceat(pos * np.where(pos > 0, tp / (tp + fp), 0.0), self.pos_start, axis=0) / n_pos
            values[(n_pos == 0) | (n_neg == 0)] = np.nan  # a label absent from the resample
        with warnings.catch_warnings():  # a resample without any usable label: NaN, said by the caller
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(values, axis=0)


def resampled_metric(kind: str, metric: str, truth: np.ndarray, predictions: np.ndarray, n_resamples: int,
                     rng: np.random.Generator) -> np.ndarray:
    """``metric`` of each seed's predictions (S, n, k) on each resample: (S, n_resamples)."""
    return paired_resampled_metric(kind, metric, truth, [predictions], n_resamples, rng)[0]


def paired_resampled_metric(kind: str, metric: str, truth: np.ndarray, systems: list[np.ndarray],
                            n_resamples: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The same resamples of the test clips for every system: per system (S, n_resamples)."""
    systems = [np.asarray(p, dtype=np.float32) for p in systems]
    systems = [p[:, :, None] if p.ndim == 2 else p for p in systems]
    n = len(truth)
    prepared = [_prepare(kind, metric, truth, p) for p in systems]
    out = [np.empty((p.shape[0], n_resamples)) for p in systems]
    jobs = [(system, seed) for system, prep in enumerate(prepared) for seed in range(len(prep))]
    done = 0
    # (system, seed) jobs in threads: the sparse products and numpy passes release the GIL
    with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1, 4)) as pool:  # memory: a chunk each
        for counts in count_chunks(n, n_resamples, rng):
            c = counts.shape[1]
            values = pool.map(lambda job: _value(kind, metric, truth, prepared[job[0]][job[1]], counts), jobs)
            for (system, seed), value in zip(jobs, values):
                out[system][seed, done:done + c] = value
            done += c
    return out


def _prepare(kind: str, metric: str, truth: np.ndarray, predictions: np.ndarray) -> list:
    """What each seed's resampled metric needs, built once for all chunks."""
    if metric == "accuracy":
        correct = predictions.argmax(axis=2) == np.asarray(truth)[None, :]
        return [c.astype(np.float32) for c in correct]
    if metric in ("roc_auc", "pr_auc"):
        positive = _indicator(kind, truth, predictions.shape[2])
        return [_RankLayout(p, positive) for p in predictions]
    if metric == "r2":
        return list(predictions)
    raise ValueError(f"no resampled form of metric '{metric}'")


def _value(kind: str, metric: str, truth: np.ndarray, item, counts: np.ndarray) -> np.ndarray:
    if metric == "accuracy":
        return item @ counts / counts.sum(axis=0)
    if metric in ("roc_auc", "pr_auc"):
        return item.macro(counts, metric)
    y = np.asarray(truth, dtype=np.float64).reshape(counts.shape[0], -1)
    p = np.asarray(item, dtype=np.float64).reshape(y.shape)
    w = counts.astype(np.float64)
    total = w.sum(axis=0)
    sy, syy, res = y.T @ w, (y ** 2).T @ w, ((y - p) ** 2).T @ w  # (targets, resamples)
    ss_tot = syy - sy ** 2 / total
    ss_tot = np.where(ss_tot > 1e-12 * np.maximum(syy, 1.0), ss_tot, 0.0)
    # scikit-learn's convention for a constant target: 1 if predicted exactly, else 0
    r2 = np.where(ss_tot > 0, 1 - res / np.where(ss_tot > 0, ss_tot, 1), np.where(res == 0, 1.0, 0.0))
    return r2.mean(axis=0)


def _aligned(split_a: dict, split_b: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth and both systems' (S, n, k) predictions on the test clips both hold, in one order."""
    ids_a, ids_b = [str(i) for i in split_a["ids"]], [str(i) for i in split_b["ids"]]
    where_b = {clip: i for i, clip in enumerate(ids_b)}
    rows_a = np.array([i for i, clip in enumerate(ids_a) if clip in where_b], dtype=np.int64)
    rows_b = np.array([where_b[ids_a[i]] for i in rows_a], dtype=np.int64)
    if not len(rows_a):
        from benchmark.core.errors import BenchError

        raise BenchError("The two runs' stored test predictions share no test clip: they were made on different "
                         "test sets and cannot be paired. Run both embedders on the same task.")
    return split_a["truth"][rows_a], split_a["scores"][:, rows_a], split_b["scores"][:, rows_b]


def percentile_p(resampled: np.ndarray) -> float:
    """Two-sided p of "the difference is 0" by inverting the percentile interval: the smallest
    level at which 0 leaves it (with the +1 correction), so p < 0.05 exactly when 0 is outside
    the 95% percentile CI (up to the resolution of the resamples)."""
    d = resampled[np.isfinite(resampled)]
    low, high = int((d <= 0).sum()), int((d >= 0).sum())
    return float(min(1.0, 2 * (min(low, high) + 1) / (len(d) + 1)))


def paired_clip_bootstrap(kind: str, metric: str, split_a: dict, split_b: dict, n_resamples: int = N_RESAMPLES,
                          rng_seed: int = 0) -> dict:
    """A - B on the test clips both runs predicted: the metric per seed, seeds averaged, on the
    observed clips (the estimate) and on ``n_resamples`` paired resamples of them (its 95%
    percentile CI and p)."""
    truth, a, b = _aligned(split_a, split_b)
    observed = paired_resampled_metric(kind, metric, truth, [a, b], 1, _Identity())
    mean_a, mean_b = float(np.mean(observed[0])), float(np.mean(observed[1]))
    ra, rb = paired_resampled_metric(kind, metric, truth, [a, b], n_resamples, np.random.default_rng(rng_seed))
    d = ra.mean(axis=0) - rb.mean(axis=0)
    finite = d[np.isfinite(d)]
    lo, hi = np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan)
    return {"mean_a": mean_a, "mean_b": mean_b, "diff": mean_a - mean_b, "ci95": [float(lo), float(hi)],
            "p_value": percentile_p(d), "n_clips": len(truth), "n_seeds_a": a.shape[0], "n_seeds_b": b.shape[0],
            "n_resamples": int(len(finite))}


def clip_bootstrap_ci(kind: str, metric: str, split: dict, n_resamples: int = N_RESAMPLES,
                      rng_seed: int = 0) -> tuple[float, list[float]]:
    """One run's metric (per seed, seeds averaged) and its 95% percentile CI over test clips."""
    truth, scores = split["truth"], split["scores"]
    observed = float(np.mean(resampled_metric(kind, metric, truth, scores, 1, _Identity())))
    values = resampled_metric(kind, metric, truth, scores, n_resamples, np.random.default_rng(rng_seed)).mean(axis=0)
    values = values[np.isfinite(values)]
    lo, hi = np.percentile(values, [2.5, 97.5]) if len(values) else (np.nan, np.nan)
    return observed, [float(lo), float(hi)]


class _Identity:
    """A stand-in generator whose one "resample" is the test set itself (every clip once)."""

    def integers(self, low: int, high: int, size: tuple[int, int]) -> np.ndarray:
        return np.tile(np.arange(high), (size[0], 1))
