"""Calibration of bench's tests and intervals by simulation: type-I error, coverage, power, time.

Each scenario simulates pairs of RunRecords whose truth is known and runs them through the code
``bench compare`` uses (``benchmark.report.compare.compare_records``, or the ``bench compare`` command
itself with ``--cli``), counting how often the verdict is "better" (alpha 0.05, rule p < alpha),
how often the headline 95% CI holds the true score and the difference's 95% CI the true
difference, and the time per comparison.

(a) k-fold records, no true difference: score(system, fold, seed) = 70 + fold effect (sd 2
    points, shared) + system-by-fold interaction (sd 2 points, independent per system and fold)
    + seed noise (sd 0.5 points); 10 and 5 folds x 10 seeds.
(b) one split with per-clip predictions (multilabel, ROC-AUC) of two systems equally good in
    expectation: score = signal x label + clip difficulty (shared) + system noise per clip +
    seed noise per clip, Gaussian, so each system's population ROC-AUC is known exactly.
(c) the same with a true difference: 4 points on 10 folds, 7 points on 5 folds, and an AUC gap
    on the one-split scenario (power).
(d) rank tiers (benchmarks/calibration_ranks.py ``rank_tier_rows``), where present.

Run: ``python benchmarks/calibration.py [--sims 2000] [--clip-sims N] [--seed 0] [--cli]``. Every scenario is a
function ``(n_sims, seed, via_cli) -> list[dict]`` in ``SCENARIOS``; ``main`` prints one table.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ALPHA = 0.05
METRIC = "accuracy"


# -- simulated records -------------------------------------------------------------------------
def _record(name: str, task: str, splits: list[str], seeds: list[int], values: np.ndarray, metric: str,
            kind: str = "multiclass") -> dict:
    """A complete RunRecord of these (split x seed) ``values``."""
    from benchmark.records.results import new_record
    from benchmark.stats.scores import summarize

    record = new_record(f"{name}{task}".ljust(32, "0")[:32], {"name": name, "config": {}, "dim": 1},
                        {"name": task, "dataset": task, "kind": kind, "metrics": [metric], "n_clips": 100,
                         "clip_hash": "sim", "splits": [{"name": s} for s in splits]},
                        {"name": "coala"}, seeds, "sim")
    record["scores"] = [{"split": sp, "seed": int(s), "metrics": {metric: float(values[i, j])}, "extra": {}}
                        for i, sp in enumerate(splits) for j, s in enumerate(seeds)]
    record["summary"] = summarize(record["scores"], [metric])
    record["status"], record["finished"] = "complete", record["created"]
    return record


def kfold_pair(rng: np.random.Generator, n_folds: int, effect: float, n_seeds: int = 10, fold_sd: float = 0.02,
               interaction: float = 0.02, seed_noise: float = 0.005, base: float = 0.70) -> tuple[dict, dict]:
    """Records A and B of one simulated k-fold task (fractions); A's true score is base + effect."""
    splits, seeds = [f"fold{k + 1}" for k in range(n_folds)], list(range(n_seeds))
    fold = rng.normal(0, fold_sd, n_folds)[:, None]
    a = base + effect + fold + rng.normal(0, interaction, (n_folds, 1)) + rng.normal(0, seed_noise, (n_folds, n_seeds))
    b = base + fold + rng.normal(0, interaction, (n_folds, 1)) + rng.normal(0, seed_noise, (n_folds, n_seeds))
    return (_record("simA", "simtask", splits, seeds, a, METRIC), _record("simB", "simtask", splits, seeds, b, METRIC))


def one_split_pair(rng: np.random.Generator, effect: float, n_clips: int = 500, n_labels: int = 3, n_seeds: int = 3,
                   prevalence: float = 0.2) -> tuple[dict, dict, float, float]:
    """Records A and B of one simulated one-split multilabel task with their per-clip predictions,
    A's true ROC-AUC and the true difference. Score of a clip for a label: signal x label + clip
    difficulty (sd 1, shared by both systems) + the system's own error (sd 1) + seed noise (sd
    0.5): each is Gaussian, so a system's population ROC-AUC is Phi(signal / sqrt(2 var))."""
    from scipy.stats import norm

    from benchmark.stats.scores import summarize

    truth = (rng.random((n_clips, n_labels)) < prevalence).astype(np.int64)
    difficulty = rng.normal(0, 1.0, (n_clips, n_labels))
    sd = math.sqrt(1.0 + 1.0 + 0.25)
    signal_b = 1.5
    signal_a = signal_b + effect
    records, truths = [], []
    for name, signal in (("simA", signal_a), ("simB", signal_b)):
        own = rng.normal(0, 1.0, (n_clips, n_labels))
        scores = signal * truth[None] + difficulty[None] + own[None] + rng.normal(0, 0.5, (n_seeds, n_clips, n_labels))
        ids = np.array([f"c{i}" for i in range(n_clips)])
        stored = {"test": {"ids": ids, "truth": truth, "seeds": np.arange(n_seeds), "scores": scores.astype(np.float16)}}
        from benchmark.probe.metrics import compute

        values = np.array([[compute("multilabel", ["roc_auc"], truth, scores[s])[0]["roc_auc"] for s in range(n_seeds)]])
        record = _record(name, "simclips", ["test"], list(range(n_seeds)), values, "roc_auc", kind="multilabel")
        record["_predictions"] = stored
        record["summary"] = summarize(record["scores"], ["roc_auc"], stored, "multilabel")
        records.append(record)
        truths.append(float(norm.cdf(signal / math.sqrt(2) / sd)))
    return records[0], records[1], truths[0], truths[0] - truths[1]


# -- one comparison, through the function or the command -----------------------------------------
def _compare(a: dict, b: dict, metric: str, via_cli: bool, workdir: Path | None = None) -> dict:
    """{"reject", "diff_ci", "diff"} of ``bench compare simA simB``."""
    if not via_cli:
        from benchmark.report.compare import compare_records

        result = compare_records(a, b, metric)
        p = result.get("p_value")
        return {"reject": p is not None and p < ALPHA, "diff_ci": result.get("ci95"), "diff": result.get("diff")}
    from click.testing import CliRunner

    from benchmark.records.results import ResultsStore
    from cli import cli

    assert workdir is not None
    for record in (a, b):
        store = ResultsStore(workdir)
        store.save(record)
        for split, held in (record.get("_predictions") or {}).items():
            from benchmark.probe.predictions import entry

            entries = [entry(list(held["ids"]), held["truth"], held["scores"][i]) for i in range(len(held["seeds"]))]
            store.save_predictions(record, split, [int(x) for x in held["seeds"]], entries)
    out = CliRunner().invoke(cli, ["compare", "simA", "simB", "--task", a["task"]["name"], "--metric", metric,
                                   "--results-dir", str(workdir)])
    if out.exit_code != 0:
        raise RuntimeError(out.output)
    verdict = out.output.split("verdict:")[-1]
    ci = re.search(r"95% CI \[([-+0-9.]+), ([-+0-9.]+)\]", out.output)
    return {"reject": "is better" in verdict,
            "diff_ci": [float(ci.group(1)) / 100, float(ci.group(2)) / 100] if ci else None, "diff": None}


def _inside(interval: list[float] | None, value: float) -> bool:
    return interval is not None and interval[0] <= value <= interval[1]


def _row(scenario: str, unit: str, effect_text: str, rejects: int, headline: int, diff_cover: int, n: int,
         seconds: float, null: bool) -> dict:
    rate = rejects / n
    return {"scenario": scenario, "unit": unit, "true difference": effect_text,
            "type-I error" if null else "power": rate,
            "headline CI coverage": headline / n, "difference CI coverage": diff_cover / n,
            "sims": n, "s per comparison": seconds / n}


def _run_pairs(make: Callable[[np.random.Generator], tuple[dict, dict, float, float]], n_sims: int, seed: int,
               via_cli: bool, metric: str) -> tuple[int, int, int, float]:
    """(rejections, headline CI covers, difference CI covers, seconds in the comparisons)."""
    rng = np.random.default_rng(seed)
    rejects = headline = diff_cover = 0
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n_sims):
            a, b, true_a, true_diff = make(rng)
            started = time.perf_counter()
            out = _compare(a, b, metric, via_cli, Path(tmp) / str(i))
            seconds += time.perf_counter() - started
            rejects += bool(out["reject"])
            headline += _inside((a.get("summary") or {}).get(metric, {}).get("ci95"), true_a)
            diff_cover += _inside(out["diff_ci"], true_diff)
    return rejects, headline, diff_cover, seconds


KFOLD_CASES = ((10, 0.0), (5, 0.0), (10, 0.04), (5, 0.07))


def kfold_rows(n_sims: int, seed: int, via_cli: bool = False, cases: tuple = KFOLD_CASES) -> list[dict]:
    """Scenarios (a) and (c) on k-fold records: 10 and 5 folds, no difference and a known one."""
    rows = []
    for n_folds, effect in cases:
        def make(rng, n_folds=n_folds, effect=effect):
            a, b = kfold_pair(rng, n_folds, effect)
            return a, b, 0.70 + effect, effect

        r, h, d, s = _run_pairs(make, n_sims, seed + n_folds + int(1000 * effect), via_cli, METRIC)
        rows.append(_row(f"{'a' if effect == 0 else 'c'}: {n_folds} folds x 10 seeds", "folds",
                         f"{100 * effect:g} points", r, h, d, n_sims, s, effect == 0))
    return rows


def one_split_rows(n_sims: int, seed: int, via_cli: bool = False) -> list[dict]:
    """Scenarios (b) and (c) on one split with per-clip predictions: 500 test clips, 3 labels
    (prevalence 0.2), 3 seeds, ROC-AUC; equal systems, and A's signal 0.25 sd higher."""
    rows = []
    for effect in (0.0, 0.25):
        def make(rng, effect=effect):
            return one_split_pair(rng, effect)

        probe = one_split_pair(np.random.default_rng(0), effect)
        r, h, d, s = _run_pairs(make, n_sims, seed + 7 + int(10 * effect), via_cli, "roc_auc")
        rows.append(_row(f"{'b' if effect == 0 else 'c'}: one split, 500 clips x 3 labels x 3 seeds", "test clips",
                         f"{100 * probe[3]:.2g} points ROC-AUC", r, h, d, n_sims, s, effect == 0))
    return rows


SCENARIOS: list[Callable[..., list[dict]]] = [kfold_rows, one_split_rows]


def all_rows(n_sims: int, seed: int, via_cli: bool = False, clip_sims: int | None = None) -> list[dict]:
    """Every scenario's rows; ``clip_sims``: fewer simulations for the (slower) one-split scenarios."""
    rows = []
    for scenario in SCENARIOS:
        rows += scenario(clip_sims if clip_sims and scenario is one_split_rows else n_sims, seed, via_cli)
        print(f"done: {scenario.__name__}", file=sys.stderr, flush=True)  # a long run shows its progress
    try:  # (d), another module's: rank tiers
        from calibration_ranks import rank_tier_rows  # type: ignore[import-not-found]
    except ImportError:
        return rows
    return rows + rank_tier_rows(n_sims, seed)


def format_rows(rows: list[dict]) -> str:
    from tabulate import tabulate

    headers = list(dict.fromkeys(k for row in rows for k in row))
    body = [[_cell(row.get(h)) for h in headers] for row in rows]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if value < 0.01 or math.isnan(value) else f"{value:.3f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", type=int, default=2000, help="simulations per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-sims", type=int, default=None,
                        help="simulations for the one-split scenarios (default: --sims)")
    parser.add_argument("--cli", action="store_true", help="through the bench compare command (slower)")
    args = parser.parse_args(argv)
    print(format_rows(all_rows(args.sims, args.seed, args.cli, args.clip_sims)))
    print(f"\nalpha {ALPHA} (rule p < alpha); goals: type-I error 0.03-0.07, coverage 0.93-0.97, power >= 0.8.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
