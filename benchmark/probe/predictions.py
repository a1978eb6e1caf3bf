"""Per-clip test predictions of a run, beside its RunRecord: what the bootstrap over test clips needs.

``<record>.predictions.npz`` (numpy's zip of arrays, float16 scores) holds per split:
``<split>/ids`` (test clip ids, in the order of the rows), ``<split>/truth`` (the encoded
targets), ``<split>/seeds`` and ``<split>/scores`` (seeds x clips x outputs). Written with the
split's scores (``runner.record_split``), so a resumed run has the predictions of every split its
record holds; a split's seeds done later are appended. Only one-split tasks store them: k-fold
tasks are compared over their folds. Older records have no such file: their comparisons say so.
"""
from __future__ import annotations

import os
import uuid
import zipfile
from pathlib import Path
from functools import lru_cache
from typing import Any

import numpy as np

SUFFIX = ".predictions.npz"
#: the private key under which ``probe_split`` hands a score's test predictions to ``record_split``
KEY = "_test_predictions"


def path_beside(record_path: Path) -> Path:
    return Path(record_path).with_suffix(SUFFIX)


def entry(ids: list[str], truth: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """One seed's test predictions, as a score entry carries them (float16 unless out of range)."""
    scores = np.asarray(scores, dtype=np.float32)
    scores = scores[:, None] if scores.ndim == 1 else scores
    fits = scores.size == 0 or float(np.abs(scores).max()) < float(np.finfo(np.float16).max)
    return {"ids": list(ids), "truth": np.asarray(truth),
            "scores": scores.astype(np.float16) if fits else scores}  # r2 targets may exceed float16


def _load(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return {}


def save_split(path: Path, split: str, seeds: list[int], entries: list[dict[str, Any]]) -> None:
    """Add one split's seeds to the file (atomically: a temporary file renamed over it)."""
    arrays = _load(path) if path.exists() else {}
    old_seeds = list(arrays.get(f"{split}/seeds", np.zeros(0, int)))
    keep = [i for i, s in enumerate(old_seeds) if s not in set(seeds)]
    new = np.stack([e["scores"] for e in entries])
    if keep:
        old = arrays[f"{split}/scores"][keep]
        new = np.concatenate([old.astype(np.result_type(old, new)), new.astype(np.result_type(old, new))])
    arrays[f"{split}/scores"] = new
    arrays[f"{split}/seeds"] = np.array([old_seeds[i] for i in keep] + list(seeds), dtype=np.int64)
    arrays[f"{split}/ids"] = np.array(entries[0]["ids"], dtype=str)
    arrays[f"{split}/truth"] = entries[0]["truth"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp.npz")
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """split -> {"ids", "truth", "seeds", "scores"}; {} when there is no (readable) file."""
    arrays = _load(path) if path.exists() else {}
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, value in arrays.items():
        split, _, field = name.rpartition("/")
        out.setdefault(split, {})[field] = value
    return {s: v for s, v in out.items() if {"ids", "truth", "seeds", "scores"} <= set(v)}


def of_record(record: dict) -> dict[str, dict[str, np.ndarray]]:
    """A record's predictions: held in memory (``_predictions``, simulations), else the file beside
    the record it was read from or saved to (``_path``, set by the results store)."""
    if "_predictions" in record:
        return record["_predictions"]
    source = record.get("_path")
    if not source:
        return {}
    path = path_beside(Path(source))
    try:
        stamp = path.stat()
    except OSError:
        return {}
    return _cached(str(path), stamp.st_mtime_ns, stamp.st_size)


@lru_cache(maxsize=4)
def _cached(path: str, _mtime_ns: int, _size: int) -> dict[str, dict[str, np.ndarray]]:
    return load(Path(path))  # a table compares the column's best with every row: read it once
