"""The local executor: each cell's phases in this process, one cell after another."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

from ..locks import run_lock
from ..registry import Registries
from ..runner import Cell, create_embedder, extract_cell, finish, prepare, probe_cell
from ..spec import RunSpec
from . import pinned_threads, resolve_threads

Echo = Callable[[str], None]


def embedder_key(spec: RunSpec) -> tuple:
    """Specs with equal keys share one embedder instance (one model load per grid)."""
    return (spec.embedder, spec.options, spec.weights, spec.device)


class Embedders:
    """The grid's embedder instances, created on first use and reused by later cells."""

    def __init__(self, registries: Registries) -> None:
        self.registries = registries
        self._instances: dict[tuple, Any] = {}

    def get(self, spec: RunSpec) -> Any:
        key = embedder_key(spec)
        if key not in self._instances:
            self._instances[key] = create_embedder(spec, self.registries)
        return self._instances[key]


def locked(cell: Cell, echo: Echo) -> contextlib.AbstractContextManager:
    """The run lock of a cell (an identical run elsewhere waits); on entry the cell holds the
    newest record, which that other run may have advanced or completed meanwhile."""
    @contextlib.contextmanager
    def hold() -> Iterator[None]:
        with run_lock(cell.results.root, cell.record["run_key"], echo):
            latest = cell.results.find(cell.record["run_key"])
            if latest is not None and len(latest["scores"]) >= len(cell.record["scores"]):
                cell.record = latest
            yield
    return hold()


def run_cell(spec: RunSpec, registries: Registries, embedders: Embedders, progress: bool, echo: Echo) -> tuple[str, dict]:
    """One cell in this process, as ``runner.run`` does it: ("done" | "already done", its RunRecord)."""
    cell = prepare(spec, registries, echo, embedders.get(spec))
    if cell.complete:
        return "already done", cell.record
    with locked(cell, echo):
        if cell.complete:
            echo(f"Already complete: {cell.results.path_for(cell.record)}")
            return "already done", cell.record
        extract_cell(cell, progress, echo)
        probe_cell(cell, progress, echo)
        return "done", finish(cell, echo)


def run(specs: Sequence[RunSpec], registries: Registries, progress: bool, echo: Echo, threads: int | None,
        on_cell: Callable[[RunSpec, Callable[[], tuple[str, dict]]], None]) -> None:
    """Run every spec; ``on_cell(spec, work)`` calls ``work`` and records its outcome or failure."""
    embedders = Embedders(registries)
    with pinned_threads(resolve_threads(threads)):
        for spec in specs:
            on_cell(spec, lambda spec=spec: run_cell(spec, registries, embedders, progress, echo))
