"""The kNN protocols: k nearest training clips vote, no training.

``knn`` (bench's own): features are the clips' mean-pooled embeddings, standardised with the
training statistics (scikit-learn's StandardScaler) and scaled to unit length, so a dot product
is the cosine similarity. Each test clip takes its ``k`` most similar training clips; neighbour i
weighs w_i = exp(s_i / T) (k=10, T=0.07). The vote follows X-ARES's, the features do not: this
is not X-ARES's kNN and gives other numbers (standardisation changes the neighbours). Outputs:

* multiclass: the class scores sum_i w_i·onehot(y_i) / sum_i w_i (a probability vector);
* multilabel: the same weighted average of the neighbours' 0/1 label vectors;
* regression: the weighted mean of the neighbours' targets.

``knn-xares`` is X-ARES's kNN exactly (jimbozhang/xares, src/xares/trainer.py, class ``KNN``),
multiclass only: mean-pooled clip features; the training matrix L2-normalised *per dimension*
across the training clips (each column divided by its norm over the training clips, as
``normalize(train.T, dim=1)``), each test clip L2-normalised (norms below 1e-12 count as 1e-12, as
torch's ``normalize``); similarity = test · train (not a cosine: the training rows are not unit
length); the top k (10) neighbours; weights softmax(similarity / T) (T = 0.07); class scores =
the weighted sum of the neighbours' one-hot labels. X-ARES leaves ties at the k-th place to
``torch.topk``; here they go to the lower training index (training order), as for ``knn``.
Multilabel and regression tasks are refused (X-ARES defines no vote for them), as is k above the
number of training clips (``torch.topk`` fails there).

Nothing is random, so every seed gives the same numbers: on the full training set the runner
runs one seed and says so in the record. Test clips are processed in blocks so that the similarity matrix held at once is at
most ``_BLOCK_ELEMENTS`` floats (64 MB), whatever the number of clips; only the training
features themselves are held whole. Ties at the k-th place go to the lower training index
(a stable order), so a block's answer does not depend on the block size.
"""
from __future__ import annotations

import numpy as np

from benchmark.core.errors import BenchError

_BLOCK_ELEMENTS = 1 << 24  # similarity entries per block of test clips


def features(train: np.ndarray, test: np.ndarray, standardize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Standardised (train statistics, population std, zero std → 1) unit-length float32 rows of
    both sets. The statistics are accumulated in float64, the rows stay float32 (as StandardScaler
    keeps float32 input)."""
    train = np.asarray(train, dtype=np.float32)
    test = np.asarray(test, dtype=np.float32)
    if standardize:
        mean, std = _mean_std(train)
        mean, scale = mean.astype(np.float32), (1.0 / std).astype(np.float32)
        train, test = (train - mean) * scale, (test - mean) * scale

    def unit(x: np.ndarray) -> np.ndarray:
        norm = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))[:, None]
        x *= (1.0 / np.where(norm > 0, norm, 1.0)).astype(np.float32)  # x is a fresh array here or above
        return x

    if not standardize:  # the inputs themselves must not be scaled in place
        train, test = train.copy(), test.copy()
    return unit(train), unit(test)


def _mean_std(x: np.ndarray, rows: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and population std (zero → 1), accumulated in float64, two passes over blocks
    of rows so that the temporaries stay small whatever the number of clips."""
    mean = x.mean(axis=0, dtype=np.float64)
    centre = mean.astype(np.float32)
    var = np.zeros(x.shape[1])
    for i in range(0, len(x), rows):
        d = x[i:i + rows] - centre
        var += np.einsum("ij,ij->j", d, d, dtype=np.float64)
    std = np.sqrt(var / max(len(x), 1))
    std[std == 0] = 1.0
    return mean, std


def neighbours(train: np.ndarray, test: np.ndarray, k: int, block: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, indices), both (n_test, k), most similar first, of the unit rows ``test`` among
    ``train``, computed ``block`` test rows at a time (default: as many as fit _BLOCK_ELEMENTS)."""
    import torch  # here, not at import: the protocols check k and T through this module

    n_train = len(train)
    if n_train == 0:
        raise BenchError("The training split is empty: the kNN protocol has no neighbours to vote. "
                         "Check the task's splits with 'bench data check'.")
    k = min(int(k), n_train)
    block = block or max(1, _BLOCK_ELEMENTS // n_train)
    train = np.asarray(train, dtype=np.float32)
    test = np.asarray(test, dtype=np.float32)
    sims = np.empty((len(test), k), dtype=np.float32)
    idx = np.empty((len(test), k), dtype=np.int64)
    extra = 1 if n_train > k else 0  # the (k+1)-th tells whether ties cross the cut
    for start in range(0, len(test), block):
        Q = test[start:start + block]
        # numpy's BLAS for the product (measured faster than torch's here), torch's topk for the
        # selection (an order of magnitude faster than np.argpartition)
        S = torch.from_numpy(Q @ train.T)
        top_s, top_i = torch.topk(S, k + extra, dim=1, sorted=True)
        if extra and bool((top_s[:, k] == top_s[:, k - 1]).any()):  # ties cross the cut: order those rows exactly
            rows = np.flatnonzero((top_s[:, k] == top_s[:, k - 1]).numpy())
            exact = np.lexsort((np.broadcast_to(np.arange(n_train), (len(rows), n_train)), -S.numpy()[rows]), axis=1)
            top_i[rows, :k] = torch.from_numpy(exact[:, :k].copy())
            top_s[rows, :k] = torch.gather(S[rows], 1, top_i[rows, :k])
        top_s, top_i = top_s[:, :k], top_i[:, :k]
        # among equal similarities the lower index first: the answer does not depend on the block
        key = torch.from_numpy(np.lexsort((top_i.numpy(), -top_s.numpy()), axis=1))
        sims[start:start + len(Q)] = torch.gather(top_s, 1, key).numpy()
        idx[start:start + len(Q)] = torch.gather(top_i, 1, key).numpy()
    return sims, idx


def check_parameters(k: object, temperature: object, protocol: str = "knn") -> None:
    """k a whole number >= 1 and T a finite number > 0, or an error that says so (never a silent default)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise BenchError(f"Protocol '{protocol}': k (the number of neighbours) must be a whole number >= 1, not {k!r}; "
                         "X-ARES uses k=10.")
    _check_temperature(temperature, protocol)


def _check_temperature(temperature: object, protocol: str = "knn") -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)) \
            or not np.isfinite(temperature) or temperature <= 0:
        raise BenchError(f"Protocol '{protocol}': the temperature T of the softmax(similarity / T) vote must be a "
                         f"finite number > 0, not {temperature!r}; X-ARES uses T=0.07.")


def check_task(protocol: str, probe: str, kind: str) -> None:
    """``knn-xares`` is defined for multiclass tasks only: refuse others before any extraction."""
    if probe == "knn-xares" and kind != "multiclass":
        raise BenchError(f"Protocol '{protocol}' is X-ARES's kNN, which votes with one-hot class labels and is defined "
                         f"for multiclass tasks only; this task is {kind}. Use --protocol knn (standardised cosine "
                         "kNN, any task kind) or --protocol coala.")


def vote(kind: str, sims: np.ndarray, idx: np.ndarray, y: np.ndarray, temperature: float,
         n_outputs: int) -> np.ndarray:
    """The weighted vote of the neighbours (module docstring), float64."""
    _check_temperature(temperature)
    s = sims.astype(np.float64) / temperature
    w = np.exp(s - s.max(axis=1, keepdims=True))  # the shift cancels in the normalisation
    w /= w.sum(axis=1, keepdims=True)
    if kind == "multiclass":
        labels = np.asarray(y).astype(np.int64)[idx]  # (n, k)
        out = np.zeros((len(idx), n_outputs))
        np.add.at(out, (np.repeat(np.arange(len(idx)), idx.shape[1]), labels.ravel()), w.ravel())
        return out
    if kind in ("multilabel", "regression"):
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        return np.einsum("nk,nkj->nj", w, Y[idx])
    raise BenchError(f"Unknown task kind '{kind}'; expected multiclass, multilabel or regression.")


def knn_predict(kind: str, X_train: np.ndarray, y: np.ndarray, X_test: np.ndarray, k: int = 10,
                temperature: float = 0.07, n_outputs: int | None = None, standardize: bool = True,
                block: int | None = None) -> np.ndarray:
    """Predictions of the kNN vote for the pooled test rows ``X_test`` (multiclass: probabilities)."""
    check_parameters(k, temperature)
    if n_outputs is None:
        n_outputs = int(np.max(y)) + 1 if kind == "multiclass" else np.asarray(y).reshape(len(y), -1).shape[1]
    train, test = features(X_train, X_test, standardize)
    sims, idx = neighbours(train, test, k, block)
    return vote(kind, sims, idx, y, temperature, n_outputs)


def xares_features(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X-ARES's normalisation (module docstring), float32: the training columns and the test rows
    divided by their L2 norms (at least 1e-12)."""
    train = np.asarray(train, dtype=np.float32)
    test = np.asarray(test, dtype=np.float32)
    columns = np.sqrt(np.einsum("ij,ij->j", train, train, dtype=np.float64))
    rows = np.sqrt(np.einsum("ij,ij->i", test, test, dtype=np.float64))[:, None]
    return (train / np.maximum(columns, 1e-12).astype(np.float32),
            test / np.maximum(rows, 1e-12).astype(np.float32))


def xares_predict(kind: str, X_train: np.ndarray, y: np.ndarray, X_test: np.ndarray, k: int = 10,
                  temperature: float = 0.07, n_outputs: int | None = None, block: int | None = None) -> np.ndarray:
    """X-ARES's kNN class scores for the pooled test rows ``X_test`` (multiclass only)."""
    check_task("knn-xares", "knn-xares", kind)
    check_parameters(k, temperature, "knn-xares")
    if k > len(X_train):
        raise BenchError(f"Protocol 'knn-xares': k={k} neighbours, but the training split has only {len(X_train)} "
                         "clips (X-ARES's top-k needs at least k). Use a task with larger training splits or "
                         "--protocol knn, which takes all the clips there are.")
    if n_outputs is None:
        n_outputs = int(np.max(y)) + 1
    train, test = xares_features(X_train, X_test)
    sims, idx = neighbours(train, test, k, block)
    return vote("multiclass", sims, idx, y, temperature, n_outputs)
