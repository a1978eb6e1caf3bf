"""The ``weighted-layers`` probe (s3prl/SUPERB, MARBLE): a softmax-normalised weight per layer,
learned jointly with the MLP, every seed at once.

Each clip's frames arrive as (n_frames, n_layers, width) (``benchmark.embed.layers.LayerView``); they are
mean-pooled over frames and standardised with training statistics (per layer and feature, as the
``coala`` protocol standardises its input); the probe's input is ``sum_l softmax(a)_l · x_l``,
with ``a`` initialised to zeros (equal weights, as s3prl). Everything else is the ``coala``
protocol: scikit-learn's MLP (Glorot-uniform init, Adam with its L2 on the weights, not on the
layer weights), minibatches reshuffled per epoch, stop when the training loss has not improved by
``tol`` for ``patience`` epochs. The seeds train as one batched ensemble (per-seed tensors with a
leading seed axis), so they cost about one probe, as in ``benchmark.probe.ensemble``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from . import ensemble as E
from benchmark.core.errors import BenchError
from .protocols import Protocol
from .stopping import TrainLossStopper


def _pool(frames: Sequence[np.ndarray]) -> np.ndarray:
    for f in frames:
        if np.ndim(f) != 3:
            raise BenchError("The weighted-layers protocol needs the frames of every layer: use it with an embedder "
                             "that has layers (hf:…), without --layer.")
    return np.stack([np.asarray(f, dtype=np.float32).mean(axis=0) for f in frames]).astype(np.float32)


def _forward(stack_W: list[torch.Tensor], stack_b: list[torch.Tensor], a: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Logits (S, b, k) of X (S, b, L, w) or a shared (b, L, w)."""
    p = torch.softmax(a, dim=-1)
    # elementwise, then a sum over layers: the same arithmetic for any number of seeds (an einsum's
    # kernel choice depends on the seed count and made seeds trained together drift from alone)
    h = (X.unsqueeze(0) if X.dim() == 3 else X).mul(p[:, None, :, None]).sum(dim=2)
    last = len(stack_W) - 1
    for l, (W, b) in enumerate(zip(stack_W, stack_b)):
        h = torch.baddbmm(b, h, W)
        if l < last:
            h = torch.relu(h)
    return h


def fit_predict(protocol: Protocol, kind: str, train: tuple[list[np.ndarray], np.ndarray], test_frames: list[np.ndarray],
                seeds: list[int], device: torch.device, n_outputs: int, info: dict) -> dict[int, np.ndarray]:
    """Test predictions of every seed; ``info["layer_weights"]`` = {seed: learned softmax weights}."""
    from .inputs import _columns, _Scaler, _style, _targets

    if protocol.stopping != "train_loss" or protocol.chunk_training:
        raise BenchError(f"Protocol '{protocol.name}': layer weights are learned with the coala training rule "
                         "(clip level, training-loss stopping) only.")
    style = _style(protocol)
    X = _pool(train[0])
    n, L, w = X.shape
    scale = _Scaler(X.reshape(n, L * w) if protocol.standardize else None)
    X_t = torch.from_numpy(np.ascontiguousarray(scale(X.reshape(n, L * w)).reshape(n, L, w))).to(device)
    Y, head_kind, classes = _targets(protocol, kind, np.asarray(train[1]), n_outputs)
    Y_t = torch.from_numpy(Y).to(device)
    head = E.Head(head_kind, style)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    stack = E.init_stack(gens, [w, *protocol.hidden, Y.shape[1]], protocol.init, torch.float32)
    params = [t.to(device).requires_grad_() for t in stack.W + stack.b]
    params.append(torch.zeros(len(seeds), L, device=device, requires_grad=True))
    n_w = len(stack.W)
    alpha = protocol.weight_decay if style == "sklearn" else 0.0
    opt = E.Adam(params, protocol.lr, style, weight_decay=protocol.weight_decay if style == "torch" else 0.0)
    stopper = TrainLossStopper(len(seeds), protocol.tol, protocol.patience)
    active = list(range(len(seeds)))
    finished: dict[int, list[torch.Tensor]] = {}
    epochs: dict[int, int] = {}
    for epoch in range(protocol.max_epochs):
        S = len(active)
        order = torch.stack([torch.randperm(n, generator=gens[i]) for i in active]).to(device)
        bs = min(protocol.batch_size, n)
        stop = n - bs + 1 if style == "torch" else n
        total = torch.zeros(S, dtype=torch.float64)
        for start in range(0, max(stop, 1), bs):
            idx = order[:, start:start + bs]
            b = idx.shape[1]
            Xb, Yb = X_t[idx], Y_t[idx]
            logits = _forward(params[:n_w], params[n_w:2 * n_w], params[-1], Xb)
            out = head.probs(logits.detach())
            grads = list(torch.autograd.grad(logits, params, grad_outputs=head.delta(out.clone(), Yb)))
            with torch.no_grad():
                if style == "sklearn":
                    l2 = sum(torch.linalg.vector_norm(W.flatten(1), dim=1).square() for W in params[:n_w])
                    total += ((head.sklearn_loss(out, Yb) + 0.5 * alpha * l2 / b) * b).to(torch.float64).cpu()
                opt.step(params, grads, l2=alpha / b if style == "sklearn" else 0.0, n_weights=n_w)
        done = stopper.update(total / n, E.Stack(params[:n_w], params[n_w:2 * n_w]), opt, [gens[i] for i in active])
        if epoch == protocol.max_epochs - 1:
            done = torch.ones_like(done)
        if done.any():
            for pos in torch.nonzero(done).flatten().tolist():
                finished[active[pos]] = [p[pos].detach().clone() for p in params]
                epochs[active[pos]] = epoch + 1
            keep = torch.nonzero(~done).flatten()
            if len(keep) == 0:
                break
            params = [p.detach()[keep.to(device)].clone().requires_grad_() for p in params]
            opt.select(keep.to(device))
            stopper.select(keep)
            active = [active[i] for i in keep.tolist()]
    final = [torch.stack([finished[i][j] for i in range(len(seeds))]) for j in range(len(params))]
    info["epochs"] = {s: epochs[i] for i, s in enumerate(seeds)}
    weights = torch.softmax(final[-1], dim=-1).cpu().numpy()
    info["layer_weights"] = {s: [round(float(v), 6) for v in weights[i]] for i, s in enumerate(seeds)}
    T = _pool(test_frames)
    T_t = torch.from_numpy(np.ascontiguousarray(scale(T.reshape(len(T), L * w)).reshape(len(T), L, w))).to(device)
    with torch.no_grad():
        probs = head.probs(_forward(final[:n_w], final[n_w:2 * n_w], final[-1], T_t)).cpu().numpy()
    return {s: _columns(probs[i], head_kind, classes, kind, n_outputs) for i, s in enumerate(seeds)}
