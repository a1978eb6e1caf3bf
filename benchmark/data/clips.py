"""The values a task hands to the engine: clips (one example each) and splits (official folds)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable


@dataclass(frozen=True)
class Clip:
    """One example. ``target``: a label (multiclass), a tuple of labels (multilabel) or a tuple
    of floats (regression). Audio tasks give ``path`` (and optionally offset/duration in
    seconds); tag tasks give ``tags`` instead."""

    id: str
    target: Any
    path: Path | None = None
    offset: float = 0.0
    duration: float | None = None
    tags: tuple[str, ...] | None = None
    group: str | None = None  # fold or official split name


@dataclass(frozen=True)
class Split:
    name: str
    train: tuple[str, ...]
    valid: tuple[str, ...]
    test: tuple[str, ...]
    #: the validation ids were carved out of training data (k-fold): give them back to
    #: training when the protocol uses no validation set
    valid_from_train: bool = False

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.valid), len(self.test)


def clip_list_hash(clips: Iterable[Clip]) -> str:
    """Hash of the ids and targets, to tell whether two runs saw the same data."""
    digest = hashlib.sha256()
    for clip in clips:
        digest.update(json.dumps([clip.id, clip.target], default=str).encode())
    return digest.hexdigest()[:16]
