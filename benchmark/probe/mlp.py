"""The probe: frames of each clip + targets → per-seed test predictions, all seeds at once.

``fit_predict`` prepares the data as the protocol says (pooling, standardisation with train
statistics, chunk-level sampling), then trains the seeds as one batched ensemble
(``benchmark.probe.ensemble``) or fits the deterministic ``linear`` probe.

Output per seed: multiclass → class probabilities (n, C); multilabel → sigmoid probabilities
(n, L); regression → values (n, T).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Sequence

import numpy as np
import torch

from . import ensemble as E
from benchmark.core import config
from . import metrics
from benchmark.core.errors import BenchError
from .protocols import Protocol
from .rows import Rows, stream_scaler
from .stopping import TrainLossStopper, ValidStopper
from .inputs import _Scaler, _columns, _style, _targets

Data = tuple[list[np.ndarray], np.ndarray]
_PREDICT_CHUNK = 8192  # frames per forward pass at prediction time (bounds memory)


def fit_predict(protocol: Protocol, kind: str, train: Data, valid: Data | None, test_frames: list[np.ndarray],
                seeds: Sequence[int], valid_metric: str, device: str = "cpu",
                n_outputs: int | None = None, info: dict | None = None) -> dict[int, np.ndarray]:
    """Train ``protocol``'s probe once per seed on ``train`` (and ``valid`` where the protocol
    stops on it) and return the test predictions of every seed. ``info``, if given, receives
    {"epochs": {seed: epochs trained}} (the stopping epoch; MLP probes only)."""
    seeds = [int(s) for s in seeds]
    if not seeds:
        return {}
    if kind not in ("multiclass", "multilabel", "regression"):
        raise BenchError(f"Unknown task kind '{kind}'; expected multiclass, multilabel or regression.")
    frames, y = train
    if len(frames) == 0:
        raise BenchError("The training split is empty: bench data check, given the task, prints its split sizes.")
    y = np.asarray(y)
    if n_outputs is None:
        n_outputs = int(y.max()) + 1 if kind == "multiclass" else y.reshape(len(y), -1).shape[1]
    if protocol.uses_validation and protocol.stopping == "valid_metric" and (valid is None or len(valid[0]) == 0):
        raise BenchError(f"Protocol '{protocol.name}' stops on a validation set, but none was given. "
                         "Use a task with a validation split (k-fold tasks use the next fold) or --protocol coala.")
    if protocol.probe == "linear":
        out = _linear(protocol, kind, _pool(frames, protocol.pooling), y, _pool(test_frames, protocol.pooling), n_outputs)
        return {s: out.copy() for s in seeds}
    if protocol.probe == "knn":
        from .knn import knn_predict

        out = knn_predict(kind, _pool(frames, protocol.pooling), y, _pool(test_frames, protocol.pooling),
                          k=protocol.k, temperature=protocol.temperature, n_outputs=n_outputs,
                          standardize=protocol.standardize)
        return {s: out.copy() for s in seeds}
    if protocol.probe == "knn-xares":
        from .knn import xares_predict

        out = xares_predict(kind, _pool(frames, protocol.pooling), y, _pool(test_frames, protocol.pooling),
                            k=protocol.k, temperature=protocol.temperature, n_outputs=n_outputs)
        return {s: out.copy() for s in seeds}
    if protocol.probe == "weighted":
        from .weighted import fit_predict as weighted_fit_predict

        # its steps are many small products: one thread unless a step is large (2 threads measured
        # 8x slower than 1 here on a 2-core machine under load)
        width = max(protocol.hidden or (1,))
        work = len(seeds) * min(protocol.batch_size, len(frames)) * int(np.prod(np.shape(frames[0])[1:])) * width
        threads = min(torch.get_num_threads(), max(1, int(work // 1e8))) if str(device).startswith("cpu") else None
        with _torch_threads(threads):
            return weighted_fit_predict(protocol, kind, train, test_frames, seeds, torch.device(device), n_outputs,
                                        info if info is not None else {})
    if protocol.probe != "mlp":
        raise BenchError(f"Protocol '{protocol.name}' has unknown probe '{protocol.probe}' (expected mlp, linear, "
                         "weighted, knn or knn-xares).")
    with _torch_threads(_probe_threads(protocol, frames, len(seeds), device)), \
            _matmul_precision(protocol.fast_matmul, device):
        return _mlp(protocol, kind, train, valid, test_frames, seeds, valid_metric, torch.device(device), n_outputs,
                    info if info is not None else {})


def _probe_threads(protocol: Protocol, frames: Sequence[np.ndarray], n_seeds: int, device: str) -> int | None:
    """CPU threads for the probe: one per ~1e8 multiply-adds of a step's first layer, at least 2,
    at most torch's default. Short steps do not share well over many cores; on 2 cores, 2 threads
    were measured faster than 1 at every size (the demo task's probes 1.8x)."""
    if not str(device).startswith("cpu") or not len(frames):
        return None
    width = max(protocol.hidden or (1,))
    work = n_seeds * min(protocol.batch_size, len(frames)) * np.shape(frames[0])[-1] * width
    return min(torch.get_num_threads(), max(2, int(work // 1e8)))


@contextmanager
def _torch_threads(n: int | None):
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fast_matmul_backend(device: str) -> tuple[Any, str]:
    """The torch backend switch and value that make float32 products fast on ``device``; a
    BenchError when the device has no such units (the runner asks before extracting)."""
    if str(device).startswith("cuda"):
        return torch.backends.cuda.matmul, "tf32"
    if not config.cpu_has_bf16_matmul():
        raise BenchError("--fast-matmul needs a CPU with AVX512-BF16 or AMX (or a CUDA device); this CPU has "
                         "neither, so it would be slower, not faster. Run without --fast-matmul.")
    return torch.backends.mkldnn.matmul, "bf16"


@contextmanager
def _matmul_precision(fast: bool, device: str):
    """float32 matrix products with bfloat16 inputs (oneDNN, CPU) or TF32 (CUDA) inside the block."""
    if not fast:
        yield
        return
    backend, value = fast_matmul_backend(device)
    before = backend.fp32_precision
    backend.fp32_precision = value
    try:
        yield
    finally:
        backend.fp32_precision = before


# -- data preparation ------------------------------------------------------------------------
def _pool(frames: list[np.ndarray], how: str) -> np.ndarray:
    def one(f: np.ndarray) -> np.ndarray:
        f = np.asarray(f, dtype=np.float32).reshape(-1, np.shape(f)[-1])
        if how == "mean":
            return f.mean(axis=0)
        if how == "mean_std":
            return np.concatenate([f.mean(axis=0), f.std(axis=0)])
        if how == "max":
            return f.max(axis=0)
        raise BenchError(f"Unknown pooling '{how}'; expected mean, mean_std or max.")

    return np.stack([one(f) for f in frames]).astype(np.float32)


def _rows(frames: list[np.ndarray], scale: "_Scaler", device: torch.device) -> Rows:
    """The clips' frames as numbered rows, read from their (memory-mapped) arrays as needed."""
    rows = Rows(frames, device)
    rows.scale = None if scale.scaler is None else scale
    return rows


def _mlp(protocol: Protocol, kind: str, train: Data, valid: Data | None, test_frames: list[np.ndarray],
         seeds: list[int], valid_metric: str, device: torch.device, n_outputs: int,
         info: dict) -> dict[int, np.ndarray]:
    style = _style(protocol)
    Y, head_kind, classes = _targets(protocol, kind, np.asarray(train[1]), n_outputs)
    head = E.Head(head_kind, style)
    chunks = protocol.chunk_training
    if chunks:  # frames stay where they are (the cache's memory-mapped shards): rows read per batch
        scale = _Scaler(None)
        F_t = _rows(train[0], scale, device)
        if protocol.standardize:
            scale.scaler = stream_scaler(F_t)
            F_t.scale = scale
        starts, counts = F_t.starts, F_t.counts
    else:
        F = _pool(train[0], protocol.pooling)
        starts, counts = np.arange(len(F)), np.ones(len(F), dtype=np.int64)
        scale = _Scaler(F if protocol.standardize else None)
        F_t = torch.from_numpy(np.ascontiguousarray(scale(F))).to(device)
    Y_t = torch.from_numpy(Y).to(device)
    starts_t, counts_t = torch.from_numpy(starts), torch.from_numpy(counts)
    n = len(Y)

    gens = [torch.Generator().manual_seed(s) for s in seeds]
    sizes = [F_t.shape[1], *protocol.hidden, Y.shape[1]]
    stack = E.init_stack(gens, sizes, protocol.init, torch.float32)
    stack = E.Stack([w.to(device) for w in stack.W], [b.to(device) for b in stack.b])

    def draw(active: list[torch.Generator], epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        # per seed: this epoch's order, then (chunk level) one random chunk per clip
        order = torch.stack([torch.randperm(n, generator=g) for g in active])
        if not chunks:
            order = order.to(device)
            return order, order
        pick = torch.stack([torch.rand(n, generator=g, dtype=torch.float64) for g in active])
        rows = starts_t[order] + (pick * counts_t[order]).long()
        return rows.to(device), order.to(device)

    opt = E.Adam(stack.tensors(), protocol.lr, style,
                 weight_decay=protocol.weight_decay if style == "torch" else 0.0)
    if protocol.stopping == "train_loss":
        stopper = TrainLossStopper(len(seeds), protocol.tol, protocol.patience)
    elif protocol.stopping == "valid_metric":
        metrics.check(kind, valid_metric)
        stopper = ValidStopper(stack, _validator(protocol, kind, valid, scale, head, valid_metric, device),
                                 protocol.patience, protocol.lr_factor if protocol.lr_schedule == "plateau" else None)
    else:
        raise BenchError(f"Protocol '{protocol.name}' has unknown stopping rule '{protocol.stopping}'.")
    result = E.fit(F_t, Y_t, draw, gens, stack, head, opt, stopper, protocol.batch_size, protocol.max_epochs,
                   drop_last=style == "torch", alpha=protocol.weight_decay if style == "sklearn" else 0.0)
    info["epochs"] = dict(zip(seeds, result.epochs))
    probs = _predict(result.stack, head, test_frames, protocol, scale, device)
    return {s: _columns(probs[i], head_kind, classes, kind, n_outputs) for i, s in enumerate(seeds)}


def _validator(protocol: Protocol, kind: str, valid: Data | None, scale: _Scaler, head: E.Head, metric: str,
               device: torch.device):
    """Per-seed validation score of the current weights. At chunk level each epoch scores one
    random chunk per clip (MuLaP validates on random crops too)."""
    assert valid is not None
    y_valid = np.asarray(valid[1])
    if protocol.chunk_training:
        F_t = _rows(valid[0], scale, device)
        starts_t, counts_t = torch.from_numpy(F_t.starts), torch.from_numpy(F_t.counts)
    else:
        F_t = torch.from_numpy(np.ascontiguousarray(scale(_pool(valid[0], protocol.pooling)))).to(device)

    def evaluate(stack: E.Stack, gens: list[torch.Generator]) -> torch.Tensor:
        with torch.no_grad():
            if protocol.chunk_training:
                pick = torch.stack([torch.rand(len(starts_t), generator=g, dtype=torch.float64) for g in gens])
                rows = (starts_t[None] + (pick * counts_t[None]).long()).to(device)
                out = torch.empty(rows.numel(), F_t.dim, dtype=torch.float32, device=device)
                X = F_t.take_tensor(rows.reshape(-1), out).view(len(gens), -1, F_t.dim)
            else:
                X = F_t
            out = head.probs(E.forward(stack, X)[-1])
        return torch.from_numpy(metrics.per_seed(kind, metric, y_valid, out.cpu().numpy()))

    return evaluate


def _predict(stack: E.Stack, head: E.Head, frames: list[np.ndarray], protocol: Protocol, scale: _Scaler,
             device: torch.device) -> np.ndarray:
    """(S, n, k) test outputs. Chunk level: mean of the chunk logits per clip (softmax after), or
    for a logistic head the mean of the chunk sigmoids, as MuLaP's evaluation does."""
    S = stack.W[0].shape[0]
    with torch.no_grad():
        if not protocol.chunk_training:
            X = torch.from_numpy(np.ascontiguousarray(scale(_pool(frames, protocol.pooling)))).to(device)
            return _batched(stack, X, head.probs).cpu().numpy()
        F = _rows(frames, scale, device)
        counts = torch.from_numpy(F.counts)
        clip_of = torch.repeat_interleave(torch.arange(len(counts)), counts)
        fn = torch.sigmoid if head.kind == "logistic" else (lambda z: z)
        total = None
        # blocks of _PREDICT_CHUNK frames read from the cache in turn: the same blocks, so the same
        # sums, as over the concatenated frames
        for start, block in F.blocks(_PREDICT_CHUNK):
            per_frame = fn(E.forward(stack, torch.from_numpy(block).to(device))[-1])
            if total is None:
                total = torch.zeros(S, len(counts), per_frame.shape[2], dtype=per_frame.dtype, device=device)
            total.index_add_(1, clip_of[start:start + len(block)].to(device), per_frame)
        mean = total / counts.to(device=device, dtype=total.dtype).view(1, -1, 1)
        return (mean if head.kind == "logistic" else head.probs(mean)).cpu().numpy()


def _batched(stack: E.Stack, X: torch.Tensor, fn) -> torch.Tensor:
    parts = [fn(E.forward(stack, X[i:i + _PREDICT_CHUNK])[-1]) for i in range(0, len(X), _PREDICT_CHUNK)]
    return torch.cat(parts, dim=1)


# -- linear --------------------------------------------------------------------------------------
def _linear(protocol: Protocol, kind: str, X: np.ndarray, y: np.ndarray, X_test: np.ndarray,
            n_outputs: int) -> np.ndarray:
    """Logistic regression (one-vs-rest for multilabel) or ridge on standardised features.
    ``weight_decay`` is the L2 strength λ: LogisticRegression(C=1/λ), Ridge(alpha=λ)."""
    from sklearn.linear_model import LogisticRegression, Ridge

    scale = _Scaler(X if protocol.standardize else None)
    X, X_test = scale(X), scale(X_test)
    lam = protocol.weight_decay if protocol.weight_decay > 0 else 1.0
    if kind == "regression":
        return Ridge(alpha=lam).fit(X, y.reshape(len(y), -1)).predict(X_test).reshape(len(X_test), -1)
    if kind == "multiclass":
        y = y.astype(np.int64)
        classes = np.unique(y)
        full = np.zeros((len(X_test), n_outputs))
        if len(classes) == 1:
            full[:, classes[0]] = 1.0
            return full
        clf = LogisticRegression(C=1.0 / lam, max_iter=protocol.max_epochs).fit(X, y)
        full[:, clf.classes_] = clf.predict_proba(X_test)
        return full
    Y = y.reshape(len(y), -1)
    out = np.zeros((len(X_test), Y.shape[1]))
    for j in range(Y.shape[1]):
        column = (Y[:, j] > 0.5).astype(np.int64)
        if column.min() == column.max():  # a label never (or always) on in training: its prior
            out[:, j] = float(column[0])
            continue
        out[:, j] = LogisticRegression(C=1.0 / lam, max_iter=protocol.max_epochs).fit(X, column).predict_proba(X_test)[:, 1]
    return out
