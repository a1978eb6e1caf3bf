"""Leaderboard tables from the results store, beside the papers' published numbers.

Public entry points (the CLI calls these):

* :func:`render_table` — one table or a paper's tables as markdown, latex, csv, json or html;
* :func:`write_site` — the static HTML report (see :mod:`benchmark.report.site`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from benchmark.core.errors import BenchError
from benchmark.records.query import load_records
from benchmark.records.reference import PAPERS, load_published, paper_tables, published_path
from .table import Table, grid_table, paper_table
from .output import FORMATS, render_tables


__all__ = ["FORMATS", "PAPERS", "build_tables", "load_published", "load_records", "published_path",
           "render_fractions", "render_table", "render_tables", "write_site"]


def build_tables(
    results_dir: str | Path,
    tasks: Iterable[str] | None = None,
    embedders: Iterable[str] | None = None,
    paper: str | None = None,
    all_metrics: bool = False,
    layers: bool = False,
) -> list[Table]:
    """The table model(s): a paper's table(s) with ``paper``, the task x layer table of layer
    sweeps with ``layers``, else the task x embedder grid.

    With ``paper`` the layout is the paper's, so the task and embedder filters do not apply.
    """
    records = load_records(results_dir)
    if paper:
        published = load_published()
        return [paper_table(layout, records, published) for layout in paper_tables(paper)]
    tasks, embedders = list(tasks or []), list(embedders or [])
    if layers:
        from .layers import layer_table

        return [layer_table(records, tasks, embedders)]
    if not records and not (tasks or embedders):
        raise BenchError(
            f"No runs in {results_dir}. Run one first, e.g. `bench run --embedder mfcc --task demo`, "
            "or pass --paper coala|contextual|mulap to see the published numbers alone."
        )
    _check_filters(records, tasks, embedders, results_dir)
    table = grid_table(records, tasks, embedders, all_metrics=all_metrics)
    if not table.rows and table.left_out:
        raise BenchError(f"No plain runs to compare in {results_dir}: {table.notes[-1]} Or run the plain one, "
                         "e.g. the same `bench run` without --deform, --train-fraction/--train-per-class or --layer.")
    return [table]


def _check_filters(records: list, tasks: list[str], embedders: list[str], results_dir: str | Path) -> None:
    """A --task that no run has is an error naming the tasks that have runs (its column could show
    nothing, not even its metric); so are --embedder names of which none has a run (an empty
    table). One embedder without runs beside others is a "not run" row, as planned work."""
    import difflib

    from benchmark.records.query import embedder_name, embedder_wanted, task_name, task_wanted

    for option, wanted, known in (("--task", tasks, sorted({task_name(r) for r in records})),
                                  ("--embedder", embedders, sorted({embedder_name(r) for r in records}))):
        if option == "--task":  # a task's name, its label or (csv:PATH) its file
            unknown = [w for w in wanted if not any(task_wanted(r, [w]) for r in records)]
        else:
            unknown = [w for w in wanted if not any(embedder_wanted(r, [w]) for r in records)]
        if not unknown or (option == "--embedder" and len(unknown) < len(wanted)):
            continue
        close = {c for w in unknown for c in difflib.get_close_matches(w, known, n=2, cutoff=0.5)}
        hint = f" Did you mean: {', '.join(sorted(close))}?" if close else ""
        raise BenchError(
            f"No runs for {option} {', '.join(repr(u) for u in unknown)} in {results_dir}.{hint} "
            f"Runs found for: {', '.join(known) or 'none'}. Drop the option to see every run."
        )


def render_table(
    results_dir: str | Path,
    fmt: str = "markdown",
    tasks: Iterable[str] | None = None,
    embedders: Iterable[str] | None = None,
    paper: str | None = None,
    all_metrics: bool = False,
    layers: bool = False,
) -> str:
    """The table text in ``fmt`` (markdown, latex — a standalone document —, csv, json or html)."""
    if fmt.lower() not in FORMATS + ("md", "tex"):
        raise BenchError(f"Unknown table format '{fmt}'. Choose one of: {', '.join(FORMATS)}.")
    return render_tables(build_tables(results_dir, tasks, embedders, paper, all_metrics, layers), fmt)


def render_fractions(results_dir: str | Path, fmt: str = "markdown", tasks: Iterable[str] | None = None,
                     embedders: Iterable[str] | None = None) -> str:
    """``bench table --fractions``: score by training-set size, one table per task."""
    from .curves import fraction_tables

    tables = fraction_tables(load_records(results_dir), tasks, embedders)
    if not tables:
        raise BenchError(f"No label-efficiency runs in {results_dir}. Run some first, e.g. "
                         "`bench run --embedder mfcc --task demo --train-fraction 0.1,0.5,1`.")
    return render_tables(tables, fmt)


def write_site(results_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the static HTML report into ``out_dir``; returns the path of index.html."""
    from .site import write_site as _write_site

    return _write_site(results_dir, out_dir)
