"""What a run's numbers were computed on: the identity of its data and of its task.

* ``data_hash``: a hash of the embedding store's clip keys (clip id plus the audio file's resolved
  path, size and modification time, offset and duration; or the tags). It is part of the run key,
  so a run on audio that changed since (overwritten files, a repaired clip that was skipped) is a
  new run, not "Already complete" with the old numbers.
* ``task_identity``: which clip set a record's task stands for (kind, clip ids and targets, and
  where a user's dataset lives). Tables and comparisons group records by it, never by the task's
  name alone: two CSV files named ``data.csv`` in two folders are both ``csv:data``.
"""
from __future__ import annotations

from typing import Any, Iterable

from .store import clip_key, stable_hash


def data_hash(clips: Iterable[Any]) -> str:
    """Hash of the content identity of ``clips``, in order (the keys the embedding cache uses)."""
    return stable_hash([clip_key(c) for c in clips], length=16)
