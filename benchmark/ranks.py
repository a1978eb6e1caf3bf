"""Ranks across tasks: which embedders are better over a set of tasks, beyond one task's noise.

Demšar (2006), "Statistical comparisons of classifiers over multiple data sets", JMLR 7:
* each task ranks the embedders by their headline score (1 = best; ties share the average rank);
  only tasks where every compared embedder has a finished run count;
* the Friedman test (``scipy.stats.friedmanchisquare``) asks whether the average ranks differ more
  than chance allows (needs at least 3 embedders and 2 tasks);
* the Nemenyi post-hoc test: two embedders differ when their average ranks differ by at least the
  critical difference CD = q_α · sqrt(k (k + 1) / (6 N)), q_α the studentized range quantile over
  √2 (k embedders, N tasks, α = 0.05). We use Nemenyi rather than Wilcoxon + Holm because it is
  what the critical-difference diagram draws, and it needs nothing but the ranks.

Runs are the plain ones (full training set, clean audio: label-efficiency and robustness runs are
other questions); an embedder run under several protocols counts once per protocol.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .errors import BenchError

ALPHA = 0.05
METHOD = "Friedman test, Nemenyi critical difference (alpha 0.05), Demsar 2006"


@dataclass
class RankResult:
    systems: list[str]
    tasks: list[str]
    scores: np.ndarray  # (tasks, systems) headline scores
    ranks: np.ndarray  # (tasks, systems), 1 = best
    average: np.ndarray  # (systems,)
    friedman: float | None = None
    p_value: float | None = None
    cd: float | None = None
    #: tasks left out because some embedder has no finished run there
    left_out: list[str] = field(default_factory=list)

    def order(self) -> list[int]:
        """System indices from the best average rank to the worst (ties by name)."""
        return sorted(range(len(self.systems)), key=lambda j: (self.average[j], self.systems[j]))

    def cliques(self) -> list[tuple[int, int]]:
        """Maximal runs (first, last positions in ``order()``) of systems whose average ranks lie
        within CD of each other: the bars of the diagram (none of a single system)."""
        if self.cd is None:
            return []
        ranks = [self.average[j] for j in self.order()]
        spans = []
        for i in range(len(ranks)):
            j = i
            while j + 1 < len(ranks) and ranks[j + 1] - ranks[i] < self.cd:
                j += 1
            if j > i and not any(a <= i and j <= b for a, b in spans):
                spans.append((i, j))
        return spans


def nemenyi_cd(k: int, n: int, alpha: float = ALPHA) -> float:
    """The critical difference of average ranks for k systems over n tasks."""
    from scipy.stats import studentized_range

    q = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def rank(scores: np.ndarray, systems: list[str], tasks: list[str], left_out: list[str] | None = None) -> RankResult:
    """Ranks, Friedman test and CD of a (tasks, systems) score matrix (higher is better)."""
    from scipy.stats import friedmanchisquare, rankdata

    scores = np.asarray(scores, dtype=float)
    n, k = scores.shape
    if k < 2 or n < 1:
        raise BenchError(f"Ranking needs at least 2 embedders with finished runs on a common task; found {k} "
                         f"embedder(s) over {n} common task(s). Run more embedders on the same tasks.")
    ranks = np.vstack([rankdata(-row, method="average") for row in scores])
    result = RankResult(systems, tasks, scores, ranks, ranks.mean(axis=0), left_out=list(left_out or []))
    if k >= 3 and n >= 2:
        with np.errstate(all="ignore"):
            stat, p = friedmanchisquare(*scores.T)
        # every task a tie between all: scipy's tie correction divides by zero; the ranks do not differ
        result.friedman, result.p_value = (float(stat), float(p)) if np.isfinite(stat) else (0.0, 1.0)
        result.cd = nemenyi_cd(k, n)
    return result


def from_records(records: Iterable[dict[str, Any]], embedders: Iterable[str] | None = None) -> RankResult:
    """The ranks of the finished plain runs in ``records`` (one headline score per task and system)."""
    from .report import records as rec

    wanted = set(embedders or [])
    cells: dict[tuple[str, str, str], dict] = {}
    for (task, emb, proto), record in rec.index(records).items():
        protocol = record.get("protocol") or {}
        variant = any(protocol.get(k) is not None for k in ("train_fraction", "train_per_class", "deform"))
        if record.get("status") == "complete" and not variant and (not wanted or rec.embedder_wanted(record, wanted)):
            cells[(task, emb, proto)] = record
    by_emb: dict[str, set[str]] = {}
    for _, emb, proto in cells:
        by_emb.setdefault(emb, set()).add(proto)
    label = {(e, p): e if len(by_emb[e]) == 1 else f"{e} [{p}]" for _, e, p in cells}
    systems = sorted(set(label.values()))
    table: dict[str, dict[str, float]] = {}
    for (task, emb, proto), record in cells.items():
        metric = rec.headline_metric(record)
        values = rec.metric_values(record, metric) if metric else None
        if values:
            table.setdefault(task, {})[label[(emb, proto)]] = values["mean"]
    tasks = sorted(t for t, row in table.items() if all(s in row for s in systems))
    left_out = sorted(set(table) - set(tasks))
    if not tasks:
        raise BenchError("No task has finished runs of every embedder, so there is nothing to rank. "
                         f"Embedders: {', '.join(systems) or 'none'}; run each on the same tasks, or pass "
                         "--embedder to rank fewer.")
    scores = np.array([[table[t][s] for s in systems] for t in tasks])
    return rank(scores, systems, tasks, left_out)


def describe(result: RankResult) -> str:
    """A plain-text summary: average ranks, the Friedman test and the CD."""
    lines = [f"Average rank over {len(result.tasks)} task(s) ({', '.join(result.tasks)}); 1 = best:"]
    for j in result.order():
        lines.append(f"  {result.average[j]:.2f}  {result.systems[j]}")
    if result.p_value is None:
        lines.append("Friedman test: needs at least 3 embedders and 2 tasks.")
    else:
        lines.append(f"Friedman chi2 = {result.friedman:.3f}, p = {result.p_value:.4g}; Nemenyi CD (alpha 0.05) = "
                     f"{result.cd:.3f}: average ranks closer than this are not significantly different.")
    if result.left_out:
        lines.append(f"Left out (not every embedder finished): {', '.join(result.left_out)}.")
    return "\n".join(lines)
