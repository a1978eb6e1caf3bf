"""Calibration of ``benchmark.stats.ranks`` by simulation: scenario (d) of benchmarks/calibration.py,
rank tiers with systems known to be separable and not.

Each simulation draws ``N_TASKS`` tasks, each with its own metric and scale (accuracy in
[0, 1], ROC-AUC in [0.5, 1], r2 possibly negative; a third each), and ``len(effects)`` systems.
A task's score of system s is ``base + scale · (effect_s + noise)``, noise standard normal per
(task, system): the task-to-task variation that makes a system win some tasks and lose others.
Only the order within a task enters the ranks, so the metric mix changes nothing but makes the
point that no score is compared across tasks.

Scenarios:
* **null**: 4 systems equally good. Quantities: the Friedman (Iman-Davenport) type-I error at
  alpha 0.05 (goal 0.03-0.07), and the family-wise error of the pairwise procedure, the share of
  simulations in which any pair is called different (goal <= 0.05: Holm bounds it; the sign test
  is discrete, so it falls below).
* **tiers**: A = B (tier 1), C = D worse by ``EFFECT`` noise standard deviations. Quantities: how
  often an equal pair (A-B or C-D) is called different (goal <= 0.05), how often A and B share
  rank 1 (goal >= 0.95), how often C and D share a rank (this also needs power: C and D share
  only when A and B each beat both or neither), and the power: how often the leaderboard comes
  out exactly 1, 1, 3, 3 (A and B each significantly better than C and D).

Run: python benchmarks/calibration_ranks.py [--sims 2000] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_TASKS = 30
EFFECT = 1.5  # noise standard deviations between the tiers
ALPHA = 0.05
METRICS = {"accuracy": (0.6, 0.08), "roc_auc": (0.8, 0.04), "r2": (0.2, 0.3)}  # (base, scale)


def simulate(effects: np.ndarray, n_tasks: int, rng: np.random.Generator) -> np.ndarray:
    """A (tasks, systems) score matrix of tasks on the metrics of ``METRICS``, one metric per task."""
    kinds = rng.choice(list(METRICS), n_tasks)
    base = np.array([METRICS[k][0] for k in kinds])[:, None] + rng.normal(0, 0.05, (n_tasks, 1))
    scale = np.array([METRICS[k][1] for k in kinds])[:, None]
    scores = base + scale * (effects[None, :] + rng.standard_normal((n_tasks, len(effects))))
    bounds = {"accuracy": (0.0, 1.0), "roc_auc": (0.5, 1.0), "r2": (-np.inf, 1.0)}
    low = np.array([bounds[k][0] for k in kinds])[:, None]
    high = np.array([bounds[k][1] for k in kinds])[:, None]
    return np.clip(scores, low, high)


def rank_tier_rows(n_sims: int, seed: int, n_tasks: int = N_TASKS, effect: float = EFFECT) -> list[dict]:
    """The calibration rows of scenario (d): {"scenario", "quantity", "value", "goal", ...}."""
    from benchmark.stats.ranks import rank

    rng = np.random.default_rng(seed)
    systems, tasks = ["A", "B", "C", "D"], [f"t{i}" for i in range(n_tasks)]
    omnibus_rejects = any_pair = 0
    start = time.perf_counter()
    for _ in range(n_sims):
        result = rank(simulate(np.zeros(4), n_tasks, rng), systems, tasks)
        omnibus_rejects += result.p_value is not None and result.p_value < ALPHA
        any_pair += any(p.better is not None for p in result.pairs)
    per_ranking = (time.perf_counter() - start) / max(n_sims, 1)
    equal_split = share_top = share_bottom = exact = 0
    tiers = np.array([0.0, 0.0, -effect, -effect])
    for _ in range(n_sims):
        result = rank(simulate(tiers, n_tasks, rng), systems, tasks)
        r = result.rank.tolist()
        equal_split += result.significant(0, 1) or result.significant(2, 3)
        share_top += r[0] == r[1] == 1
        share_bottom += r[2] == r[3]
        exact += r == [1, 1, 3, 3]
    null = f"null: 4 equal systems, {n_tasks} tasks (accuracy, ROC-AUC, r2 mixed)"
    tier = f"tiers: A = B, C = D worse by {effect:g} noise sd, {n_tasks} tasks (metrics mixed)"
    common = {"n_sims": n_sims, "unit": "simulated benchmarks of tasks"}
    return [
        {"scenario": null, "quantity": "type-I error (Friedman, Iman-Davenport F, alpha 0.05)",
         "value": omnibus_rejects / n_sims, "goal": "0.03-0.07", **common},
        {"scenario": null, "quantity": "family-wise error (any pair different; sign tests, Holm, alpha 0.05)",
         "value": any_pair / n_sims, "goal": "<= 0.05", **common},
        {"scenario": tier, "quantity": "type-I error: an equal pair (A-B or C-D) called different",
         "value": equal_split / n_sims, "goal": "<= 0.05", **common},
        {"scenario": tier, "quantity": "A and B share rank 1", "value": share_top / n_sims, "goal": ">= 0.95", **common},
        {"scenario": tier, "quantity": "C and D share a rank (needs power too)", "value": share_bottom / n_sims,
         "goal": ">= 0.80", **common},
        {"scenario": tier, "quantity": "power: ranks exactly 1, 1, 3, 3", "value": exact / n_sims, "goal": ">= 0.80",
         **common},
        {"scenario": null, "quantity": "time per ranking (s)", "value": per_ranking, "goal": "-", **common},
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", type=int, default=N_TASKS)
    parser.add_argument("--effect", type=float, default=EFFECT)
    args = parser.parse_args(argv)
    from tabulate import tabulate

    rows = rank_tier_rows(args.sims, args.seed, args.tasks, args.effect)
    print(tabulate([[r["scenario"], r["quantity"], f"{r['value']:.4g}", r["goal"]] for r in rows],
                   headers=["scenario", "quantity", "value", "goal"], tablefmt="github"))
    print(f"{args.sims} simulations per scenario, seed {args.seed}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
