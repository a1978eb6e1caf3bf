"""The table model: which record fills which cell, the best and second per column, the paired test
against the column's best, the average and the rank. Formats (markdown, LaTeX, ...) only print it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from benchmark.records import query as rec
from benchmark.records.identity import one_clip_set_per_name
from benchmark.records.variants import left_out_note, variant_kinds
from benchmark.records.reference import PaperTable, Reported, load_published

#: an entry whose Holm-adjusted p against the column's best is not < ALPHA gets the "not significant" mark
ALPHA = 0.05


@dataclass
class Cell:
    status: str  # "ok" | "running" | "not run" | "reported" | "absent"
    mean: float | None = None  # fraction (0-1), reported values included
    std: float | None = None
    n_seeds: int = 0
    ci95: list[float] | None = None
    skipped: int = 0
    task: str | None = None
    embedder: str | None = None
    protocol: str | None = None
    run_key: str | None = None
    best: bool = False
    second: bool = False
    not_significant: bool = False
    p_value: float | None = None
    #: p_value Holm-adjusted over the column's comparisons with its best (what the mark uses)
    p_holm: float | None = None
    #: why no paired test against the column's best was possible (too few pairs, NaN, ...), else None
    untested: str | None = None
    done: int = 0  # (split, seed) scores present, and expected, for a running record
    total: int = 0
    record: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "record"}
        return out


@dataclass
class Column:
    label: str
    task: str
    metric: str


@dataclass
class Row:
    label: str
    kind: str  # "ours" | "reported"
    cells: list[Cell]
    embedder: str | None = None
    protocol: str | None = None
    system: str | None = None
    #: per metric: (mean over the row's finished columns of that metric, how many columns)
    averages: dict[str, tuple[float, int]] = field(default_factory=dict)
    mean_rank: float | None = None  # per-task ranks averaged over tasks (benchmark.stats.ranks)
    rank: int | None = None  # 1 + the rows significantly better


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    with_average: bool = False
    #: metrics averaged (like with like): those of two or more columns
    average_metrics: list[str] = field(default_factory=list)
    #: variant runs this table of plain runs left out (see variants.left_out_note)
    left_out: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title,
            "columns": [c.__dict__ for c in self.columns],
            "rows": [
                {**{k: v for k, v in r.__dict__.items() if k != "cells"}, "cells": [c.to_dict() for c in r.cells]}
                for r in self.rows
            ],
            "notes": self.notes, "with_average": self.with_average, "average_metrics": self.average_metrics,
        }


def _our_cell(record: dict[str, Any] | None, metric: str) -> Cell:
    if record is None:
        return Cell(status="not run")
    values = rec.metric_values(record, metric)
    cell = Cell(
        status="ok" if record.get("status") == "complete" and values else "running",
        task=rec.task_name(record), embedder=rec.embedder_name(record), protocol=rec.protocol_name(record),
        run_key=record.get("run_key"), skipped=rec.skipped_count(record), record=record,
    )
    if cell.status == "running":
        cell.done = len(record.get("scores") or [])
        cell.total = len(record.get("seeds") or []) * len((record.get("task") or {}).get("splits") or [])
    if values:
        cell.mean, cell.std, cell.n_seeds, cell.ci95 = values["mean"], values["std"], values["n_seeds"], values["ci95"]
    return cell


def emphasise(table: Table, alpha: float = ALPHA) -> None:
    """Per column: bold the best of our entries, underline the second, and mark those whose paired
    difference from the best is not significant, Holm-corrected over the column's comparisons
    (one family per column: "which entries cannot be told from the best?"). Reported rows are
    references, not contenders: the paired test needs what only our runs store."""
    from benchmark.stats.scores import holm, paired_test, significant

    for j, column in enumerate(table.columns):
        label = {id(row.cells[j]): row.label for row in table.rows}  # notes name the cell as its row does
        ours = [row.cells[j] for row in table.rows if row.kind == "ours" and row.cells[j].status == "ok"]
        means = sorted({c.mean for c in ours if c.mean is not None and math.isfinite(c.mean)}, reverse=True)  # NaN: no rank
        if not means:
            continue
        for c in ours:
            c.best = c.mean == means[0]
            c.second = len(means) > 1 and c.mean == means[1]
        best = next(c for c in ours if c.best)
        tested: list[Cell] = []
        methods: list[str] = []
        for c in ours:
            if c.best:
                continue
            try:
                result = paired_test(best.record, c.record, column.metric)
            except Exception as exc:  # noqa: BLE001 - no matching pairs (other splits, other task)
                result = {"status": "not comparable", "reason": str(exc)}
            p = result.get("p_value")
            if p is not None and p == p:  # NaN means the test could not be made
                c.p_value = float(p)
                tested.append(c)
                methods.append(str(result.get("method") or "see benchmark.stats.scores"))
            else:
                # no verdict either way: the cell says so rather than look significantly different
                c.untested = _untested_reason(result)
                note = f"{UNTESTED_NOTE} {label[id(c)]} on {c.task} ({column.metric}): {c.untested}."
                if note not in table.notes:
                    table.notes.append(note)
        for c, p_holm in zip(tested, holm([c.p_value for c in tested])):  # type: ignore[misc]
            c.p_holm = p_holm
            c.not_significant = not significant(p_holm, alpha)
        for method in dict.fromkeys(methods):
            note = (f"Paired test against the column's best: {method}; Holm-corrected over the column's "
                    f"comparisons with its best, significant when p < {alpha}.")
            if note not in table.notes:
                table.notes.append(note)


UNTESTED_NOTE = "Not tested against the column's best:"


def _untested_reason(result: dict) -> str:
    if result.get("status") == "not comparable" and "n_nan" in result:
        return f"not comparable ({result['n_nan']} pair(s) with a NaN score)"
    if result.get("status") == "not comparable":
        return "not comparable" + (f" ({result['reason']})" if result.get("reason") else "")
    return str(result.get("reason") or result.get("status") or "no p-value")


def add_average_and_rank(table: Table) -> None:
    """Per metric of two or more columns, the average of a row's finished columns of that metric
    (never across metrics); the mean per-task rank and the leaderboard rank (1 + the rows
    significantly better) of ``benchmark.stats.ranks`` over each task's first column, among the rows
    with a finished, finite score on every task (the others are left out, as a note says)."""
    from benchmark.core.errors import BenchError
    from benchmark.stats.ranks import GAP_RULES, PAIR_METHOD, rank

    table.with_average = True
    by_metric: dict[str, list[int]] = {}
    for j, column in enumerate(table.columns):
        by_metric.setdefault(column.metric, []).append(j)
    table.average_metrics = [m for m, js in by_metric.items() if len(js) > 1]
    for row in table.rows:
        for metric in table.average_metrics:
            done = [row.cells[j].mean for j in by_metric[metric] if _finite(row.cells[j])]
            if done:
                row.averages[metric] = (sum(done) / len(done), len(done))  # type: ignore[arg-type]
    first = list({c.task: j for j, c in reversed(list(enumerate(table.columns)))}.values())[::-1]  # a column per task
    ours = [r for r in table.rows if r.kind == "ours"]
    if not first or len(ours) < 2:
        return
    scores = [[row.cells[j].mean if _finite(row.cells[j]) else math.nan for row in ours] for j in first]
    try:
        result = rank(scores, [str(i) for i in range(len(ours))], [table.columns[j].task for j in first], gaps="systems")
    except BenchError:  # fewer than 2 rows finished every task: no rank
        return
    for position, index in enumerate(result.systems):
        ours[int(index)].mean_rank, ours[int(index)].rank = float(result.average[position]), int(result.rank[position])
    n, k = len(result.tasks), len(result.systems)
    note = (f"Mean rank: per-task ranks (1 = best, ties averaged) over the {n} task(s), each by its first column; "
            f"Rank: 1 + the number of rows significantly better ({PAIR_METHOD}; unit: tasks)")
    if result.too_few_tasks:
        note += f"; too few tasks: {result.min_tasks} needed for any of the {k} rows to differ, so all share rank 1"
    if result.left_out:
        note += f"; not ranked ({GAP_RULES['systems']}): {len(result.left_out)} row(s)"
    table.notes.append(note + ".")


def _finite(cell: Cell) -> bool:
    return cell.status == "ok" and cell.mean is not None and math.isfinite(cell.mean)


def _skip_notes(table: Table) -> None:
    for row in table.rows:
        for cell, column in zip(row.cells, table.columns):
            if cell.skipped and cell.record is not None:
                ids = rec.skipped_ids(cell.record)
                shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
                # the row's label, not the bare embedder: "mfcc [linear]" beside "mfcc [coala]"
                note = f"{row.label} on {cell.task}: {cell.skipped} clip(s) skipped" + (f" ({shown})" if shown else "")
                if note not in table.notes:
                    table.notes.append(note)


def grid_table(
    records: Iterable[dict[str, Any]],
    tasks: Iterable[str] | None = None,
    embedders: Iterable[str] | None = None,
    all_metrics: bool = False,
    variants: Iterable[str] = (),
) -> Table:
    """Any task x embedder grid from the records, with an average column and a rank. It compares
    plain runs, plus the ``variants`` kinds it is for (``layer`` for the layer table); other
    variant runs (deformed, training subsets, layers) are left out and counted in a note, so a
    variant never stands in a row of the plain run's name."""
    wanted_tasks, wanted_emb = list(tasks or []), list(embedders or [])
    chosen = [
        r for r in records
        if (not wanted_tasks or rec.task_wanted(r, wanted_tasks)) and (not wanted_emb or rec.embedder_wanted(r, wanted_emb))
    ]
    allowed = set(variants)
    left_out = [kinds for kinds in (variant_kinds(r) for r in rec.index(chosen).values()) if not set(kinds) <= allowed]
    dropped = [r for r in chosen if not set(variant_kinds(r)) <= allowed]
    chosen = [r for r in chosen if set(variant_kinds(r)) <= allowed]
    # a wanted name with variant runs only is in the note, not a "not run" row or column (it ran)
    wanted_tasks = [w for w in wanted_tasks if any(rec.task_wanted(r, [w]) for r in chosen)
                    or not any(rec.task_wanted(r, [w]) for r in dropped)]
    wanted_emb = [w for w in wanted_emb if any(rec.embedder_wanted(r, [w]) for r in chosen)
                  or not any(rec.embedder_wanted(r, [w]) for r in dropped)]
    cells = rec.index(chosen)
    task_metrics: dict[str, list[str]] = {}
    for r in chosen:
        metrics = list((r.get("task") or {}).get("metrics") or (r.get("summary") or {}).keys())
        task_metrics.setdefault(rec.task_name(r), metrics if all_metrics else metrics[:1])
    # a wanted name may stand for several clip sets (a column each) or for none yet (a "not run" column)
    task_order = list(dict.fromkeys(
        t for w in wanted_tasks
        for t in ([t for t in sorted(task_metrics) if any(rec.task_name(r) == t and rec.task_wanted(r, [w])
                                                          for r in chosen)] or [w])
    )) if wanted_tasks else sorted(task_metrics)
    columns = [Column(f"{t} ({m})" if all_metrics else t, t, m) for t in task_order for m in task_metrics.get(t, ["?"])]

    # one row per embedder; split by protocol only where an embedder ran a task under several
    protocols: dict[str, dict[str, set[str]]] = {}
    for task, emb, proto in cells:
        protocols.setdefault(emb, {}).setdefault(task, set()).add(proto)
    # a wanted name may stand for several runs' rows (other weights or options) or for none yet ("not run")
    shown = list(dict.fromkeys(
        e for w in wanted_emb
        for e in (sorted({rec.embedder_name(r) for r in chosen if rec.embedder_wanted(r, [w])}) or [w])))
    row_keys: list[tuple[str, str | None]] = []
    for emb in shown + sorted(set(protocols) - set(shown)):
        per_task = protocols.get(emb, {})
        if any(len(p) > 1 for p in per_task.values()):
            row_keys += [(emb, p) for p in sorted(set().union(*per_task.values()))]
        else:
            row_keys.append((emb, None))
    rows = []
    for emb, proto in row_keys:
        row_cells = []
        for col in columns:
            matches = [r for (t, e, p), r in cells.items() if t == col.task and e == emb and (proto is None or p == proto)]
            row_cells.append(_our_cell(rec.pick(matches), col.metric))
        rows.append(Row(label=emb if proto is None else f"{emb} [{proto}]", kind="ours", cells=row_cells,
                        embedder=emb, protocol=proto))
    table = Table(key="grid", title="Results: mean ± std over seeds (%)", columns=columns, rows=rows)
    emphasise(table)
    add_average_and_rank(table)
    _skip_notes(table)
    if left_out:
        table.notes.append(left_out_note(left_out))
        table.left_out = len(left_out)
    return table


def paper_table(layout: PaperTable, records: Iterable[dict[str, Any]], published: list[Reported] | None = None) -> Table:
    """One paper's table: the reported rows, each followed by our row of the same system, then our
    other embedders that ran the table's tasks under the paper's protocol."""
    published = published if published is not None else load_published()
    # the paper's columns are task names: one clip set each (the complete one), never two mixed
    records, other_sets = one_clip_set_per_name(records)
    cells = {k: r for k, r in rec.index(records).items() if k[2] == layout.protocol}
    left_out = [variant_kinds(r) for r in cells.values() if variant_kinds(r)]  # layer runs (name@N) of the protocol
    cells = {k: r for k, r in cells.items() if not variant_kinds(r)}
    columns = [Column(c.label, c.our_tasks[0], c.metric) for c in layout.columns]
    reported = layout.reported(published)
    rows: list[Row] = []
    notes: list[str] = []

    def our_row(label: str, system: str | None, name_for: Callable[[str], str | None]) -> Row:
        row_cells = []
        for col in layout.columns:
            names = [(task, name_for(task)) for task in col.our_tasks]
            if not any(emb for _, emb in names):
                row_cells.append(Cell(status="absent"))  # no counterpart of this system for the column
                continue
            found = next((cells[(t, e, layout.protocol)] for t, e in names if (t, e, layout.protocol) in cells), None)
            row_cells.append(_our_cell(found, col.metric))
        return Row(label=label, kind="ours", cells=row_cells, embedder=name_for(layout.columns[0].our_tasks[0]),
                   protocol=layout.protocol, system=system)

    covered: set[str] = set()
    for system in dict.fromkeys(r.system for r in reported):
        row_cells = []
        for col in layout.columns:
            hit = next((r for r in reported if r.system == system and r.task == col.reported_task and r.metric == col.metric), None)
            row_cells.append(Cell(status="reported", mean=hit.value / 100.0) if hit else Cell(status="absent"))
            if hit and hit.note and f"{system}: {hit.note}" not in notes:
                notes.append(f"{system}: {hit.note}")
        rows.append(Row(label=system, kind="reported", cells=row_cells, system=system))
        if system in layout.systems:
            names = {layout.embedder_for(system, t) for c in layout.columns for t in c.our_tasks}
            covered |= {n for n in names if n}
            rows.append(our_row(" / ".join(sorted(n for n in names if n)), system,
                                lambda task, s=system: layout.embedder_for(s, task)))
    task_set = {t for c in layout.columns for t in c.our_tasks}
    for emb in sorted({e for (t, e, _) in cells if t in task_set} - covered):
        rows.append(our_row(emb, None, lambda task, e=emb: e))
    notes += [f"Runs on another clip set of a task ({label}) are not in this table; see 'bench table'."
              for label in other_sets if label.split(" ")[0] in task_set]
    if left_out:
        notes.append(left_out_note(left_out))
    table = Table(key=layout.key, title=layout.title, columns=columns, rows=rows, notes=notes)
    emphasise(table)
    _skip_notes(table)
    return table
