"""Before extraction: what the training clips of each split can teach the probe.

* test labels never seen in training: the probe cannot predict them, so each of those test clips
  counts as an error (a CSV of numbers meant as values to predict scores 0% this way);
* ``--train-per-class N`` above a class's training clips: the class trains on all of its clips,
  so the run is not "N per class"; when no class has more than N clips in any split, the run is
  the full training set and is refused.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np

from benchmark.core.errors import BenchError


def training_ids(split: Any, protocol: Any | None) -> list[str]:
    """The clips a split's probe trains on: the validation clips too where they were carved from
    training and the protocol uses no validation set (as ``runner.probe_split`` does)."""
    uses_validation = bool(getattr(protocol, "uses_validation", False))
    extra = list(split.valid) if split.valid_from_train and not uses_validation else []
    return list(split.train) + extra


def _label_counts(task: Any, clips: Sequence[Any]) -> Counter:
    if task.kind == "multiclass":
        return Counter(str(c.target) for c in clips)
    return Counter(str(label) for c in clips for label in (c.target or ()))


def unseen_label_warnings(task: Any, splits: Sequence[Any], clips: Sequence[Any], protocol: Any | None = None) -> list[str]:
    """One warning per split whose test clips carry labels that no training clip has (classes only)."""
    if getattr(task, "kind", None) not in ("multiclass", "multilabel"):
        return []
    by_id = {c.id: c for c in clips}
    out = []
    for split in splits:
        seen = _label_counts(task, [by_id[i] for i in training_ids(split, protocol) if i in by_id])
        test = _label_counts(task, [by_id[i] for i in split.test if i in by_id])
        unseen = sorted((label for label in test if label not in seen), key=lambda label: (-test[label], label))
        if not unseen:
            continue
        shown = ", ".join(f"'{label}' ({test[label]} test clip{'s' if test[label] > 1 else ''})" for label in unseen[:8])
        more = f" and {len(unseen) - 8} more" if len(unseen) > 8 else ""
        hint = getattr(task, "numeric_label_hint", None)
        out.append(f"Warning: task '{task.name}', split {split.name}: {len(unseen)} test label(s) never seen in its "
                   f"training clips: {shown}{more}. The probe cannot predict them, so those clips count as errors."
                   + (f" {hint}" if hint else " Put clips of every label in the training folds."))
    return out


def per_class_warning(task: Any, splits: Sequence[Any], clips: Sequence[Any], protocol: Any) -> str | None:
    """``--train-per-class N``: None when every class has at least N training clips in every split;
    a warning naming the classes with fewer (they train on all theirs); an error when no class has
    more than N, as the run would be the full training set under the label N/class."""
    per_class = getattr(protocol, "train_per_class", None)
    if per_class is None or getattr(task, "kind", None) not in ("multiclass", "multilabel"):
        return None
    by_id = {c.id: c for c in clips}
    fewest: dict[str, int] = {}
    largest = 0
    for split in splits:
        counts = _label_counts(task, [by_id[i] for i in training_ids(split, protocol) if i in by_id])
        largest = max([largest, *counts.values()])
        for label, n in counts.items():
            fewest[label] = min(fewest.get(label, n), n)
    if largest and largest <= per_class:
        raise BenchError(f"--train-per-class {per_class}: no class of task '{task.name}' has more than {largest} "
                         f"training clips in any split, so every class would train on all of its clips: the run "
                         f"would be the full-data run, labelled {per_class}/class. Choose N below {largest} "
                         "(e.g. --train-per-class 1,5,10), or run without --train-per-class.")
    short = sorted((label for label, n in fewest.items() if n < per_class), key=lambda label: (fewest[label], label))
    if not short:
        return None
    shown = ", ".join(f"'{label}' ({fewest[label]})" for label in short[:8]) + (" ..." if len(short) > 8 else "")
    return (f"--train-per-class {per_class}: {len(short)} of {len(fewest)} classes have fewer training clips in "
            f"some split and train on all of them (fewest per split): {shown}. N/class is a cap for those.")


def numeric_labels(labels: Sequence[Any]) -> bool:
    """Whether every label reads as a number (``0.5``, ``3``, ``-2e3``)."""
    try:
        values = np.array([float(str(label).strip()) for label in labels])
    except ValueError:
        return False
    return bool(len(values)) and bool(np.isfinite(values).all())
