"""How a Ray probe task gets its cell's frames.

With a shared cache folder (the default: every node sees the same path) a probe task receives
only *where* the frames are (:class:`CachedFrames`: the cache folder, the embedder's config, the
layer view and each clip's cache key) and memory-maps the shards itself, reading rows as the
probe streams them (``benchmark.probe.rows``): nothing of the size of the data goes through the object
store, and a worker's memory is bounded as a local probe's is. Without a shared cache
(``--no-shared-cache``) the driver puts the cell's frames into the object store once, as one
object every node holding a probe task receives; a cell larger than the smallest node's object
store is refused with what to do instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from benchmark.core.errors import BenchError
from benchmark.embed.store import EmbeddingStore, clip_key


@dataclass(frozen=True)
class CachedFrames:
    """A cell's frames as a worker finds them in the shared cache."""

    cache_dir: str
    embedder_config: dict
    keys: dict  # clip id -> cache key (computed by the driver, which has the audio files)
    view: Any = None  # the run's LayerView (benchmark.embed.layers), or None: the frames as stored

    @classmethod
    def of(cls, cell: Any) -> "CachedFrames":
        from benchmark.embed.cache_key import cache_config

        store = getattr(cell.store, "_store", cell.store)  # a LayerStore wraps the EmbeddingStore
        # the store's own key (a plugin's config completed by cache_config), so the worker opens the same folder
        return cls(str(store.root.parent.parent), cache_config(cell.embedder), {c.id: clip_key(c) for c in cell.clips},
                   getattr(cell.store, "view", None))

    def load(self, clips: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """clip id -> frames (read-only memory-mapped views) for every clip of ``clips``."""
        store = EmbeddingStore(Path(self.cache_dir), self.embedder_config)
        if any(key not in store._index for key in self.keys.values()):
            raise BenchError(f"This Ray worker does not find the cell's embeddings in {store.root}: a cluster needs a "
                             "cache folder shared by every node at the same path (--cache-dir on a shared file system),"
                             " or run with --no-shared-cache.")
        frames = {i: store.get_key(self.keys[i], clips[i]) for i in clips}
        if self.view is not None:
            frames = {i: self.view.apply(f) for i, f in frames.items()}
        return frames


def cell_frames(ray: Any, cell: Any, shared_cache: bool) -> Any:
    """What a probe task of ``cell`` receives as its frames: a :class:`CachedFrames` with a shared
    cache; else the frames themselves, refused when larger than a node's object store."""
    if shared_cache:
        return CachedFrames.of(cell)
    frames = dict(zip((c.id for c in cell.clips), cell.store.get_many(cell.clips)))
    size = sum(f.nbytes for f in frames.values())
    capacity = min((n["Resources"].get("object_store_memory", float("inf")) for n in ray.nodes() if n["Alive"]),
                   default=float("inf"))
    if size > capacity:
        raise BenchError(f"The embeddings of {cell.spec.label()} take {size / 1e9:.2f} GB, more than a node's Ray "
                         f"object store ({capacity / 1e9:.2f} GB), which --no-shared-cache sends them through. Give "
                         "every node the same cache folder (--cache-dir on a shared file system) and drop "
                         "--no-shared-cache, or start the nodes with a larger --object-store-memory.")
    return frames
