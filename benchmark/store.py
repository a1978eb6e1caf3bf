"""EmbeddingStore: a content-addressed, resumable, memory-mappable cache of embedder outputs.

Layout: ``<cache>/embeddings/<embedder_key>/`` holds ``embedder.json`` (the config it was keyed
on) and shards: ``<id>.npy`` (the frames of many clips, concatenated) and ``<id>.json`` (clip
key -> row range). The index file is written last, atomically, so a shard exists only once it
is complete: a killed extraction loses at most the clips not yet flushed.

``embedder_key`` hashes the embedder's config (weights' sha256 included) and the bench version;
a clip's key hashes its id and the audio file's identity (resolved path, size, mtime, offset,
duration) or, for tag clips, its tags.
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from . import __version__
from .errors import BenchError


def stable_hash(value: Any, length: int = 20) -> str:
    blob = json.dumps(value, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def embedder_key(embedder_config: dict) -> str:
    return stable_hash({"embedder": embedder_config, "bench": __version__})


def clip_key(clip: Any) -> str:
    """Key of a clip's content: its id plus the audio file's identity, or its tags."""
    if getattr(clip, "path", None) is not None:
        path = Path(clip.path)
        try:
            stat = path.stat()
            identity = [str(path.resolve()), stat.st_size, stat.st_mtime_ns]
        except OSError:
            identity = [str(path), None, None]
        identity += [clip.offset, clip.duration]
    else:
        identity = ["tags", list(clip.tags or ())]
    return stable_hash([clip.id, identity], length=24)


def _atomic_write_bytes(path: Path, writer) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class EmbeddingStore:
    """Frames of every clip an embedder has processed, on disk."""

    def __init__(self, cache_dir: Path, embedder_config: dict) -> None:
        self.key = embedder_key(embedder_config)
        self.root = Path(cache_dir) / "embeddings" / self.key
        self.root.mkdir(parents=True, exist_ok=True)
        meta = self.root / "embedder.json"
        if not meta.exists():
            _atomic_write_bytes(meta, lambda h: h.write(json.dumps(embedder_config, indent=1, default=str).encode()))
        self._index: dict[str, tuple[str, int, int]] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self.refresh()

    def refresh(self) -> None:
        """Re-read the shard indices (another process may have added shards)."""
        for index_file in sorted(self.root.glob("shard-*.json")):
            shard = index_file.stem
            try:
                entries = json.loads(index_file.read_text())["clips"]
            except (OSError, ValueError, KeyError):
                continue  # a torn index is impossible with atomic writes; skip anything foreign
            for key, (start, stop) in entries.items():
                self._index[key] = (shard, start, stop)

    def __len__(self) -> int:
        return len(self._index)

    def has(self, clip: Any) -> bool:
        return clip_key(clip) in self._index

    def missing(self, clips: Iterable[Any]) -> list[Any]:
        return [c for c in clips if clip_key(c) not in self._index]

    def get(self, clip: Any) -> np.ndarray:
        """The (n_frames, dim) float32 frames of a clip (a read-only memory-mapped view)."""
        try:
            shard, start, stop = self._index[clip_key(clip)]
        except KeyError:
            raise BenchError(f"Clip {clip.id} has no cached embedding in {self.root}; run the extraction first.") from None
        array = self._arrays.get(shard)
        if array is None:
            array = self._arrays[shard] = np.load(self.root / f"{shard}.npy", mmap_mode="r")
        return array[start:stop]

    def get_many(self, clips: Sequence[Any]) -> list[np.ndarray]:
        return [np.asarray(self.get(c)) for c in clips]

    def put_many(self, items: Sequence[tuple[Any, np.ndarray]]) -> None:
        """Write one shard holding these clips' frames, atomically."""
        if not items:
            return
        shard = f"shard-{uuid.uuid4().hex[:16]}"
        frames = np.concatenate([np.asarray(f, dtype=np.float32) for _, f in items], axis=0)
        entries, start = {}, 0
        for clip, f in items:
            entries[clip_key(clip)] = (start, start + len(f))
            start += len(f)
        _atomic_write_bytes(self.root / f"{shard}.npy", lambda h: np.save(h, frames))
        index = {"clips": entries, "ids": [c.id for c, _ in items]}
        _atomic_write_bytes(self.root / f"{shard}.json", lambda h: h.write(json.dumps(index).encode()))
        for key, (s, e) in entries.items():
            self._index[key] = (shard, s, e)
