"""EmbeddingStore: a content-addressed, resumable, memory-mappable cache of embedder outputs.

Layout: ``<cache>/embeddings/<embedder_key>/`` holds ``embedder.json`` (the config it was keyed
on), ``key.json`` (that config and the bench version: exactly what the key hashes) and shards:
``<id>.npy`` (the frames of many clips, concatenated) and ``<id>.json``, its index: clip key ->
row range, and the array's shape, dtype, file size and sha256. The index file is written last,
atomically, so a shard exists only once it is complete: a killed extraction loses at most the
clips not yet flushed.

A damaged shard (truncated, emptied, or with an unreadable index: a full disk, a crashed copy, a
bad sync) heals: its size is checked whenever the store is opened or refreshed, its checksum the
first time this process reads it (:meth:`EmbeddingStore.heal`, called before every extraction);
a damaged one is removed with a warning that names it, so its clips count as missing and are
extracted again.

Safe to share: any number of processes may read and extend one cache folder at the same time
(two runs, a scheduler's jobs, Ray workers on one machine or on a file system with working
``flock``). Shards get unique names, every file is written under a temporary name and renamed,
and the steps that change what others may read (writing a shard, removing a damaged one) hold
the folder's lock file ``.lock``.

``embedder_key`` hashes the embedder's config (weights' sha256 included) and the bench version;
a clip's key hashes its id and the audio file's identity (resolved path, size, mtime, offset,
duration) or, for tag clips, its tags.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from filelock import FileLock

from benchmark import __version__
from benchmark.core.errors import BenchError
from benchmark.data.fetch import sha256_of as file_sha256
from benchmark.core.locks import IN_USE, hold_shared
from benchmark.core.notices import warn
from benchmark.core.hashing import stable_hash


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
    except OSError as exc:  # a full disk, a folder turned read-only
        from benchmark.core.writable import CACHE, write_error

        raise write_error(path.parent.parent.parent, CACHE, exc,
                          kept="The clips stored before are kept in the cache.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def read_index(index_file: Path) -> dict:
    """A shard's index, checked for the fields every reader relies on; ValueError when unusable."""
    try:
        index = json.loads(index_file.read_text())
        entries = index["clips"]
        if not isinstance(entries, dict) or not all(
                isinstance(v, list) and len(v) == 2 and all(isinstance(i, int) for i in v) and 0 <= v[0] < v[1]
                for v in entries.values()):
            raise ValueError("bad clip entries")
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ValueError(f"its index {index_file.name} is unreadable ({type(exc).__name__})") from exc
    return index


def shard_problem(npy: Path, index: dict, checksum: bool) -> str | None:
    """Why the shard's array file does not match its index, or None. Size (cheap) always; the
    sha256 of its bytes with ``checksum``. Indices written before bench recorded size and
    checksum are checked by loading the array's header instead."""
    try:
        size = npy.stat().st_size
    except OSError:
        return "its array file is missing"
    if "bytes" in index:
        if size != index["bytes"]:
            return f"{size} bytes instead of {index['bytes']}"
        if checksum and file_sha256(npy) != index.get("sha256"):
            return "its checksum does not match"
        return None
    try:  # an index of an older bench: no size or checksum recorded
        array = np.load(npy, mmap_mode="r")
    except (OSError, ValueError, EOFError) as exc:
        return f"unreadable array ({exc})"
    rows = max((stop for _, stop in index["clips"].values()), default=0)
    return None if array.ndim == 2 and array.shape[0] >= rows else f"shape {array.shape} holds fewer than {rows} rows"


class EmbeddingStore:
    """Frames of every clip an embedder has processed, on disk. Safe to share between processes
    (see the module's docstring)."""

    def __init__(self, cache_dir: Path, embedder_config: dict) -> None:
        self.key = embedder_key(embedder_config)
        # --option store_dtype=float16 (part of the config, so of the key): half the disk, read as float32
        self.dtype = store_dtype(((embedder_config.get("options") or {}) if isinstance(embedder_config, dict)
                                  else {}).get("store_dtype"))
        self.root = Path(cache_dir) / "embeddings" / self.key
        self.root.mkdir(parents=True, exist_ok=True)
        for name, content in (("embedder.json", embedder_config),
                              ("key.json", {"embedder": embedder_config, "bench": __version__})):
            if not (self.root / name).exists():
                blob = json.dumps(content, indent=1, default=str).encode()
                _atomic_write_bytes(self.root / name, lambda h, blob=blob: h.write(blob))
        self._index: dict[str, tuple[str, int, int]] = {}
        self._shards: dict[str, dict] = {}  # shard -> its index, for the shards that passed the size check
        self._verified: set[str] = set()  # shards whose checksum matched in this process
        self._arrays: dict[str, np.ndarray] = {}
        self._lock = FileLock(str(self.root / ".lock"))
        self._in_use = hold_shared(self.root / IN_USE)  # released when this store is garbage-collected
        self.refresh()

    def lock(self) -> FileLock:
        """The folder's lock: held while a shard is written or a damaged one removed. One instance
        per store, so that it is reentrant (writing a shard may find and remove a damaged one)."""
        return self._lock

    def refresh(self) -> None:
        """Read the indices of shards added since (by this or another process), checking the size
        of each new shard; a damaged one is removed with a warning."""
        for index_file in sorted(self.root.glob("shard-*.json")):
            shard = index_file.stem
            if shard in self._shards:
                continue
            try:
                index = read_index(index_file)
                problem = shard_problem(index_file.with_suffix(".npy"), index, checksum=False)
            except FileNotFoundError:
                continue  # removed by another process meanwhile
            except ValueError as exc:
                index, problem = None, str(exc)
            if problem:
                self._remove(shard, problem, index)
                continue
            self._shards[shard] = index
            for key, (start, stop) in index["clips"].items():
                self._index[key] = (shard, start, stop)

    def heal(self, clips: Iterable[Any]) -> int:
        """Checksum the shards holding these clips (each once per process); remove the damaged
        ones, so that their clips count as missing. Returns how many were removed."""
        shards = {self._index[k][0] for k in map(clip_key, clips) if k in self._index}
        damaged = 0
        for shard in sorted(shards - self._verified):
            problem = shard_problem(self.root / f"{shard}.npy", self._shards[shard], checksum=True)
            if problem:
                self._remove(shard, problem, self._shards[shard])
                damaged += 1
            else:
                self._verified.add(shard)
        return damaged

    def _remove(self, shard: str, problem: str, index: dict | None) -> None:
        npy, index_file = self.root / f"{shard}.npy", self.root / f"{shard}.json"
        n = len(index["clips"]) if index else "its"
        warn(f"Embedding cache shard {npy} is damaged ({problem}); it is removed and {n} clips will be "
             "extracted again.")
        with self.lock():
            index_file.unlink(missing_ok=True)  # index first: a reader never sees an index without its array
            npy.unlink(missing_ok=True)
        self._shards.pop(shard, None)
        self._arrays.pop(shard, None)
        self._verified.discard(shard)
        for key in [k for k, (s, _, _) in self._index.items() if s == shard]:
            del self._index[key]

    def __len__(self) -> int:
        return len(self._index)

    def has(self, clip: Any) -> bool:
        return clip_key(clip) in self._index

    def missing(self, clips: Iterable[Any]) -> list[Any]:
        return [c for c in clips if clip_key(c) not in self._index]

    def get(self, clip: Any) -> np.ndarray:
        """The (n_frames, dim) float32 frames of a clip (a read-only memory-mapped view)."""
        return self.get_key(clip_key(clip), clip)

    def get_key(self, key: str, clip: Any) -> np.ndarray:
        """:meth:`get` by the clip's key (computed elsewhere: a worker without the audio files)."""
        try:
            shard, start, stop = self._index[key]
        except KeyError:
            raise BenchError(f"Clip {clip.id} has no cached embedding in {self.root}; run the extraction first.") from None
        array = self._arrays.get(shard)
        if array is None:
            if self.heal([clip]):  # damaged since extraction: the next run extracts it again
                raise BenchError(f"A cache shard of clip {clip.id} was damaged during this run and has been "
                                 "removed; run the same command again to extract its clips again.")
            array = self._arrays[shard] = np.load(self.root / f"{shard}.npy", mmap_mode="r")
        return array[start:stop] if array.dtype == np.float32 else array[start:stop].astype(np.float32)

    def get_many(self, clips: Sequence[Any]) -> list[np.ndarray]:
        return [np.asarray(self.get(c)) for c in clips]

    def put_many(self, items: Sequence[tuple[Any, np.ndarray]]) -> None:
        """Write one shard holding these clips' frames, atomically (clips another process stored
        meanwhile are left out)."""
        with self.lock():
            self.refresh()
            items = [(c, f) for c, f in items if clip_key(c) not in self._index]
            if not items:
                return
            shard = f"shard-{uuid.uuid4().hex[:16]}"
            arrays = [np.asarray(f) for _, f in items]
            if len({a.shape[1:] for a in arrays}) > 1:
                raise ValueError(f"frames of different widths in one shard: {sorted({a.shape[1:] for a in arrays})}")
            if self.dtype != np.float32:
                for a in arrays:
                    _check_float16(a, self.root)
            entries, start = {}, 0
            for clip, f in items:
                entries[clip_key(clip)] = [start, start + len(f)]
                start += len(f)
            shape = (start, *arrays[0].shape[1:])
            digest, size = hashlib.sha256(), [0]

            def write(handle: Any) -> None:
                # the bytes np.save writes for the concatenation, clip after clip: no copy of the chunk
                header = io.BytesIO()
                np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                                                              "fortran_order": False, "shape": shape})
                for blob in (header.getvalue(), *(a.astype(self.dtype, copy=False) for a in arrays)):
                    data = memoryview(np.ascontiguousarray(blob) if isinstance(blob, np.ndarray) else blob).cast("B")
                    digest.update(data)
                    handle.write(data)
                    size[0] += len(data)

            _atomic_write_bytes(self.root / f"{shard}.npy", write)
            index = {"clips": entries, "ids": [c.id for c, _ in items], "shape": list(shape),
                     "dtype": str(self.dtype), "bytes": size[0], "sha256": digest.hexdigest()}
            _atomic_write_bytes(self.root / f"{shard}.json", lambda h: h.write(json.dumps(index).encode()))
        self._shards[shard] = index
        self._verified.add(shard)
        for key, (s, e) in entries.items():
            self._index[key] = (shard, s, e)


def store_dtype(value: Any) -> np.dtype:
    """The cache dtype of ``--option store_dtype=…`` (None: float32); anything else is an error."""
    if value in (None, "float32"):
        return np.dtype(np.float32)
    if value == "float16":
        return np.dtype(np.float16)
    raise BenchError(f"--option store_dtype={value} is not a cache dtype; use float16 (half the disk) or float32 "
                     "(the default).")


def _check_float16(frames: np.ndarray, root: Path) -> None:
    """float16 holds at most 65504: a larger value would be cached as inf."""
    peak = float(np.abs(frames).max()) if frames.size else 0.0
    if peak > float(np.finfo(np.float16).max):
        raise BenchError(f"This embedder's frames reach {peak:.4g}, beyond float16's 65504, so they cannot be "
                         f"cached in float16 ({root}). Drop --option store_dtype=float16.")
