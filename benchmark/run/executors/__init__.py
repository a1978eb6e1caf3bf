"""Executors: they take a grid (a list of RunSpecs) and run its cells' phases.

``local`` runs them in this process; ``ray`` runs the same chunks of extraction and the same
(cell, split) probes on a Ray cluster. Both call the phases of :mod:`benchmark.run.runner` and the
chunking of :mod:`benchmark.embed.extract`; only the dispatch differs, so both give the same numbers.
"""
from __future__ import annotations

import importlib
import os
from contextlib import contextmanager
from typing import Callable, Iterator

#: executor name -> the module whose ``run(specs, registries, env, progress, echo, recorder,
#: **options)`` runs a grid (imported when chosen: Ray only for the Ray executor)
EXECUTORS = {"local": "benchmark.run.executors.local", "ray": "benchmark.run.executors.ray"}


def executor(name: str) -> Callable[..., None]:
    """The ``run`` function of the executor ``name``."""
    if name not in EXECUTORS:
        from benchmark.core.errors import BenchError

        raise BenchError(f"Unknown executor '{name}'. Choose one of: {', '.join(EXECUTORS)}.")
    return importlib.import_module(EXECUTORS[name]).run


#: what thread pools read when they start: libraries loaded after the pinning, child processes
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def resolve_threads(threads: int | None) -> int:
    """The thread count a grid runs with: the one given, else torch's default here.
    Thread count changes float bits, so every process of a grid uses this one value."""
    import torch

    return int(threads) if threads else int(torch.get_num_threads())


def pin_threads(threads: int) -> None:
    """Every thread pool the numbers depend on, ``threads`` threads, for the rest of this process
    (a Ray worker): torch's intra-op pool; the BLAS and OpenMP pools of the libraries loaded
    (numpy's and scipy's OpenBLAS, MKL, torch's OpenMP, through threadpoolctl); and the variables
    that pools read when they start later (a library imported afterwards, a decoding process).
    Ray starts its workers with OMP_NUM_THREADS=1, the machine's BLAS with every core: a BLAS
    product (MFCC's mel filterbank) cut into another number of pieces sums in another order."""
    import torch
    from threadpoolctl import threadpool_limits

    os.environ.update({name: str(int(threads)) for name in THREAD_VARIABLES})
    torch.set_num_threads(int(threads))
    threadpool_limits(limits=int(threads))


@contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """:func:`pin_threads` for the time of the block, then every pool and variable as it was.
    torch's inter-op pool is not pinned: it runs independent operations side by side (no sum is
    split across it), so it cannot change a number, and torch lets it be set only once."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    variables = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    try:
        with threadpool_limits(limits=None):  # restores the pools as they were on the way out
            pin_threads(threads)
            yield
    finally:
        torch.set_num_threads(before)
        for name, value in variables.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
