"""One run path: every way of starting runs comes through here.

``bench run`` (one cell, a grid, ``--layers``, ``--train-fraction``/``--train-per-class``,
``--deform``) and ``bench reproduce`` build their RunSpecs with :func:`plan` and run them with
:func:`launch`, which hands the whole list to the executor of the RunEnv
(:func:`benchmark.run.grid.run_grid`). So every option applies to every cell the same way: a layer
sweep is a grid of one spec per layer (x fraction x deformation), run by any executor, and the
embedder's layers are extracted once because the layers of a sweep share one cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from benchmark.core.errors import BenchError
from benchmark.core.registry import Registries
from benchmark.core.spec import RunEnv, RunSpec

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def layer_specs(spec: RunSpec, layer_set: str, registries: Registries, env: RunEnv) -> list[RunSpec]:
    """``--layers all|A-B|A,B,C``: one spec per layer, with ``--option layers=all`` added where the
    embedder stores fewer layers by default (COALA), so that one extraction serves every layer."""
    from benchmark.embed import layers
    from benchmark.embed.build import create_embedder

    if spec.layer is not None:
        raise BenchError("Give either --layer N (one layer) or --layers all|A-B|A,B,C (a sweep), not both.")
    embedder = create_embedder(spec, registries, env)
    wider = layers.storing(spec, layer_set, embedder)
    if wider is not spec:  # the embedder stores its embedding alone unless asked for its layers
        embedder = create_embedder(wider, registries, env)
    return layers.expand(wider, layer_set, embedder)


def plan(specs: Iterable[RunSpec], registries: Registries, env: RunEnv = RunEnv(), layer_set: str | None = None,
         train_fraction: str | None = None, train_per_class: str | None = None,
         deforms: Sequence[str] = ()) -> list[RunSpec]:
    """Every cell to run: each spec expanded by layer, then by training-set size, then by deformation."""
    from benchmark.records import variants

    fractions = variants.parse_numbers(train_fraction, float, "--train-fraction")
    per_class = variants.parse_numbers(train_per_class, int, "--train-per-class")
    specs = list(specs)
    if layer_set is not None:
        specs = [one for spec in specs for one in layer_specs(spec, layer_set, registries, env)]
    return [one for spec in specs for one in variants.expand(spec, fractions, per_class, list(deforms))]


@dataclass
class Launched:
    """What a launch did: the outcomes in spec order (``benchmark.report.runs.launch_text`` says
    what came of them)."""

    outcomes: list[Any]
    failed: bool = False


def launch(specs: Sequence[RunSpec], registries: Registries, env: RunEnv = RunEnv(), progress: bool = False,
           echo: Echo = _quiet) -> Launched:
    """Run ``specs`` with the executor of ``env``."""
    from . import grid

    env.check()
    outcomes = grid.run_grid(specs, registries, env, progress=progress, echo=echo)
    return Launched(outcomes, failed=grid.failed(outcomes))
