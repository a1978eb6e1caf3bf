"""Summaries over seeds and paired comparisons of two runs.

* ``summarize``: per metric, the mean over splits for each seed (the paper headline: mean over
  folds), then over seeds the mean, the sample standard deviation (ddof=1) and a 95% Student-t
  confidence interval of the mean: mean ± t(0.975, n-1) · std / sqrt(n).
* ``paired_test``: the difference A - B on matching (split, seed) scores, with a paired two-stage
  bootstrap: resample the splits with replacement, then within each drawn split resample the
  seeds with replacement, and average the paired differences (10,000 resamples, fixed RNG seed,
  so the same records always give the same numbers). CI = 2.5/97.5 percentiles; two-sided
  p = min(1, 2·min(P(Δ* <= 0), P(Δ* >= 0))) with the +1 correction. Resampling splits keeps the
  dependence between the seeds of a split (same test clips); with one official split it reduces
  to a bootstrap over seeds, which measures the probe's seed variability only.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

import numpy as np

from .errors import BenchError

CI_METHOD = "student_t_95_over_seeds"
PAIRED_METHOD = "paired_two_stage_bootstrap(splits, seeds; 10000 resamples; percentile CI)"
N_BOOTSTRAP = 10_000


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
            entry.update(mean=None, std=None, ci95=None, ci_method=CI_METHOD)
        else:
            mean = float(np.mean(per_seed))
            std = float(np.std(per_seed, ddof=1)) if n > 1 else 0.0
            half = _t975(n - 1) * std / math.sqrt(n) if n > 1 else 0.0
            entry.update(mean=mean, std=std, std_ddof=1, ci95=[mean - half, mean + half],
                         ci_method=CI_METHOD if n > 1 else "none (1 seed)")
        summary[name] = entry
    return summary


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


def paired_test(record_a: dict, record_b: dict, metric: str, n_boot: int = N_BOOTSTRAP, rng_seed: int = 0) -> dict:
    """Difference A - B in ``metric`` over the matching (split, seed) scores, with its bootstrap
    95% CI and two-sided p-value."""
    pairs = _pairs(record_a, record_b, metric)
    by_split: dict[str, list[float]] = defaultdict(list)
    for (split, _seed), (a, b) in pairs.items():
        by_split[split].append(a - b)
    groups = [np.asarray(v) for _, v in sorted(by_split.items())]
    # the point estimate weighs splits equally, as the headline (mean over splits) does
    diff = float(np.mean([g.mean() for g in groups]))
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
    p = 2 * min((np.sum(boot <= 0) + 1) / (n_boot + 1), (np.sum(boot >= 0) + 1) / (n_boot + 1))
    if np.all(np.concatenate(groups) == 0):
        p = 1.0
    return {"diff": diff, "ci95": [float(lo), float(hi)], "p_value": float(min(1.0, p)), "method": PAIRED_METHOD,
            "n_pairs": len(pairs), "n_splits": n_splits, "metric": metric,
            "mean_a": float(np.mean([a for a, _ in pairs.values()])),
            "mean_b": float(np.mean([b for _, b in pairs.values()]))}
