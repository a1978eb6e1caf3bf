"""Build a spec's embedder from the registries, its options, weights and cache folder."""
from __future__ import annotations

import numpy as np
from typing import Any

from benchmark.core import config
from benchmark.core.registry import Registries
from benchmark.core.spec import RunEnv, RunSpec
from .store import store_dtype


def create_embedder(spec: RunSpec, registries: Registries, env: RunEnv = RunEnv()) -> Any:
    """The spec's embedder, not yet loaded (``ensure_loaded`` loads it on first use)."""
    return build_embedder(registries, spec.embedder, spec.weights, env.device, spec.embedder_options, env.cache_dir)


def build_embedder(registries: Registries, name: str, weights: str | None, device: str | None,
                   options: dict[str, Any], cache_dir: str | None) -> Any:
    """The named embedder with its options. ``store_dtype`` is the cache's, not the model's: it is
    set after construction, so that a plugin whose ``__init__`` takes no ``**options`` accepts it too."""
    options = dict(options)
    dtype = store_dtype(options.pop("store_dtype", None))
    # device None: the base class resolves it when first read (no torch import for a rerun that finds its records)
    embedder = registries.embedders.create(name, weights=weights, device=device, **options)
    try:  # what it was built with, for the cache key of a plugin whose config() leaves them out (identity.cache_config)
        embedder.constructor_options = dict(sorted(options.items()))
    except (AttributeError, TypeError):
        pass
    if dtype != np.float32:  # in the options, so in config() and the cache key
        embedder.options = {**getattr(embedder, "options", {}), "store_dtype": dtype.name}
    embedder.cache_dir = str(config.cache_dir(cache_dir))  # weights are looked up (and kept) there
    return embedder
