"""Ranks across tasks: which embedders are better over a set of tasks, beyond one task's noise.

The unit is the task; each task may use its own metric (accuracy, ROC-AUC, r2), so nothing here
averages or subtracts scores across tasks, only orders within a task:

* **Per-task ranks** (Friedman 1937; Demšar 2006): each task ranks the systems by its headline
  score, 1 = best, ties share the average rank. The *mean rank* is the average over tasks.
* **Gaps** (a system with no finished run or a NaN score on a task) never poison the others, by
  one of two stated rules (``GAP_RULES``): leave out the *tasks* where some system has a gap
  (``bench plot --ranks``, the report), or leave out the *systems* with a gap (the table's rows).
* **Omnibus**: the Friedman test through the Iman-Davenport F, F = (N-1)·χ² / (N(k-1) - χ²) with
  (k-1, (k-1)(N-1)) degrees of freedom (Iman & Davenport 1980; less conservative than χ²),
  χ² from ``scipy.stats.friedmanchisquare`` (tie-corrected). Needs 3+ systems and 2+ tasks.
* **Pairs**: a two-sided sign test (``scipy.stats.binomtest``) on the tasks each system of the pair
  wins, ties left out, Holm-corrected over the k(k-1)/2 pairs (alpha 0.05, p < alpha rejects).
  The sign of a task's difference is the one thing every metric agrees on, so the test is valid
  across metrics, and it depends on the pair alone. We do not use the Nemenyi critical difference
  or any other mean-rank post-hoc test: Benavoli, Corani & Mangili (2016, JMLR 17(5)) show that
  whether A and B differ by a mean-rank test depends on which *other* systems are in the pool
  (the same objection rules out a Wilcoxon test on per-task rank differences, whose magnitudes
  depend on the pool; its signs do not, and they are the sign test). A Wilcoxon test on raw score
  differences would mix scales across metrics.
* **No gating on the omnibus**: Holm over the pairwise tests controls the family-wise error on its
  own; requiring the Friedman test to reject first changes no guarantee and can contradict the
  pairs (Benavoli et al. 2016 argue likewise). The Friedman result is printed beside them.
* **Too few tasks**: with n tasks the smallest two-sided sign-test p is 2/2^n, so a pair can reach
  Holm's first threshold alpha/m (m pairs) only from ``min_tasks(k)`` tasks on (3 systems: 7,
  5 systems: 9); below that the output says "too few tasks".
* **Leaderboard rank**: 1 + the number of systems significantly better (a defined rule; "not
  separable" is not transitive), so systems that cannot be separated share a rank.

Runs are the plain ones (full training set, clean audio: label-efficiency and robustness runs are
other questions); an embedder run under several protocols counts once per protocol.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

import numpy as np

from benchmark.core.errors import BenchError

ALPHA = 0.05
PAIR_METHOD = "two-sided sign test on per-task wins (ties left out), Holm-corrected over pairs, alpha 0.05"
OMNIBUS_METHOD = "Friedman test, Iman-Davenport F"
METHOD = (f"Per-task ranks (1 = best, ties averaged), mean over tasks; {OMNIBUS_METHOD}; pairs: {PAIR_METHOD}; "
          "rank = 1 + the number of systems significantly better; unit: tasks")
GAP_RULES = {
    "tasks": "tasks where some system has no finite score are left out",
    "systems": "systems without a finite score on every task are left out",
}


@dataclass
class Pair:
    a: int
    b: int
    wins_a: int
    wins_b: int
    ties: int
    p_value: float
    p_holm: float = 1.0

    @property
    def better(self) -> int | None:
        """The index of the significantly better system, or None."""
        if self.p_holm >= ALPHA or self.wins_a == self.wins_b:
            return None
        return self.a if self.wins_a > self.wins_b else self.b


@dataclass
class RankResult:
    systems: list[str]
    tasks: list[str]
    scores: np.ndarray  # (tasks, systems) headline scores, all finite
    ranks: np.ndarray  # (tasks, systems), 1 = best
    average: np.ndarray  # (systems,) mean rank over tasks
    friedman: float | None = None  # chi2
    f_statistic: float | None = None  # Iman-Davenport F
    df: tuple[int, int] | None = None
    p_value: float | None = None  # of the Iman-Davenport F
    pairs: list[Pair] = field(default_factory=list)
    #: 1 + the number of systems significantly better
    rank: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    min_tasks: int = 0
    gap_rule: str = "tasks"
    #: tasks (gap rule "tasks") or systems (gap rule "systems") left out, with why
    left_out: list[str] = field(default_factory=list)

    @property
    def too_few_tasks(self) -> bool:
        return len(self.tasks) < self.min_tasks

    def order(self) -> list[int]:
        """System indices from the best mean rank to the worst (ties by name)."""
        return sorted(range(len(self.systems)), key=lambda j: (self.average[j], self.systems[j]))

    def significant(self, i: int, j: int) -> bool:
        return any({p.a, p.b} == {i, j} and p.better is not None for p in self.pairs)

    def groups(self) -> list[tuple[int, int]]:
        """Maximal runs (first, last positions in ``order()``) of systems no two of which differ
        significantly: the bars of the diagram (none of a single system)."""
        order = self.order()
        spans: list[tuple[int, int]] = []
        for i in range(len(order)):
            j = i
            while j + 1 < len(order) and not any(self.significant(order[m], order[j + 1]) for m in range(i, j + 1)):
                j += 1
            if j > i and not any(a <= i and j <= b for a, b in spans):
                spans.append((i, j))
        return spans


@lru_cache(maxsize=None)
def min_tasks(k: int, alpha: float = ALPHA) -> int:
    """The fewest tasks with which some pair of k systems can differ after Holm: the smallest
    two-sided sign-test p (all n tasks won) times the m = k(k-1)/2 pairs must fall below alpha."""
    from scipy.stats import binomtest

    m = max(1, k * (k - 1) // 2)
    n = 1
    while m * binomtest(n, n).pvalue >= alpha:
        n += 1
    return n


def _complete(scores: np.ndarray, systems: list[str], tasks: list[str], gaps: str):
    if gaps not in GAP_RULES:
        raise ValueError(f"gaps must be one of {sorted(GAP_RULES)}, not {gaps!r}")
    finite = np.isfinite(scores)
    if gaps == "tasks":
        keep = finite.all(axis=1)
        left = [f"{t} (no score: {', '.join(s for s, ok in zip(systems, finite[i]) if not ok)})"
                for i, t in enumerate(tasks) if not keep[i]]
        return scores[keep], systems, [t for t, k in zip(tasks, keep) if k], left
    keep = finite.all(axis=0)
    left = [f"{s} (no score on {', '.join(t for t, ok in zip(tasks, finite[:, j]) if not ok)})"
            for j, s in enumerate(systems) if not keep[j]]
    return scores[:, keep], [s for s, k in zip(systems, keep) if k], tasks, left


def rank(scores: np.ndarray, systems: list[str], tasks: list[str], left_out: list[str] | None = None,
         gaps: str = "tasks") -> RankResult:
    """Ranks, omnibus and pairwise tests of a (tasks, systems) score matrix (higher is better);
    NaN marks a gap, handled by the rule ``gaps`` (``GAP_RULES``)."""
    from scipy.stats import binomtest, f as f_dist, friedmanchisquare, rankdata

    from .scores import holm

    scores, systems, tasks, dropped = _complete(np.asarray(scores, dtype=float), list(systems), list(tasks), gaps)
    n, k = scores.shape if scores.size else (len(tasks), len(systems))
    if k < 2 or n < 1:
        raise BenchError(f"Ranking needs at least 2 embedders with finished runs on a common task; found {k} "
                         f"embedder(s) over {n} common task(s) ({GAP_RULES[gaps]}). Run more embedders on the same "
                         "tasks.")
    ranks = np.vstack([rankdata(-row, method="average") for row in scores])
    result = RankResult(systems, tasks, scores, ranks, ranks.mean(axis=0), min_tasks=min_tasks(k), gap_rule=gaps,
                        left_out=list(left_out or []) + dropped)
    if k >= 3 and n >= 2:
        with np.errstate(all="ignore"):
            chi2 = float(friedmanchisquare(*scores.T).statistic)
        chi2 = chi2 if np.isfinite(chi2) else 0.0  # every task a tie between all: no rank differs
        df = (k - 1, (k - 1) * (n - 1))
        denominator = n * (k - 1) - chi2
        f_stat = (n - 1) * chi2 / denominator if denominator > 1e-12 else float("inf")  # inf: every task agrees
        result.friedman, result.f_statistic, result.df = chi2, f_stat, df
        result.p_value = float(f_dist.sf(f_stat, *df)) if np.isfinite(f_stat) else 0.0
    for a, b in combinations(range(k), 2):
        wins_a = int((scores[:, a] > scores[:, b]).sum())
        wins_b = int((scores[:, b] > scores[:, a]).sum())
        p = binomtest(wins_a, wins_a + wins_b).pvalue if wins_a + wins_b else 1.0
        result.pairs.append(Pair(a, b, wins_a, wins_b, n - wins_a - wins_b, float(p)))
    for pair, adjusted in zip(result.pairs, holm([p.p_value for p in result.pairs])):
        pair.p_holm = adjusted
    beaten = np.zeros(k, dtype=int)
    for pair in result.pairs:
        if pair.better is not None:
            beaten[pair.b if pair.better == pair.a else pair.a] += 1
    result.rank = 1 + beaten
    return result


def _p(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else "< 1e-4"


def describe(result: RankResult) -> str:
    """A plain-text summary: the leaderboard, the omnibus and the pairs that differ."""
    n, k = len(result.tasks), len(result.systems)
    lines = [f"Ranks over {n} task(s) ({', '.join(result.tasks)}); mean rank: per-task ranks (1 = best, ties averaged) "
             f"averaged over tasks; rank: 1 + the number of embedders significantly better ({PAIR_METHOD}; "
             "unit: tasks):"]
    for j in result.order():
        lines.append(f"  {result.rank[j]:>2}  {result.average[j]:.2f}  {result.systems[j]}")
    if result.p_value is None:
        lines.append(f"{OMNIBUS_METHOD}: needs at least 3 embedders and 2 tasks.")
    else:
        lines.append(f"{OMNIBUS_METHOD} = {result.f_statistic:.3f} (df {result.df[0]}, {result.df[1]}; "
                     f"chi2 = {result.friedman:.3f}), p = {_p(result.p_value)} over {n} tasks; not used as a gate "
                     "(see benchmark.stats.ranks).")
    if result.too_few_tasks:
        lines.append(f"Too few tasks: with {k} embedders ({k * (k - 1) // 2} pairs) no pair can differ after Holm "
                     f"below {result.min_tasks} tasks (here {n}); every embedder shares rank 1.")
    else:
        found = [f"{result.systems[p.better]} > {result.systems[p.b if p.better == p.a else p.a]} "
                 f"(wins {max(p.wins_a, p.wins_b)}-{min(p.wins_a, p.wins_b)}, {p.ties} tie(s), Holm p = {_p(p.p_holm)})"
                 for p in result.pairs if p.better is not None]
        lines.append("Significant pairs: " + ("; ".join(found) if found else "none") + ".")
    if result.left_out:
        lines.append(f"Left out ({GAP_RULES[result.gap_rule]}): {'; '.join(result.left_out)}.")
    return "\n".join(lines)
