"""Whether a task's targets can be scored by its metrics, checked before any work."""
from __future__ import annotations

from typing import Any

from benchmark.core.errors import BenchError


#: metrics that need, per label, a positive and a negative test clip
_PER_LABEL = ("roc_auc", "pr_auc")


def check_scorable(task: Any, clips: Any) -> list[str]:
    """Before extraction: every split's test set must let the per-label metrics (ROC-AUC, PR-AUC)
    score at least one label; otherwise they are NaN for every seed ("nan ± nan"). Raises on a
    split with no scorable label; returns warnings for splits where some labels are left out."""
    import numpy as np

    from .metrics import _indicator

    names = [m for m in getattr(task, "metrics", ()) if m in _PER_LABEL]
    if not names or getattr(task, "kind", None) not in ("multilabel", "multiclass"):
        return []
    labels = list(task.labels)
    by_id = {c.id: c for c in clips}
    warnings = []
    for split in task.splits(clips):
        test = [by_id[i] for i in split.test if i in by_id]
        if not test:
            continue  # an empty test set is refused where splits reach the probe
        truth = _indicator(task.kind, task.encode_targets(test), len(labels))
        positives = truth.sum(axis=0)
        usable = (positives > 0) & (positives < len(test))
        left_out = [labels[j] for j in np.flatnonzero(~usable)]
        shown = ", ".join(left_out[:8]) + (", ..." if len(left_out) > 8 else "")
        if not usable.any():
            raise BenchError(
                f"Task '{task.name}', split {split.name}: none of its {len(labels)} labels can be scored on its "
                f"{len(test)} test clips: each label is on every test clip or on none, so {' and '.join(names)} "
                "(which need a clip with and a clip without each label) would be undefined (NaN). Put test clips "
                "with and without the labels in the test fold or split, then run again."
            )
        if left_out:
            warnings.append(
                f"Warning: split {split.name}: {len(left_out)} of {len(labels)} labels ({shown}) have no positive or "
                f"no negative test clip; {' and '.join(names)} average the other {int(usable.sum())}."
            )
    return warnings
