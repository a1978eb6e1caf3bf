"""``bench compare A B C ... --task T``: every pair of several embedders, Holm-corrected.

Each pair gets the paired test of ``benchmark.stats.scores`` (as ``bench compare A B``); with m pairs
the p-values are adjusted by Holm's step-down method (Holm 1979), which keeps the chance of any
false "better" at 5% over all m comparisons: sort the p-values p(1) <= ... <= p(m), adjust
p(i) to max over j <= i of min(1, (m - j + 1) p(j)), and call a pair different when its
adjusted p < 0.05 (the one rule of ``stats.significant``: p < alpha).
"""
from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any, Sequence

from .compare import compare_records, load_pair
from benchmark.core.errors import BenchError
from benchmark.stats.scores import ALPHA, holm, significant


def compare_many(results_dir: str | Path, task: str, embedders: Sequence[str], metric: str | None = None,
                 protocol: str | None = None, registries: Any = None) -> list[dict]:
    """The paired test of every pair, each with ``p_holm`` (the Holm-adjusted p) added."""
    names = list(dict.fromkeys(embedders))
    if len(names) < 2:
        raise BenchError("Give at least two different embedders to compare.")
    results = []
    for a, b in combinations(names, 2):
        record_a, record_b = load_pair(results_dir, task, a, b, protocol, registries)
        results.append(compare_records(record_a, record_b, metric))
    tested = [r for r in results if r.get("p_value") is not None]  # too few pairs or NaN scores: no p
    for result, p in zip(tested, holm([r["p_value"] for r in tested])):
        result["p_holm"] = p
    for result in results:
        result.setdefault("p_holm", None)
    return results


def format_many(results: list[dict]) -> str:
    first = results[0]
    lines = [f"{len(results)} pairwise comparisons on {first['task']} ({first['protocol']}), {first['metric']}; "
             f"p-values Holm-corrected over the {len(results)} pairs:"]
    for r in results:
        if r["p_holm"] is None or r.get("diff") is None or r.get("ci95") is None:
            lines.append(f"  {r['embedder_a']} - {r['embedder_b']}: not tested ({r.get('reason') or r.get('status')})")
            continue
        lo, hi = r["ci95"]
        if significant(r["p_holm"], ALPHA):
            verdict = f"{r['embedder_a'] if r['diff'] > 0 else r['embedder_b']} is better"
        else:
            verdict = "no significant difference"
        lines.append(f"  {r['embedder_a']} - {r['embedder_b']}: {100 * r['diff']:+.2f} points, 95% CI "
                     f"[{100 * lo:+.2f}, {100 * hi:+.2f}], p = {r['p_value']:.4g}, Holm p = {r['p_holm']:.4g}: {verdict}"
                     + (f" ({r['n_units']} {r['unit']})" if r.get("unit") else ""))
    methods = list(dict.fromkeys(r["method"] for r in results if r.get("method")))
    lines.append(f"  {'; '.join(methods)}; Holm (1979) step-down correction, alpha {ALPHA} (significant: p < alpha); "
                 f"estimand: {first.get('estimand', 'A - B on this task')}")
    return "\n".join(lines)
