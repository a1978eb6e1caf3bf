"""The critical-difference diagram (Demšar 2006) of a ``benchmark.ranks.RankResult``.

An axis of average ranks (1 = best, on the left); each embedder hangs from its average rank, the
better half labelled on the left, the other half on the right; a thick bar joins embedders whose
average ranks differ by less than the Nemenyi critical difference (no significant difference),
and the CD itself is drawn above the axis.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from .ranks import RankResult


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
    if result.cd is not None:
        ax.plot([0, x(lo + result.cd)], [0.45, 0.45], color="black", lw=1.5)
        for end in (0, x(lo + result.cd)):
            ax.plot([end] * 2, [0.41, 0.49], color="black", lw=1.5)
        ax.text(x(lo + result.cd) / 2, 0.52, f"CD = {result.cd:.2f}", ha="center", va="bottom", fontsize="small")
    for pos, j in enumerate(order):
        left = pos < half
        level = -0.25 * ((pos if left else k - 1 - pos) + 1)
        r = x(result.average[j])
        end = -0.05 if left else 1.05
        ax.plot([r, r, end], [0, level, level], color="black", lw=0.8)
        ax.text(end + (-0.02 if left else 0.02), level, f"{result.systems[j]} ({result.average[j]:.2f})",
                ha="right" if left else "left", va="center", fontsize="small")
    for n, (a, b) in enumerate(result.cliques()):
        y = -0.08 - 0.06 * n
        ax.plot([x(result.average[order[a]]) - 0.01, x(result.average[order[b]]) + 0.01], [y, y], color="#d62728", lw=3)
    subtitle = (f"Friedman p = {result.p_value:.3g}, {len(result.tasks)} tasks" if result.p_value is not None
                else f"{len(result.tasks)} task(s); Friedman test needs 3+ embedders and 2+ tasks")
    ax.text(0.5, 0.85, f"Average rank across tasks ({subtitle})", ha="center", fontsize="medium")
    return save(fig, path)
