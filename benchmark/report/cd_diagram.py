"""The rank diagram (after Demšar 2006's critical-difference diagram) of a ``benchmark.stats.ranks.RankResult``.

An axis of mean ranks (1 = best, on the left); each embedder hangs from its mean rank, labelled
with its leaderboard rank, the better half on the left, the other half on the right; a thick bar
joins embedders no two of which differ significantly by the procedure of ``benchmark.stats.ranks``
(pairwise sign tests over tasks, Holm). There is no Nemenyi critical difference: that procedure
replaces it. With too few tasks for any pair to differ, one bar joins every embedder and the
title says so, so the figure never looks significant when nothing is.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from benchmark.stats.ranks import RankResult


def cd_diagram(result: RankResult, path: Path, save) -> Path:
    """Draw ``result`` into ``path`` with ``save(fig, path)`` (plots._save: fixed metadata)."""
    k = len(result.systems)
    order = result.order()
    half = (k + 1) // 2
    height = 1.6 + 0.32 * half
    fig = Figure(figsize=(7, height))
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96))
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylim(-0.25 * (half + 2), 1.0)
    ax.axis("off")
    lo, hi = 1, max(k, 2)

    def x(r: float) -> float:  # rank → axis position, best (1) on the left
        return (r - lo) / (hi - lo)

    ax.plot([0, 1], [0, 0], color="black", lw=1)
    for r in range(lo, hi + 1):
        ax.plot([x(r)] * 2, [0, 0.05], color="black", lw=1)
        ax.text(x(r), 0.09, str(r), ha="center", va="bottom", fontsize="small")
    for pos, j in enumerate(order):
        left = pos < half
        level = -0.25 * ((pos if left else k - 1 - pos) + 1)
        r = x(result.average[j])
        end = -0.05 if left else 1.05
        ax.plot([r, r, end], [0, level, level], color="black", lw=0.8)
        ax.text(end + (-0.02 if left else 0.02), level, f"{result.systems[j]} ({result.average[j]:.2f}, rank {result.rank[j]})",
                ha="right" if left else "left", va="center", fontsize="small")
    for bar, (a, b) in enumerate(result.groups()):
        y = -0.08 - 0.06 * bar
        ax.plot([x(result.average[order[a]]) - 0.01, x(result.average[order[b]]) + 0.01], [y, y], color="#d62728", lw=3)
    n = len(result.tasks)
    omnibus = (f"Friedman (Iman-Davenport) p = {result.p_value:.3g}" if result.p_value is not None
               else "Friedman test needs 3+ embedders and 2+ tasks")
    verdict = (f"too few tasks for any pair to differ ({result.min_tasks} needed)" if result.too_few_tasks
               else "bars: no significant difference (sign tests over tasks, Holm, alpha 0.05)")
    ax.text(0.5, 0.9, f"Mean rank over {n} task(s); {omnibus}", ha="center", fontsize="medium")
    ax.text(0.5, 0.72, verdict, ha="center", fontsize="small")
    return save(fig, path)
