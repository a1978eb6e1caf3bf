"""Refuse splits that would score a probe on clips it was trained or validated on.

A split leaks when a test clip is also a training or validation clip: the same clip id, or the
same audio (one file at one offset and duration) under two ids. The probe would be scored on
data it has seen (a CSV with a single fold gives 0/18/18 train/valid/test, and the coala protocol
moves the validation fold, the test fold itself, into training: 100%). The check runs where the
splits reach the probe (``runner``), for every task, built-in or not, and in ``bench data check``.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

from .clips import Clip, Split
from benchmark.core.errors import BenchError

#: datasets with several clips from one recording are kept apart by their folds, not by this check
SOURCES_NOTE = ("Datasets with several clips cut from one source recording (UrbanSound8K's fsID, for "
                "instance) keep them apart through their official folds; this check refuses only the same "
                "clip (the same audio file at the same offset) in two places.")


class LeakError(BenchError):
    """A split whose test clips are among its training or validation clips."""


def source(clip: Clip | None, clip_id: str) -> tuple:
    """What a clip is made of: its audio file (normalised path), offset and duration; for tag
    clips and unknown ids, the id itself."""
    if clip is None or clip.path is None:
        return ("id", clip_id)
    return ("audio", os.path.normcase(os.path.abspath(os.fspath(clip.path))), float(clip.offset or 0.0),
            None if clip.duration is None else float(clip.duration))


def check_clips(task_name: str, clips: Sequence[Clip]) -> None:
    """Refuse a clip list with an id given twice: its scores and targets would be ambiguous."""
    seen: set[str] = set()
    twice = sorted({c.id for c in clips if c.id in seen or seen.add(c.id)})  # type: ignore[func-returns-value]
    if twice:
        shown = ", ".join(twice[:5]) + (f" (+{len(twice) - 5} more)" if len(twice) > 5 else "")
        raise LeakError(f"Task '{task_name}' lists {len(twice)} clip id(s) more than once: {shown}. Each clip "
                        f"must appear once, in one fold or split; remove the repeated entries. {SOURCES_NOTE}")


def check_split(task_name: str, split: Split, clips: Mapping[str, Clip] | None = None) -> None:
    """Refuse ``split`` when one of its test clips is also one of its training or validation clips
    (by id or by audio source; ``clips``: id -> Clip for at least the split's clips)."""
    clips = clips or {}
    test = {source(clips.get(i), i): i for i in split.test}
    seen_in = {"training": _sources(split.train, clips), "validation": _sources(split.valid, clips)}
    shared = {part: [test[s] for s in test if s in sources] for part, sources in seen_in.items()}
    leaked = sorted(set(shared["training"]) | set(shared["validation"]))
    if not leaked:
        return
    n_train, n_valid, n_test = split.sizes()
    where = " and ".join(f"{part} ({len(ids)})" for part, ids in shared.items() if ids)
    shown = ", ".join(leaked[:3]) + (f" (+{len(leaked) - 3} more)" if len(leaked) > 3 else "")
    single = n_test and set(split.valid) == set(split.test) and not split.train
    raise LeakError(
        f"Split '{split.name}' of task '{task_name}' (train/valid/test = {n_train}/{n_valid}/{n_test}) would test "
        f"the probe on clips it learns from: {len(leaked)} of its {len(set(split.test))} test clips are also "
        f"used for {where} (e.g. {shown}); protocols that train on the validation clips (coala) would score 100% on them. "
        "Nothing was trained. Put each clip in one fold or split only"
        + (" (this task has a single fold: a k-fold task needs at least two folds, better three)" if single else "")
        + f". {SOURCES_NOTE}"
    )


def check_splits(task_name: str, splits: Iterable[Split], clips: Sequence[Clip]) -> None:
    """``check_clips`` and ``check_split`` for every split of a task."""
    check_clips(task_name, clips)
    by_id = {c.id: c for c in clips}
    for split in splits:
        check_split(task_name, split, by_id)


def _sources(ids: Iterable[str], clips: Mapping[str, Any]) -> set:
    return {source(clips.get(i), i) for i in ids}
