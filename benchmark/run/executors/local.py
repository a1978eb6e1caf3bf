"""The local executor: each cell's phases in this process, one cell after another."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

from benchmark.core.locks import run_lock
from benchmark.core.registry import Registries
from benchmark.run.runner import Cell, extract_cell, finish, prepare, probe_cell
from benchmark.embed.build import create_embedder
from benchmark.core.spec import RunEnv, RunSpec
from . import pinned_threads, resolve_threads

Echo = Callable[[str], None]


def embedder_key(spec: RunSpec) -> tuple:
    """Specs with equal keys share one embedder instance (one model load per grid; the layers of
    a sweep are one key, so one extraction serves them all)."""
    return (spec.embedder, spec.options, spec.weights)


class Embedders:
    """The grid's embedder instances, created on first use and reused by later cells."""

    def __init__(self, registries: Registries, env: RunEnv = RunEnv()) -> None:
        self.registries, self.env = registries, env
        self._instances: dict[tuple, Any] = {}

    def get(self, spec: RunSpec) -> Any:
        key = embedder_key(spec)
        if key not in self._instances:
            self._instances[key] = create_embedder(spec, self.registries, self.env)
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


def run_cell(spec: RunSpec, registries: Registries, env: RunEnv, embedders: Embedders, progress: bool,
             echo: Echo) -> tuple[str, dict]:
    """One cell in this process: ("done" | "already done", its RunRecord). A cell found complete
    costs no thread set-up (and no import of torch)."""
    cell = prepare(spec, registries, echo, embedders.get(spec), env)
    if cell.complete:
        return "already done", cell.record
    threads = resolve_threads(env.threads)
    cell.env = env.replace(threads=threads)  # recorded as resolved
    with pinned_threads(threads), locked(cell, echo):
        if cell.complete:
            echo(f"Already complete: {cell.results.path_for(cell.record)}")
            return "already done", cell.record
        extract_cell(cell, progress, echo)
        probe_cell(cell, progress, echo)
        return "done", finish(cell, echo)


def run(specs: Sequence[RunSpec], registries: Registries, env: RunEnv, progress: bool, echo: Echo,
        on_cell: Callable[[RunSpec, Callable[[], tuple[str, dict]]], None]) -> None:
    """Run every spec; ``on_cell(spec, work)`` calls ``work`` and records its outcome or failure."""
    embedders = Embedders(registries, env)
    for spec in specs:
        on_cell(spec, lambda spec=spec: run_cell(spec, registries, env, embedders, progress, echo))
