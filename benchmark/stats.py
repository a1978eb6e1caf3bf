"""Summaries over seeds and paired comparisons of two runs.

* ``summarize``: per metric, the mean over splits for each seed (the paper headline: mean over
  folds), then over seeds the mean, the sample standard deviation (ddof=1) and a 95% Student-t
  confidence interval of the mean: mean ± t(0.975, n-1) · std / sqrt(n). An interval reaching
  outside the metric's range (few seeds: t(0.975, 1) = 12.7) is clipped to it, and ``ci_method``
  and ``ci_clipped`` say so; one seed gives no interval (``ci95`` None, "n/a (1 seed)").
* ``paired_test``: the difference A - B on matching (split, seed) scores. The p-value is an
  exact paired sign-flip (permutation) test: under "no difference" each pair's difference is as
  likely to be negative as positive, so the statistic (the mean difference, splits weighted
  equally) is compared with its value under all 2^n sign patterns (n <= 16; above, 20,000 random
  patterns from a fixed RNG seed, with the +1 correction). With n pairs the smallest reachable
  two-sided p is 2/2^n, so below ``min_pairs(alpha)`` pairs (6 for alpha = 0.05) no verdict is
  possible and the result says "too few (split, seed) pairs to test"; a NaN difference makes
  the runs "not comparable". The 95% CI of the difference comes from a paired two-stage
  bootstrap: resample the splits with replacement, then within each drawn split the seeds
  (10,000 resamples, fixed RNG seed, so the same records always give the same numbers).
  Resampling splits keeps the dependence between the seeds of a split (same test clips); with
  one official split it reduces to a bootstrap over seeds, which measures the probe's seed
  variability only.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import numpy as np

from .errors import BenchError

CI_METHOD = "student_t_95_over_seeds"
CI_METHOD_TEXT = "Student t over seeds: mean ± t(0.975, n-1)·std/√n"
CLIPPED = "clipped to the metric's range"
PAIRED_METHOD = ("exact paired sign-flip test over (split, seed) pairs (two-sided; 20000 random sign patterns "
                 "above 16 pairs); CI: paired two-stage bootstrap (splits, seeds; 10000 resamples; percentile)")
N_BOOTSTRAP = 10_000
ALPHA = 0.05
#: pairs up to which all 2^n sign patterns are enumerated
EXACT_MAX_PAIRS = 16
N_FLIPS = 20_000
#: paired_test statuses
TESTED, TOO_FEW, NOT_COMPARABLE = "tested", "too few pairs", "not comparable"


def _t975(df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def summarize(scores: list[dict], metric_names: Sequence[str]) -> dict:
    """``scores``: [{"split", "seed", "metrics": {name: value}}]. Seeds missing a split are left out
    (and counted) so that every per-seed mean covers the same splits."""
    splits = sorted({s["split"] for s in scores})
    summary: dict = {}
    for name in metric_names:
        by_seed: dict[int, dict[str, float]] = defaultdict(dict)
        for s in scores:
            value = s.get("metrics", {}).get(name)
            if value is not None:
                by_seed[int(s["seed"])][s["split"]] = float(value)
        complete = {seed: v for seed, v in by_seed.items() if all(sp in v for sp in splits)}
        per_seed = [float(np.mean([complete[seed][sp] for sp in splits])) for seed in sorted(complete)]
        n = len(per_seed)
        entry: dict = {"n_seeds": n, "n_splits": len(splits), "seeds": sorted(complete), "per_seed": per_seed,
                       "incomplete_seeds": len(by_seed) - n}
        if n == 0:
            entry.update(mean=None, std=None, ci95=None, ci_method="n/a (no complete seed)")
        elif n == 1:
            entry.update(mean=per_seed[0], std=0.0, std_ddof=1, ci95=None, ci_method="n/a (1 seed)")
        else:
            mean = float(np.mean(per_seed))
            std = float(np.std(per_seed, ddof=1))
            half = _t975(n - 1) * std / math.sqrt(n)
            ci, clipped = clip_interval(name, [mean - half, mean + half])
            entry.update(mean=mean, std=std, std_ddof=1, ci95=ci, ci_clipped=clipped,
                         ci_method=CI_METHOD + (f"; {CLIPPED} [{_bound(name)}]" if clipped else ""))
        summary[name] = entry
    return summary


def clip_interval(metric: str, interval: Sequence[float]) -> tuple[list[float], bool]:
    """``interval`` kept inside ``metric``'s range, and whether that changed it."""
    from .metrics import RANGES

    lo, hi = RANGES.get(metric, (-math.inf, math.inf))
    if any(math.isnan(float(v)) for v in interval):
        return [float(v) for v in interval], False
    out = [min(max(float(v), lo), hi) for v in interval]
    return out, out != [float(v) for v in interval]


def _bound(metric: str) -> str:
    from .metrics import RANGES

    lo, hi = RANGES.get(metric, (-math.inf, math.inf))
    return f"{lo:g}, {hi:g}"


def ci_text(entry: dict | None, metric: str, scale: float = 100.0, digits: int = 1) -> str:
    """A summary entry's 95% CI as printed: "[a, b]", "[a, b] (clipped to the metric's range)", or
    "n/a (1 seed)". Older records (a [m, m] interval from one seed, an unclipped one) are read the
    same way, so no output shows an interval the data cannot give."""
    entry = entry or {}
    n = entry.get("n_seeds")
    if n is not None and int(n) < 2:
        return f"n/a ({int(n)} seed{'s' if int(n) != 1 else ''})"
    if not entry.get("ci95"):
        return "n/a"
    ci, clipped = clip_interval(metric, entry["ci95"])
    text = f"[{scale * ci[0]:.{digits}f}, {scale * ci[1]:.{digits}f}]"
    return text + (f" ({CLIPPED})" if clipped or entry.get("ci_clipped") else "")


def _pairs(record_a: dict, record_b: dict, metric: str) -> dict[tuple[str, int], tuple[float, float]]:
    def table(record: dict) -> dict[tuple[str, int], float]:
        out = {}
        for s in record.get("scores", []):
            if metric in s.get("metrics", {}) and s["metrics"][metric] is not None:
                out[(s["split"], int(s["seed"]))] = float(s["metrics"][metric])
        return out

    a, b = table(record_a), table(record_b)
    for name, t, rec in (("A", a, record_a), ("B", b, record_b)):
        if not t:
            known = sorted({m for s in rec.get("scores", []) for m in s.get("metrics", {})})
            raise BenchError(f"Run {name} has no '{metric}' scores; its metrics are: {', '.join(known) or 'none'}.")
    common = sorted(set(a) & set(b))
    if not common:
        raise BenchError("The two runs share no (split, seed) pair: they were run on different splits or seeds. "
                         "Re-run one of them with the same task and --seeds.")
    return {k: (a[k], b[k]) for k in common}


def min_p_value(n_pairs: int) -> float:
    """The smallest two-sided p-value an exact sign-flip test can give with ``n_pairs`` pairs."""
    return min(1.0, 2.0 / 2.0 ** n_pairs)


def min_pairs(alpha: float = ALPHA) -> int:
    """The fewest pairs with which the sign-flip test can reach p < ``alpha``."""
    n = 1
    while min_p_value(n) >= alpha:
        n += 1
    return n


def sign_flip_p(diffs: np.ndarray, weights: np.ndarray, n_flips: int = N_FLIPS, rng_seed: int = 0) -> float:
    """Two-sided p of the weighted mean difference under random signs: exact up to
    EXACT_MAX_PAIRS pairs, else ``n_flips`` random patterns with the +1 correction."""
    wd = np.asarray(diffs, float) * np.asarray(weights, float)
    n = wd.size
    observed = abs(float(wd.sum()))
    tol = 1e-12 * max(1.0, float(np.abs(wd).sum()))  # ties up to rounding count as "as extreme"
    if n <= EXACT_MAX_PAIRS:
        patterns = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
        values = (1 - 2 * patterns) @ wd
        return float(np.mean(np.abs(values) >= observed - tol))
    rng = np.random.default_rng(rng_seed)
    hits, done = 0, 0
    while done < n_flips:  # in chunks, to bound memory for many pairs
        size = min(5000, n_flips - done)
        signs = 1 - 2 * rng.integers(0, 2, size=(size, n), dtype=np.int8)
        hits += int(np.sum(np.abs(signs @ wd) >= observed - tol))
        done += size
    return (hits + 1) / (n_flips + 1)


def paired_test(record_a: dict, record_b: dict, metric: str, n_boot: int = N_BOOTSTRAP, rng_seed: int = 0,
                alpha: float = ALPHA) -> dict:
    """Difference A - B in ``metric`` over the matching (split, seed) scores: its sign-flip
    p-value and bootstrap 95% CI. ``status`` is TESTED, TOO_FEW (``p_value`` None: fewer than
    ``min_pairs(alpha)`` pairs) or NOT_COMPARABLE (a NaN score; ``p_value`` None)."""
    pairs = _pairs(record_a, record_b, metric)
    result = {"metric": metric, "n_pairs": len(pairs), "method": PAIRED_METHOD, "alpha": alpha,
              "min_pairs": min_pairs(alpha), "min_p_value": min_p_value(len(pairs)),
              "diff": None, "ci95": None, "p_value": None}
    by_split: dict[str, list[float]] = defaultdict(list)
    for (split, _seed), (a, b) in pairs.items():
        by_split[split].append(a - b)
    result["n_splits"] = len(by_split)
    nan = [key for key, (a, b) in pairs.items() if math.isnan(a) or math.isnan(b)]
    if nan:
        return {**result, "status": NOT_COMPARABLE, "n_nan": len(nan),
                "mean_a": float("nan"), "mean_b": float("nan")}
    result.update(mean_a=float(np.mean([a for a, _ in pairs.values()])),
                  mean_b=float(np.mean([b for _, b in pairs.values()])))
    groups = [np.asarray(v) for _, v in sorted(by_split.items())]
    # the point estimate weighs splits equally, as the headline (mean over splits) does
    diff = float(np.mean([g.mean() for g in groups]))
    result["diff"] = diff
    if len(pairs) < result["min_pairs"]:
        return {**result, "status": TOO_FEW}
    diffs = np.concatenate(groups)
    weights = np.concatenate([np.full(len(g), 1.0 / (len(groups) * len(g))) for g in groups])
    p = sign_flip_p(diffs, weights, rng_seed=rng_seed)
    rng = np.random.default_rng(rng_seed)
    n_splits = len(groups)
    picks = rng.integers(0, n_splits, size=(n_boot, n_splits))
    boot = np.zeros(n_boot)
    for j in range(n_splits):
        means = np.empty((n_splits, n_boot))
        for k, g in enumerate(groups):  # a bootstrap mean of each split's seeds, per resample
            means[k] = g[rng.integers(0, len(g), size=(n_boot, len(g)))].mean(axis=1)
        boot += means[picks[:, j], np.arange(n_boot)]
    boot /= n_splits
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return {**result, "status": TESTED, "ci95": [float(lo), float(hi)], "p_value": float(min(1.0, p))}
