"""Helpers shared by the MLP probe and weighted layers: feature scaling, targets, head style, output columns."""
from __future__ import annotations

import numpy as np

from benchmark.core.errors import BenchError
from .protocols import Protocol


class _Scaler:
    """scikit-learn's StandardScaler fitted on training rows (population std, zero std → 1)."""

    def __init__(self, rows: np.ndarray | None) -> None:
        self.scaler = None
        if rows is not None:
            from sklearn.preprocessing import StandardScaler

            self.scaler = StandardScaler().fit(rows)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return rows if self.scaler is None else self.scaler.transform(rows).astype(np.float32)


# -- MLP ---------------------------------------------------------------------------------------
def _targets(protocol: Protocol, kind: str, y: np.ndarray, n_outputs: int) -> tuple[np.ndarray, str, np.ndarray | None]:
    """Training target matrix, output head and (multiclass) the class of each output column.

    The ``sklearn`` style follows MLPClassifier's LabelBinarizer: columns only for the classes seen
    in training, and a single logistic output when there are two of them."""
    if kind == "multilabel":
        return y.astype(np.float32).reshape(len(y), -1), "logistic", None
    if kind == "regression":
        return y.astype(np.float32).reshape(len(y), -1), "identity", None
    y = y.astype(np.int64)
    if _style(protocol) == "sklearn":
        classes = np.unique(y)
        if len(classes) == 1:
            raise BenchError(f"The training split has a single class ({classes[0]}); a classifier cannot be trained.")
        if len(classes) == 2:
            return (y == classes[1]).astype(np.float32)[:, None], "logistic", classes
        return (y[:, None] == classes[None, :]).astype(np.float32), "softmax", classes
    return np.eye(n_outputs, dtype=np.float32)[y], "softmax", np.arange(n_outputs)


def _style(protocol: Protocol) -> str:
    return "sklearn" if protocol.weight_decay_style == "sklearn_l2" else "torch"


def _columns(out: np.ndarray, head_kind: str, classes: np.ndarray | None, kind: str, n_outputs: int) -> np.ndarray:
    """Map the head's outputs to the task's columns (classes unseen in training get probability 0)."""
    out = out.astype(np.float64)
    if kind != "multiclass":
        return out
    if head_kind == "logistic":  # two classes seen: one logistic output, as MLPClassifier
        out = np.concatenate([1 - out, out], axis=1)
    full = np.zeros((len(out), n_outputs))
    full[:, classes] = out
    return full
