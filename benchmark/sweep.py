"""``bench run --layers all|A-B|A,B,C``: one extraction, then one probe run (one RunRecord) per layer."""
from __future__ import annotations

from typing import Any, Callable

from . import layers
from .errors import BenchError
from .registry import Registries
from .runner import create_embedder, run
from .spec import RunSpec


def sweep(spec: RunSpec, layer_set: str, registries: Registries, progress: bool = False,
          echo: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """The records of ``spec`` probed at each layer of ``layer_set``, in layer order. The first run
    extracts every layer into the cache; the others read it (one model, loaded once)."""
    if spec.layer is not None:
        raise BenchError("Give either --layer N (one layer) or --layers all|A-B|A,B,C (a sweep), not both.")
    embedder = create_embedder(spec, registries)
    wider = layers.storing(spec, layer_set, embedder)
    if wider is not spec:  # the embedder stores its embedding alone unless asked for its layers
        spec, embedder = wider, create_embedder(wider, registries)
    records = []
    for one in layers.expand(spec, layer_set, embedder):
        echo(f"Layer {one.layer}:")
        records.append(run(one, registries, progress, echo, embedder=embedder))
    return records
