"""Label-efficiency subsets of a training set: ``--train-fraction F`` and ``--train-per-class N``.

For each (split, seed) the training clips get one seeded order (the generator is seeded by the
split's name and the probe seed, not by F or N), and a subset is a prefix of it, so subsets are
identical across reruns and nested: the 1% subset lies inside the 10% one.

* multiclass: one random order per class; F takes the first max(1, round(F·n_c)) clips of
  class c, N the first min(N, n_c): stratified, and every class present in training stays present;
* multilabel: a covering prefix first (labels from the rarest up, each not yet covered gets the
  first clip in the random order that carries it), then the other clips in the random order; F
  takes the first max(round(F·n), size of the covering prefix) clips, so every label present in
  training stays represented, and the rest is a random (in expectation proportional) sample; N
  walks the same order and keeps a clip while one of its labels has fewer than N clips;
* regression: a plain seeded random subset of max(1, round(F·n)) clips (N has no classes to
  count and is refused).

Validation and test sets are never touched.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .clips import Clip, Split
from benchmark.core.errors import BenchError
from benchmark.core.hashing import stable_hash


def _rng(split_name: str, seed: int) -> np.random.Generator:
    return np.random.default_rng(int(stable_hash(["train-subset", split_name, int(seed)], length=15), 16))


def _count(fraction: float, n: int) -> int:
    return int(np.floor(fraction * n + 0.5))


def subset(kind: str, ids: Sequence[str], targets: np.ndarray, split_name: str, seed: int,
           fraction: float | None = None, per_class: int | None = None) -> list[str]:
    """The ids of the (split, seed) subset, in the order of ``ids``. ``targets``: the task's encoded
    targets of ``ids`` (class indices, a 0/1 label matrix, or values)."""
    if (fraction is None) == (per_class is None):
        raise BenchError("Give exactly one of --train-fraction and --train-per-class.")
    if fraction is not None and not 0 < fraction <= 1:
        raise BenchError(f"--train-fraction must be in (0, 1], not {fraction}.")
    if per_class is not None and per_class < 1:
        raise BenchError(f"--train-per-class must be at least 1, not {per_class}.")
    order = sorted(range(len(ids)), key=lambda i: ids[i])  # the input's order does not matter
    rng = _rng(split_name, seed)
    keep: list[int]
    if kind == "multiclass":
        y = np.asarray(targets).astype(np.int64)
        keep = []
        for c in np.unique(y):
            members = [i for i in order if y[i] == c]
            members = [members[j] for j in rng.permutation(len(members))]
            n_c = len(members)
            keep += members[:max(1, _count(fraction, n_c)) if fraction is not None else min(per_class, n_c)]
    elif kind == "multilabel":
        keep = _multilabel(np.asarray(targets).reshape(len(ids), -1) > 0.5, order, rng, fraction, per_class)
    elif kind == "regression":
        if per_class is not None:
            raise BenchError("--train-per-class needs classes; a regression task has none. Use --train-fraction.")
        shuffled = [order[j] for j in rng.permutation(len(order))]
        keep = shuffled[:max(1, _count(fraction, len(order)))]
    else:
        raise BenchError(f"Unknown task kind '{kind}'; expected multiclass, multilabel or regression.")
    chosen = set(keep)
    return [ids[i] for i in range(len(ids)) if i in chosen]


def _multilabel(Y: np.ndarray, order: list[int], rng: np.random.Generator, fraction: float | None,
                per_class: int | None) -> list[int]:
    shuffled = [order[j] for j in rng.permutation(len(order))]
    counts = Y.sum(axis=0)
    covering: list[int] = []
    covered = np.zeros(Y.shape[1], dtype=bool)
    for label in sorted(np.flatnonzero(counts > 0), key=lambda j: (counts[j], j)):
        if covered[label]:
            continue
        first = next(i for i in shuffled if Y[i, label])
        covering.append(first)
        covered |= Y[first]
    taken = set(covering)
    sequence = covering + [i for i in shuffled if i not in taken]
    if fraction is not None:
        return sequence[:max(_count(fraction, len(sequence)), len(covering), 1)]
    have = np.zeros(Y.shape[1], dtype=np.int64)
    keep = []
    for i in sequence:
        if (have[Y[i]] < per_class).any():
            keep.append(i)
            have += Y[i]
    return keep


ProbeSplit = Callable[..., list[dict]]


def probe_on_subsets(probe_split: ProbeSplit, task: Any, protocol: Any, split: Split,
                     frames: Mapping[str, np.ndarray], clips: Mapping[str, Clip], seeds: list[int],
                     device: str) -> list[dict]:
    """``probe_split`` for a protocol with ``train_fraction`` / ``train_per_class``: each seed trains
    on its own subset of the training set (the one the protocol trains on, validation clips carved
    from training included when it uses no validation set); each score's ``extra`` gets the subset
    size ``n_train``, the full training set's ``n_train_full`` and their ratio ``fraction_used``
    (the fraction actually trained on, which the minimum of one clip per class can raise)."""
    base = dataclasses.replace(protocol, train_fraction=None, train_per_class=None)
    train, valid = list(split.train), list(split.valid)
    if not protocol.uses_validation and split.valid_from_train:
        train, valid = train + valid, []
    targets = task.encode_targets([clips[i] for i in train])
    scores: list[dict] = []
    for seed in seeds:
        ids = subset(task.kind, train, targets, split.name, seed, protocol.train_fraction, protocol.train_per_class)
        part = Split(split.name, tuple(ids), tuple(valid), split.test, valid_from_train=False)
        for entry in probe_split(task, base, part, frames, clips, [seed], device):
            # at small fractions one clip per class (label) makes the share larger than asked: record it
            entry.setdefault("extra", {}).update(n_train=len(ids), n_train_full=len(train),
                                                 fraction_used=len(ids) / len(train))
            scores.append(entry)
    return scores
