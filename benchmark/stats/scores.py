"""Summaries of a run and paired comparisons of two runs, with the split and the test set as the unit.

The estimand is "system A (vs B) on this task's data, its folds taken as draws" (k-fold tasks) or
"on this task's test set, its clips taken as draws" (one-split tasks). The seeds of one split
share its training and test clips: their spread is probe noise, so they are averaged within a
split first and never counted as independent observations.

* ``summarize``: per metric the paper-style "mean ± std over seeds" (per seed the mean over
  splits; std with ddof=1) and the headline 95% CI, which uses the sources of variance a new
  draw of the data would bring:
  - 3 or more splits: Student t over the per-split means (seeds averaged), df = k - 1;
  - one split with per-clip predictions (``benchmark.probe.predictions``): the percentile bootstrap over
    test clips (2,000 resamples; the metric per seed on each resample, seeds averaged);
  - 2 splits, or one split without predictions: no interval, and ``ci_method`` says why.
  An interval reaching outside the metric's range is clipped to it (``ci_clipped``).
* ``paired_test``: A - B.
  - k >= 3 splits: a paired t over the k per-split mean differences (``scipy.stats.ttest_rel`` on
    the split means, df k - 1; the CI is its t interval, the same weighting as the estimate).
    No unbiased estimator of the variance of k-fold cross-validation exists (Bengio & Grandvalet
    2004, JMLR 5): the level holds under the model ``benchmarks/calibration.py`` simulates,
    independent fold effects. ``correction="nadeau-bengio"`` (Nadeau & Bengio 2003) inflates the
    variance by (1/k + n_test/n_train)/(1/k) for overlapping training sets; it is conservative
    under independent fold effects (about 1% type-I), so it is an option, not the default.
    With 3-4 splits the test is made with a low-power warning; with 2 there is no p-value (one
    degree of freedom: t(0.975, 1) = 12.7, an interval of no use and a test of no power).
  - one split: the paired bootstrap over test clips (``bootstrap.paired_clip_bootstrap``): the
    same resampled clips for both runs, the metric recomputed per seed and averaged over seeds;
    the 95% percentile CI and the p of its inversion. No permutation that swaps scores between
    systems (invalid for AUCs unless both systems' scores share a scale). Without stored
    predictions (older records) only probe-seed noise is known: no p-value, no significance.
  One rule everywhere: a difference is significant when p < alpha (``significant``).
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from typing import Sequence

import numpy as np

from benchmark.core.errors import BenchError

ALPHA = 0.05
N_RESAMPLES = 2000
#: headline CI methods (older records: CI_METHOD, a t interval over seeds: seed noise only)
CI_METHOD = "student_t_95_over_seeds"
FOLDS_CI = "student_t_95_over_folds"
CLIPS_CI = "bootstrap_95_over_test_clips"
CI_METHOD_TEXT = ("over folds (3 or more): Student t over the per-fold means, seeds averaged (df folds - 1); "
                  "one split: percentile bootstrap over test clips (2000 resamples, metric per seed, seeds averaged)")
SEEDS_ONLY_TEXT = "seed noise only"
CLIPPED = "clipped to the metric's range"
FOLDS_METHOD = "paired t over the per-fold mean differences (seeds averaged within a fold; df folds - 1)"
CLIPS_METHOD = ("paired bootstrap over test clips (2000 resamples, percentile CI; metric per seed on each "
                "resample, seeds averaged; from the stored float16 predictions)")
PAIRED_METHOD = f"k-fold tasks: {FOLDS_METHOD}; one-split tasks: {CLIPS_METHOD}"
#: paired_test statuses
TESTED, TOO_FEW, NOT_COMPARABLE, SEEDS_ONLY = "tested", "too few folds", "not comparable", "seed noise only"
LOW_POWER_FOLDS = 4


def significant(p_value: float | None, alpha: float = ALPHA) -> bool:
    """The one rule: p < alpha (p = alpha is not significant); no p-value is no verdict."""
    return p_value is not None and p_value == p_value and p_value < alpha


def _t975(df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def _by_split(scores: list[dict], metric: str) -> dict[str, dict[int, float]]:
    table: dict[str, dict[int, float]] = defaultdict(dict)
    for s in scores:
        value = s.get("metrics", {}).get(metric)
        if value is not None:
            table[s["split"]][int(s["seed"])] = float(value)
    return table


def summarize(scores: list[dict], metric_names: Sequence[str], predictions: dict | None = None,
              kind: str | None = None, rng_seed: int = 0) -> dict:
    """``scores``: [{"split", "seed", "metrics": {name: value}}]; ``predictions``: split -> the stored
    test predictions (``benchmark.probe.predictions.load``), for the one-split interval. Seeds missing a
    split are left out (and counted) so that every per-seed mean covers the same splits."""
    splits = sorted({s["split"] for s in scores})
    summary: dict = {}
    for name in metric_names:
        table = _by_split(scores, name)
        seeds = sorted({seed for v in table.values() for seed in v})
        complete = [seed for seed in seeds if all(seed in table.get(sp, {}) for sp in splits)]
        per_seed = [float(np.mean([table[sp][seed] for sp in splits])) for seed in complete]
        split_means = [float(np.mean([table[sp][seed] for seed in complete])) for sp in splits] if complete else []
        n = len(per_seed)
        entry: dict = {"n_seeds": n, "n_splits": len(splits), "seeds": complete, "per_seed": per_seed,
                       "per_split": dict(zip(splits, split_means)), "incomplete_seeds": len(seeds) - n,
                       "std_of": "seeds"}
        if n == 0:
            entry.update(mean=None, std=None, ci95=None, ci_method="n/a (no complete seed)")
            summary[name] = entry
            continue
        mean = float(np.mean(per_seed))
        entry.update(mean=mean, std=float(np.std(per_seed, ddof=1)) if n > 1 else 0.0, std_ddof=1)
        entry.update(_headline_ci(name, split_means, (predictions or {}).get(splits[0]) if len(splits) == 1 else None,
                                  kind, rng_seed))
        summary[name] = entry
    return summary


def _headline_ci(metric: str, split_means: list[float], split_predictions: dict | None, kind: str | None,
                 rng_seed: int) -> dict:
    k = len(split_means)
    if any(math.isnan(v) for v in split_means):
        return {"ci95": None, "ci_method": "n/a (NaN scores)"}
    if k >= 3:
        mean, half = float(np.mean(split_means)), _t975(k - 1) * float(np.std(split_means, ddof=1)) / math.sqrt(k)
        interval, method = [mean - half, mean + half], FOLDS_CI
        unit = {"ci_unit": "folds", "ci_n": k}
    elif k == 2:
        return {"ci95": None, "ci_method": "n/a (2 folds: one degree of freedom, too few for an interval)"}
    elif split_predictions is None or kind is None:
        return {"ci95": None, "ci_method": "n/a (no per-clip test predictions stored: the test set's sampling "
                                           "error cannot be assessed; the std over seeds is probe noise only)"}
    else:
        from .bootstrap import clip_bootstrap_ci

        _, interval = clip_bootstrap_ci(kind, metric, split_predictions, N_RESAMPLES, rng_seed)
        method, unit = CLIPS_CI, {"ci_unit": "test clips", "ci_n": int(len(split_predictions["ids"]))}
    ci, clipped = clip_interval(metric, interval)
    return {"ci95": ci, "ci_clipped": clipped, **unit,
            "ci_method": method + (f"; {CLIPPED} [{_bound(metric)}]" if clipped else "")}


def clip_interval(metric: str, interval: Sequence[float]) -> tuple[list[float], bool]:
    """``interval`` kept inside ``metric``'s range, and whether that changed it."""
    from benchmark.probe.metrics import RANGES

    lo, hi = RANGES.get(metric, (-math.inf, math.inf))
    if any(math.isnan(float(v)) for v in interval):
        return [float(v) for v in interval], False
    out = [min(max(float(v), lo), hi) for v in interval]
    return out, out != [float(v) for v in interval]


def _bound(metric: str) -> str:
    from benchmark.probe.metrics import RANGES

    lo, hi = RANGES.get(metric, (-math.inf, math.inf))
    return f"{lo:g}, {hi:g}"


def ci_kind(entry: dict | None) -> str:
    """"folds", "test clips", "seeds" (an older record: seed noise only) or "" (no interval)."""
    method = str((entry or {}).get("ci_method") or "")
    if method.startswith(FOLDS_CI):
        return "folds"
    if method.startswith(CLIPS_CI):
        return "test clips"
    if (entry or {}).get("ci95") and not method.startswith("n/a"):
        return "seeds"
    return ""


def ci_text(entry: dict | None, metric: str, scale: float = 100.0, digits: int = 1) -> str:
    """A summary entry's 95% CI as printed: "[a, b]" (over folds or test clips), "[a, b] (seed noise
    only)" for an older record's t interval over seeds, "(clipped to the metric's range)" when it
    was, or "n/a (why)". No output shows an interval the data cannot give."""
    entry = entry or {}
    kind = ci_kind(entry)
    method = str(entry.get("ci_method") or "")
    if not kind:
        return method if method.startswith("n/a") else "n/a"
    if kind == "seeds":
        n = entry.get("n_seeds")
        if n is not None and int(n) < 2:
            return f"n/a ({int(n)} seed{'s' if int(n) != 1 else ''})"
    ci, clipped = clip_interval(metric, entry["ci95"])
    text = f"[{scale * ci[0]:.{digits}f}, {scale * ci[1]:.{digits}f}]"
    notes = ([SEEDS_ONLY_TEXT] if kind == "seeds" else []) + ([CLIPPED] if clipped or entry.get("ci_clipped") else [])
    return text + (f" ({'; '.join(notes)})" if notes else "")


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


def _split_sizes(record: dict) -> tuple[float, float] | None:
    sizes = [(s.get("n_test"), s.get("n_train")) for s in (record.get("task") or {}).get("splits") or []]
    if not sizes or not all(t and n for t, n in sizes):
        return None
    return float(np.mean([t for t, _ in sizes])), float(np.mean([n for _, n in sizes]))


def paired_test(record_a: dict, record_b: dict, metric: str, alpha: float = ALPHA, rng_seed: int = 0,
                correction: str | None = None, n_resamples: int = N_RESAMPLES) -> dict:
    """A - B in ``metric``: ``diff``, ``ci95``, ``p_value``, ``method``, ``unit`` (folds or test
    clips) and ``n_units``; ``status`` TESTED, TOO_FEW (2 folds), SEEDS_ONLY (one split without
    predictions) or NOT_COMPARABLE (a NaN score), with ``reason`` when no p-value is given."""
    if correction not in (None, "nadeau-bengio"):
        raise BenchError(f"Unknown correction '{correction}'; the one offered is 'nadeau-bengio'.")
    pairs = _pairs(record_a, record_b, metric)
    by_split: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (split, _seed), ab in pairs.items():
        by_split[split].append(ab)
    k = len(by_split)
    result = {"metric": metric, "alpha": alpha, "n_pairs": len(pairs), "n_splits": k, "diff": None, "ci95": None,
              "p_value": None, "warning": None, "reason": None, "unit": "folds" if k > 1 else "test clips",
              "n_units": k, "method": FOLDS_METHOD if k > 1 else CLIPS_METHOD,
              "estimand": ("A - B on this task's data, its folds taken as draws" if k > 1 else
                           "A - B on this task's test set, its clips taken as draws")}
    nan = [key for key, (a, b) in pairs.items() if math.isnan(a) or math.isnan(b)]
    if nan:
        return {**result, "status": NOT_COMPARABLE, "n_nan": len(nan), "mean_a": float("nan"), "mean_b": float("nan"),
                "reason": f"{len(nan)} of {len(pairs)} (split, seed) pairs have a NaN {metric}"}
    means_a = np.array([np.mean([a for a, _ in v]) for _, v in sorted(by_split.items())])
    means_b = np.array([np.mean([b for _, b in v]) for _, v in sorted(by_split.items())])
    # estimate, means and interval: all with the splits weighted equally, seeds averaged within a split
    result.update(mean_a=float(means_a.mean()), mean_b=float(means_b.mean()), diff=float((means_a - means_b).mean()))
    if k == 1:
        return _one_split(record_a, record_b, metric, next(iter(by_split)), result, n_resamples, rng_seed)
    if k == 2:
        return {**result, "status": TOO_FEW, "reason": "2 folds: a t over 2 fold differences has one degree of "
                "freedom (t(0.975, 1) = 12.7), so no test or interval of any use is possible"}
    from scipy.stats import t as t_dist
    from scipy.stats import ttest_rel

    d = means_a - means_b
    with warnings.catch_warnings():  # differences all (nearly) equal: scipy warns, the numbers stand
        warnings.simplefilter("ignore", RuntimeWarning)
        test = ttest_rel(means_a, means_b)
    se = float(np.std(d, ddof=1)) / math.sqrt(k)
    p = float(test.pvalue) if np.isfinite(test.pvalue) else (1.0 if se == 0 and d.mean() == 0 else 0.0)
    if correction == "nadeau-bengio":
        sizes = _split_sizes(record_a)
        if sizes is None:
            raise BenchError("The Nadeau-Bengio correction needs the splits' train and test sizes, which this "
                             "record lacks (an older record); compare without it.")
        se *= math.sqrt(1 + k * sizes[0] / sizes[1])
        p = float(2 * t_dist.sf(abs(d.mean()) / se, k - 1)) if se > 0 else p
        result["method"] = FOLDS_METHOD + "; Nadeau-Bengio corrected variance"
    half = _t975(k - 1) * se
    warning = (f"only {k} folds: the test has little power (a difference must be large and steady across "
               "folds to be detected)") if k <= LOW_POWER_FOLDS else None
    return {**result, "status": TESTED, "p_value": p, "ci95": [float(d.mean() - half), float(d.mean() + half)],
            "warning": warning}


def _one_split(record_a: dict, record_b: dict, metric: str, split: str, result: dict, n_resamples: int,
               rng_seed: int) -> dict:
    from benchmark.probe.predictions import of_record

    pa, pb = of_record(record_a).get(split), of_record(record_b).get(split)
    kind = (record_a.get("task") or {}).get("kind")
    if pa is None or pb is None or not kind:
        missing = " and ".join(n for n, p in (("A", pa), ("B", pb)) if p is None) or "the task kind"
        return {**result, "status": SEEDS_ONLY, "method": "none (no per-clip predictions)", "unit": "split",
                "reason": f"one split and no stored per-clip test predictions for {missing} (a run from an older "
                          "bench): only probe-seed noise can be assessed, so no significance is claimed; run it "
                          "again with this bench to store them"}
    from .bootstrap import paired_clip_bootstrap

    out = paired_clip_bootstrap(kind, metric, pa, pb, n_resamples, rng_seed)
    return {**result, **out, "status": TESTED, "n_units": out["n_clips"]}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input's order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (m - step) * float(p_values[i])))
        adjusted[i] = running
    return adjusted
