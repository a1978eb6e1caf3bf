"""``bench reproduce PAPER``: the cells of a paper's table(s) as a grid, and what each one needs.

The cells come from the table layouts and published numbers that ``bench table --paper`` uses
(:meth:`benchmark.records.reference.PaperTable.our_cells`), so a paper's cells are listed once.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.core import config
from benchmark.core.errors import BenchError
from benchmark.core.registry import Registries
from benchmark.records.reference import paper_tables
from benchmark.core.spec import RunEnv, RunSpec

PAPER_NAMES = ("coala", "contextual", "mulap")


@dataclass(frozen=True)
class PaperCell:
    table: str  # table key (coala, contextual, mulap-1, ...)
    system: str  # the paper's name of the system
    embedder: str
    task: str
    protocol: str


def paper_cells(paper: str) -> list[PaperCell]:
    """Every cell of the paper's table(s) that a bench run fills, in table and row order."""
    cells: list[PaperCell] = []
    for layout in paper_tables(paper):
        for system, embedder, task in layout.our_cells():
            cell = PaperCell(layout.key, system, embedder, task, layout.protocol)
            if all((c.embedder, c.task, c.protocol) != (embedder, task, layout.protocol) for c in cells):
                cells.append(cell)
    return cells


def paper_specs(paper: str, weights: str | None = None, **common: Any) -> list[RunSpec]:
    """The grid of a paper: one spec per cell, with its table's protocol; ``weights`` (see
    :func:`weights_for`) only in the cells of the embedder it is for."""
    chosen = weights_for(paper, weights)
    return [RunSpec(c.embedder, c.task, protocol=c.protocol, weights=chosen.get(c.embedder), **common)
            for c in paper_cells(paper)]


def weights_for(paper: str, weights: str | None) -> dict[str, str]:
    """Embedder -> the checkpoint ``--weights`` gives it. A checkpoint fits one model, so in a
    paper of several embedders it must say which (``--weights EMBEDDER=PATH``); the other cells
    keep their published weights. A bare path is taken only by a paper of one embedder."""
    if not weights:
        return {}
    embedders = list(dict.fromkeys(c.embedder for c in paper_cells(paper)))
    name, sep, path = weights.partition("=")
    if sep and name in embedders and path:
        return {name: path}
    if len(embedders) == 1:
        return {embedders[0]: weights}
    example = next((e for e in embedders if e != "mfcc"), embedders[0])
    given = path if sep and path else weights
    what = f"'{name}' is not one of them" if sep and name not in embedders else "say which one it is for"
    raise BenchError(f"bench reproduce {paper} runs {len(embedders)} embedders ({', '.join(embedders)}) and a "
                     f"checkpoint fits one: --weights {weights}: {what}, as --weights EMBEDDER=PATH (e.g. --weights "
                     f"{example}={given}). The other cells keep their published weights.")


@dataclass
class Need:
    """One thing a cell needs (its data, its embedder's weights): present, or missing and the fix."""

    what: str
    ok: bool
    detail: str


def _data_need(registries: Registries, task_name: str, env: RunEnv) -> Need:
    try:
        task = registries.tasks.create(task_name)
        cache = config.cache_dir(env.cache_dir)
        root = task.root(config.data_home(env.data_home), cache)
        report = task.check(root, cache)
    except BenchError as exc:
        return Need("data", False, str(exc).replace("\n", " "))
    if report.ok:
        return Need("data", True, f"{len(report.found)} clips at {root}")
    if report.problems:
        why = report.problems[0].replace("\n", " ")
    elif report.missing:
        why = f"{len(report.missing)} of {report.n_expected} clips missing under {root}"
    else:
        missing_files = [name for name, where in report.protocol_files.items() if not where]
        why = (f"protocol file(s) {', '.join(missing_files)} missing" if missing_files
               else f"split sizes differ from the official ones: {', '.join(report.wrong_splits)}")
    why = why.rstrip(". ")
    fix = "" if "bench data download" in why else f" Fix: bench data download {task_name}."
    return Need("data", False, f"{why}.{fix} Details: bench data check {task_name}")


def _weights_need(registries: Registries, spec: RunSpec, env: RunEnv) -> Need:
    """Resolving the embedder's config finds its weights (it hashes them); offline, so nothing
    is downloaded: a missing file raises the error that says where to get it and put it."""
    from benchmark.embed.build import create_embedder

    try:
        embedder = create_embedder(spec, registries, env)
        embedder_config = embedder.config()
    except BenchError as exc:
        return Need("weights", False, str(exc).replace("\n", " "))
    hashes = {k: v for k, v in embedder_config.items() if k.endswith("sha256") and v}
    detail = ", ".join(f"{k} {str(v)[:12]}…" for k, v in hashes.items()) or "none needed"
    return Need("weights", True, detail)


def dry_run(paper: str, registries: Registries, env: RunEnv = RunEnv(), **common: Any) -> str:
    """Each cell of the paper with what is present and what is missing; downloads and runs nothing."""
    from benchmark.records.query import index, load_records

    specs = paper_specs(paper, **common)
    cells = paper_cells(paper)
    results = config.results_dir(env.results_dir)
    done = index(load_records(results)) if Path(results).is_dir() else {}
    data: dict[str, Need] = {}
    weights: dict[str, Need] = {}
    rows = []
    with config.offline():
        for cell, spec in zip(cells, specs):
            if cell.task not in data:
                data[cell.task] = _data_need(registries, cell.task, env)
            if cell.embedder not in weights:
                weights[cell.embedder] = _weights_need(registries, spec, env)
            record = done.get((cell.task, cell.embedder, cell.protocol))
            state = ("done" if record and record.get("status") == "complete"
                     else "unfinished" if record else "to run")
            missing = ([f"data of {cell.task}"] if not data[cell.task].ok else []) + \
                      ([f"weights of {cell.embedder}"] if not weights[cell.embedder].ok else [])
            rows.append([cell.table, cell.system, cell.embedder, cell.task, cell.protocol, state,
                         "MISSING " + ", ".join(missing) if missing else "ready"])
    from tabulate import tabulate

    lines = [f"bench reproduce {paper}: {len(cells)} cells (dry run: nothing is run or downloaded)", "",
             tabulate(rows, headers=["table", "system", "embedder", "task", "protocol", "run", "needs"]), ""]
    for kind, needs in (("data", data), ("weights", weights)):
        for name, need in needs.items():
            lines.append(f"{kind} of {name}: {'present' if need.ok else 'MISSING'}: {need.detail}")
    n_ready = sum(row[-1] == "ready" for row in rows)
    lines += ["", f"{n_ready} of {len(cells)} cells ready. Run them: bench reproduce {paper}"]
    return "\n".join(lines)
