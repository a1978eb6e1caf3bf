"""Friedman ranks of the finished plain runs in a results folder."""
from __future__ import annotations

import numpy as np
from typing import Any, Iterable

from benchmark.core.errors import BenchError
from benchmark.stats.ranks import RankResult, rank


def from_records(records: Iterable[dict[str, Any]], embedders: Iterable[str] | None = None) -> RankResult:
    """The ranks of the finished plain runs in ``records`` (one headline score per task and
    system); tasks where some system has no finished run or a NaN score are left out."""
    from benchmark.records.query import embedder_wanted, headline_metric, index, metric_values

    wanted = set(embedders or [])
    cells: dict[tuple[str, str, str], dict] = {}
    for (task, emb, proto), record in index(records).items():
        protocol = record.get("protocol") or {}
        variant = any(protocol.get(k) is not None for k in ("train_fraction", "train_per_class", "deform"))
        if record.get("status") == "complete" and not variant and (not wanted or embedder_wanted(record, wanted)):
            cells[(task, emb, proto)] = record
    by_emb: dict[str, set[str]] = {}
    for _, emb, proto in cells:
        by_emb.setdefault(emb, set()).add(proto)
    label = {(e, p): e if len(by_emb[e]) == 1 else f"{e} [{p}]" for _, e, p in cells}
    systems = sorted(set(label.values()))
    table: dict[str, dict[str, float]] = {}
    for (task, emb, proto), record in cells.items():
        metric = headline_metric(record)
        values = metric_values(record, metric) if metric else None
        table.setdefault(task, {})[label[(emb, proto)]] = values["mean"] if values else float("nan")
    tasks = sorted(table)
    if len(systems) >= 2 and not any(all(np.isfinite(table[t].get(s, np.nan)) for s in systems) for t in tasks):
        raise BenchError("No task has finished runs of every embedder, so there is nothing to rank. "
                         f"Embedders: {', '.join(systems)}; run each on the same tasks, or pass "
                         "--embedder to rank fewer.")
    scores = np.array([[table[t].get(s, np.nan) for s in systems] for t in tasks]).reshape(len(tasks), len(systems))
    return rank(scores, systems, tasks, gaps="tasks")
