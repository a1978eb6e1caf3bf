"""Executors: they take a grid (a list of RunSpecs) and run its cells' phases.

``local`` runs them in this process; ``ray`` runs the same chunks of extraction and the same
(cell, split) probes on a Ray cluster. Both call the phases of :mod:`benchmark.runner` and the
chunking of :mod:`benchmark.extract`; only the dispatch differs, so both give the same numbers.
"""
from __future__ import annotations

import importlib
from contextlib import contextmanager
from typing import Callable, Iterator

#: executor name -> the module whose ``run(specs, registries, env, progress, echo, recorder,
#: **options)`` runs a grid (imported when chosen: Ray only for the Ray executor)
EXECUTORS = {"local": "benchmark.executors.local", "ray": "benchmark.executors.ray"}


def executor(name: str) -> Callable[..., None]:
    """The ``run`` function of the executor ``name``."""
    if name not in EXECUTORS:
        from ..errors import BenchError

        raise BenchError(f"Unknown executor '{name}'. Choose one of: {', '.join(EXECUTORS)}.")
    return importlib.import_module(EXECUTORS[name]).run


def resolve_threads(threads: int | None) -> int:
    """The torch thread count a grid runs with: the one given, else torch's default here.
    Thread count changes float bits, so every process of a grid uses this one value."""
    import torch

    return int(threads) if threads else int(torch.get_num_threads())


@contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
