"""Label-efficiency curves from the run records: ``bench table --fractions`` and ``bench plot``'s
score-against-fraction figures.

A curve is one (task, embedder, base protocol): its runs with ``train_fraction`` or
``train_per_class`` set, plus the plain run of the same protocol as the full training set
(fraction 1). Per-class budgets and fractions are different axes, so they are separate curves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from benchmark.records.variants import base_label, variant_kinds
from benchmark.records import query as rec
from .table import Column, Row, Table, _our_cell


@dataclass
class Curve:
    task: str
    embedder: str
    protocol: str  # the base protocol label (``coala``, ``coala+fast-matmul``)
    axis: str  # "fraction" or "per_class"
    #: x value → the record of that training-set size
    points: dict[float, dict[str, Any]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.embedder} [{self.protocol}]"


def _x(record: dict[str, Any]) -> tuple[str, float] | None:
    protocol = record.get("protocol") or {}
    if protocol.get("deform"):
        return None  # robustness runs are not points of a clean-audio curve
    if protocol.get("train_per_class") is not None:
        return "per_class", float(protocol["train_per_class"])
    if protocol.get("train_fraction") is not None:
        return "fraction", float(protocol["train_fraction"])
    return "full", 1.0


def curves(records: Iterable[dict[str, Any]], tasks: Iterable[str] | None = None,
           embedders: Iterable[str] | None = None) -> list[Curve]:
    """Every curve with at least one subset run, its full-data run included where there is one."""
    tasks, embedders = set(tasks or []), set(embedders or [])
    found: dict[tuple[str, str, str, str], Curve] = {}
    full: dict[tuple[str, str, str], dict[str, Any]] = {}
    for (task, emb, label), record in rec.index(records).items():
        if (tasks and task not in tasks) or (embedders and not rec.embedder_wanted(record, embedders)):
            continue
        where = _x(record)
        if where is None:
            continue
        axis, x = where
        if axis == "full":
            full[(task, emb, label)] = record
            continue
        key = (task, emb, base_label(label), axis)
        found.setdefault(key, Curve(task, emb, base_label(label), axis)).points[x] = record
    for curve in found.values():
        record = full.get((curve.task, curve.embedder, curve.protocol))
        if record is not None and curve.axis == "fraction":
            curve.points[1.0] = record
    return sorted(found.values(), key=lambda c: (c.task, c.axis, c.embedder, c.protocol))


def x_text(axis: str, x: float) -> str:
    return f"{x:g}/class" if axis == "per_class" else f"{100 * x:g}%"


def used_fraction(record: dict[str, Any]) -> float | None:
    """The share of the training clips a subset run actually trained on, mean over its (split,
    seed) scores (``extra.fraction_used``); 1 for a full run; None for records written before
    bench recorded it."""
    if not any((record.get("protocol") or {}).get(k) is not None for k in ("train_fraction", "train_per_class")):
        return 1.0
    used = [s["extra"]["fraction_used"] for s in record.get("scores") or []
            if isinstance((s.get("extra") or {}).get("fraction_used"), (int, float))]
    return sum(used) / len(used) if used else None


def used_text(curves_: Iterable[Curve], x: float) -> str:
    """`` (used 2.1%)`` where the runs of fraction ``x`` trained on another share than asked
    (a range where the runs differ), else empty."""
    used = sorted({round(100 * u, 1) for c in curves_ if x in c.points
                   for u in [used_fraction(c.points[x])] if u is not None})
    if not used or used == [round(100 * x, 1)]:
        return ""
    return f" (used {used[0]:g}%)" if len(used) == 1 else f" (used {used[0]:g}-{used[-1]:g}%)"


USED_NOTE = ("'used': the share of the training clips actually trained on, mean over (split, seed); keeping at "
             "least one clip per class (per label) makes it larger than asked at small fractions.")


def fraction_tables(records: Iterable[dict[str, Any]], tasks: Iterable[str] | None = None,
                    embedders: Iterable[str] | None = None) -> list[Table]:
    """One table per (task, axis): a row per embedder [protocol], a column per training-set size."""
    records = list(records)
    found = curves(records, tasks, embedders)
    # deformed runs on a training subset are robustness rows (paired with their clean subset run)
    deformed: dict[str, int] = {}
    for (task, _, _), record in rec.index(records).items():
        if set(variant_kinds(record)) >= {"deformed", "training-subset"}:
            deformed[task] = deformed.get(task, 0) + 1
    tables = []
    for task, axis in dict.fromkeys((c.task, c.axis) for c in found):
        mine = [c for c in found if c.task == task and c.axis == axis]
        xs = sorted({x for c in mine for x in c.points})
        metric = rec.headline_metric(next(iter(mine[0].points.values()))) or "?"
        columns = [Column(x_text(axis, x) + (used_text(mine, x) if axis == "fraction" else ""), task, metric)
                   for x in xs]
        rows = [Row(label=c.label, kind="ours", embedder=c.embedder, protocol=c.protocol,
                    cells=[_our_cell(c.points.get(x), metric) for x in xs]) for c in mine]
        what = "fraction of the training set" if axis == "fraction" else "training clips per class"
        tables.append(Table(key=f"fractions-{task}-{axis}", title=f"{task}: {metric} by {what} (%)",
                            columns=columns, rows=rows,
                            notes=["Each size is a run of its own: every (split, seed) trains on its own seeded, "
                                   "stratified subset; the subsets of a seed are nested; validation and test sets "
                                   "are the full ones."] + ([USED_NOTE] if axis == "fraction" else [])))
        if deformed.get(task):
            tables[-1].notes.append(f"{deformed[task]} run(s) on a training subset with deformed audio: see "
                                    "bench table --robustness.")
    return tables
