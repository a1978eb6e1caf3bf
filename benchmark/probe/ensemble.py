"""A one-hidden-layer (or deeper) ReLU MLP trained for several seeds at once.

The weights of all seeds are stacked along a leading seed axis and every minibatch step is one
``torch.bmm`` per layer and one optimiser step for all seeds. Each seed has its own
``torch.Generator`` that draws, in order, its initial weights and then its minibatch orders, so
seed ``s`` trained in a batch of seeds follows exactly the computation of seed ``s`` trained
alone (up to floating-point summation order). Seeds stop independently: a finished seed leaves
the stack ("compaction") and the others go on.

Gradients are written out by hand (the model is a plain MLP) rather than taken by autograd:
that is both faster and lets the ``sklearn`` style reproduce scikit-learn's own formulas
(its L2 term, its log-loss clipping, its Adam variant) operation for operation. The stopping
rules (``stopper``) are in ``benchmark.probe.stopping``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

Tensor = torch.Tensor


@dataclass
class Stack:
    """Weights ``W[l]`` (S, fan_in, fan_out) and biases ``b[l]`` (S, 1, fan_out) of S seeds."""

    W: list[Tensor]
    b: list[Tensor]

    def tensors(self) -> list[Tensor]:
        return self.W + self.b

    def select(self, keep: Tensor) -> "Stack":
        return Stack([w[keep] for w in self.W], [b[keep] for b in self.b])

    def clone(self) -> "Stack":
        return Stack([w.clone() for w in self.W], [b.clone() for b in self.b])


def init_stack(generators: list[torch.Generator], sizes: list[int], scheme: str, dtype: torch.dtype) -> Stack:
    """Per seed and layer, weights then biases drawn from that seed's generator.

    ``glorot_uniform``: scikit-learn's ``_init_coef``, U(±sqrt(6 / (fan_in + fan_out))) for both.
    ``torch_default``: ``nn.Linear``'s reset_parameters, U(±1/sqrt(fan_in)) for both.
    """
    per_seed_W: list[list[Tensor]] = []
    per_seed_b: list[list[Tensor]] = []
    for gen in generators:
        Ws, bs = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            if scheme == "glorot_uniform":
                bound_w = bound_b = math.sqrt(6.0 / (fan_in + fan_out))
            elif scheme == "torch_default":
                bound_w = bound_b = 1.0 / math.sqrt(fan_in)
            else:
                raise ValueError(f"unknown init scheme {scheme!r}")
            Ws.append(torch.rand(fan_in, fan_out, generator=gen, dtype=torch.float64).mul_(2).sub_(1).mul_(bound_w))
            bs.append(torch.rand(fan_out, generator=gen, dtype=torch.float64).mul_(2).sub_(1).mul_(bound_b))
        per_seed_W.append(Ws)
        per_seed_b.append(bs)
    n_layers = len(sizes) - 1
    W = [torch.stack([w[l] for w in per_seed_W]).to(dtype) for l in range(n_layers)]
    b = [torch.stack([bb[l] for bb in per_seed_b]).unsqueeze(1).to(dtype) for l in range(n_layers)]
    return Stack(W, b)


class Workspace:
    """Output buffers reused from one minibatch step to the next. Allocating the large ones
    afresh each step (page faults, zero-filling) was measured to cost ~20% of a step."""

    def __init__(self) -> None:
        self.buffers: dict[str, Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
        numel = math.prod(shape)
        buf = self.buffers.get(name)
        if buf is None or buf.numel() < numel or buf.dtype != like.dtype or buf.device != like.device:
            buf = self.buffers[name] = torch.empty(numel, dtype=like.dtype, device=like.device)
        return buf[:numel].view(shape)


def forward(stack: Stack, X: Tensor, ws: Workspace | None = None) -> list[Tensor]:
    """Activations [X, h1, ..., logits]; X is (S, n, D) or a shared (n, D). With ``ws`` (a
    training step) the activations live in its buffers, valid until the next step."""
    acts = [X]
    h = X
    last = len(stack.W) - 1
    for l, (W, b) in enumerate(zip(stack.W, stack.b)):
        if h.dim() == 2:
            h = torch.matmul(h, W)
        else:
            out = None if ws is None else ws.get(f"h{l}", (h.shape[0], h.shape[1], W.shape[2]), h)
            h = torch.bmm(h, W, out=out)
        h.add_(b)
        if l < last:
            h.clamp_(min=0)
        acts.append(h)
    return acts


def backward(stack: Stack, acts: list[Tensor], delta: Tensor, ws: Workspace | None = None) -> list[Tensor]:
    """Gradients of the data loss (weights then biases) given ``delta`` = dLoss/dlogits, already
    scaled by the batch normalisation. An L2 term is added by ``Adam.step`` (fused into its kernel).
    With ``ws`` the weight gradients live in its buffers, valid until the next step."""
    n_layers = len(stack.W)
    gW: list[Tensor] = [None] * n_layers  # type: ignore[list-item]
    gb: list[Tensor] = [None] * n_layers  # type: ignore[list-item]
    for l in range(n_layers - 1, -1, -1):
        a = acts[l]
        if a.dim() == 2:
            a = a.unsqueeze(0).expand(delta.shape[0], -1, -1)
        out = None if ws is None else ws.get(f"gW{l}", (delta.shape[0], a.shape[2], delta.shape[2]), delta)
        gW[l] = torch.bmm(a.transpose(1, 2), delta, out=out)
        gb[l] = delta.sum(dim=1, keepdim=True)
        if l > 0:
            # ReLU derivative, fused (acts[l] is post-ReLU, so > 0 where the unit is on)
            delta = torch.ops.aten.threshold_backward(torch.bmm(delta, stack.W[l].transpose(1, 2)), acts[l], 0.0)
    return gW + gb


class Adam:
    """Adam over stacked tensors.

    ``style="sklearn"``: scikit-learn's AdamOptimizer, p -= lr·sqrt(1-β2^t)/(1-β1^t) · m/(sqrt(v)+eps).
    ``style="torch"``: torch.optim.Adam with coupled ``weight_decay`` (g += wd·p) and a per-seed lr
    (ReduceLROnPlateau lowers it seed by seed).
    """

    def __init__(self, params: list[Tensor], lr: float, style: str, weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.style, self.wd, self.eps = style, weight_decay, eps
        self.b1, self.b2 = betas
        self.t = 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.lr = torch.full((params[0].shape[0], 1, 1), lr, dtype=params[0].dtype, device=params[0].device)

    def select(self, keep: Tensor) -> None:
        self.m = [m[keep] for m in self.m]
        self.v = [v[keep] for v in self.v]
        self.lr = self.lr[keep]

    def step(self, params: list[Tensor], grads: list[Tensor], l2: float = 0.0, n_weights: int = 0) -> None:
        """One update. ``l2``: scikit-learn's L2 coefficient (alpha/batch), added to the gradients of
        the first ``n_weights`` tensors (the weights, not the biases) as ``g + l2·W``."""
        self.t += 1
        bc1, bc2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        lr0 = float(self.lr.view(-1)[0])
        if bool((self.lr == lr0).all()):
            # fused kernels; scikit-learn's form is torch's with eps/sqrt(1-β2^t):
            # lr·sqrt(bc2)/bc1 · m/(sqrt(v)+eps) = lr/bc1 · m/(sqrt(v)/sqrt(bc2) + eps/sqrt(bc2)),
            # and its L2 gradient term is torch's coupled weight decay restricted to the weights
            eps = self.eps / math.sqrt(bc2) if self.style == "sklearn" else self.eps
            decay = [(slice(None), self.wd)] if self.style == "torch" else [(slice(0, n_weights), l2),
                                                                            (slice(n_weights, None), 0.0)]
            for part, wd in decay:
                ps = params[part]
                if not ps:
                    continue
                steps = [torch.tensor(float(self.t), device=p.device) for p in ps]
                torch._fused_adam_(ps, grads[part], self.m[part], self.v[part], [], steps, lr=lr0, beta1=self.b1,
                                   beta2=self.b2, weight_decay=wd, eps=eps, amsgrad=False, maximize=False)
            return
        # per-seed learning rates (after ReduceLROnPlateau lowered some): the same update, unfused
        if self.style == "torch" and self.wd:
            torch._foreach_add_(grads, params, alpha=self.wd)
        if l2 and n_weights:
            torch._foreach_add_(grads[:n_weights], params[:n_weights], alpha=l2)
        torch._foreach_lerp_(self.m, grads, 1 - self.b1)
        torch._foreach_mul_(self.v, self.b2)
        torch._foreach_addcmul_(self.v, grads, grads, value=1 - self.b2)
        denom = torch._foreach_sqrt(self.v)
        if self.style == "sklearn":
            torch._foreach_add_(denom, self.eps)
            scale = self.lr * (math.sqrt(bc2) / bc1)
        else:
            torch._foreach_div_(denom, math.sqrt(bc2))
            torch._foreach_add_(denom, self.eps)
            scale = self.lr / bc1
        updates = torch._foreach_div(self.m, denom)
        for p, u in zip(params, updates):
            p.sub_(u.mul_(scale.view(-1, *([1] * (u.dim() - 1)))))


@dataclass
class Head:
    """Output activation and loss, with the normalisations of either library."""

    kind: str  # "softmax" | "logistic" | "identity"
    style: str  # "sklearn" | "torch"

    def probs(self, logits: Tensor) -> Tensor:
        if self.kind == "softmax":  # written out: torch.softmax over a short last axis is ~3x slower on CPU
            e = (logits - logits.amax(dim=-1, keepdim=True)).exp_()
            return e.div_(e.sum(dim=-1, keepdim=True))
        if self.kind == "logistic":
            return torch.sigmoid(logits)
        return logits

    def delta(self, out: Tensor, Y: Tensor) -> Tensor:
        """dLoss/dlogits for one batch (S, b, k): (p - y) over the normalisation of the loss."""
        d = out - Y
        b, k = out.shape[1], out.shape[2]
        if self.style == "sklearn":  # every sklearn loss: (p - y) / batch
            return d.div_(b)
        if self.kind == "softmax":  # CrossEntropyLoss, mean over the batch
            return d.div_(b)
        if self.kind == "logistic":  # BCEWithLogitsLoss, mean over all elements
            return d.div_(b * k)
        return d.mul_(2.0 / (b * k))  # MSELoss, mean over all elements

    def sklearn_loss(self, out: Tensor, Y: Tensor) -> Tensor:
        """scikit-learn's per-seed batch loss without the L2 term (log_loss clips at dtype eps)."""
        b = out.shape[1]
        if self.kind == "identity":
            return (Y - out).pow(2).mean(dim=(1, 2)) / 2
        eps = torch.finfo(out.dtype).eps
        p = out.clamp(eps, 1 - eps)
        if self.kind == "softmax":
            return -(Y * p.log()).sum(dim=(1, 2)) / b
        return -(Y * p.log() + (1 - Y) * (1 - p).log()).sum(dim=(1, 2)) / b


@dataclass
class Result:
    """Final (or best-validation) weights of every seed, in the order of the seeds given."""

    stack: Stack
    epochs: list[int] = field(default_factory=list)


Draw = Callable[[list[torch.Generator], int], tuple[Tensor, Tensor]]
"""(generators of the active seeds, epoch) -> (rows, targets): (S_active, n) indices into the
feature and target matrices, already in this epoch's minibatch order."""


def _gather(F: "Tensor | Any", idx: Tensor, out: Tensor) -> Tensor:
    """Rows ``idx`` of ``F`` into ``out``: a tensor's, or those of a ``benchmark.probe.rows.Rows``
    (frames read from their memory-mapped arrays, never concatenated)."""
    if isinstance(F, Tensor):
        return torch.index_select(F, 0, idx, out=out)
    return F.take_tensor(idx, out)


def fit(F: "Tensor | Any", Y: Tensor, draw: Draw, gens: list[torch.Generator], stack: Stack, head: Head, opt: Adam, stopper,
        batch_size: int, max_epochs: int, drop_last: bool, alpha: float = 0.0) -> Result:
    """Train every seed until its stopper says so or ``max_epochs``.

    ``draw(active generators, epoch) -> (rows, targets)``: (S, n) indices into ``F`` (a tensor or
    a ``benchmark.probe.rows.Rows``) and ``Y`` in this epoch's minibatch order. ``alpha``: scikit-learn's L2 (only with the sklearn head style).
    """
    n_total = len(gens)
    active = torch.arange(n_total)
    finished: dict[int, list[Tensor]] = {}
    epochs = [0] * n_total
    sklearn = head.style == "sklearn"
    ws = Workspace()
    for epoch in range(max_epochs):
        rows, targets = draw([gens[i] for i in active.tolist()], epoch)
        S, n = rows.shape
        bs = min(batch_size, n)
        stop = n - bs + 1 if drop_last else n
        acc = torch.zeros(S, dtype=torch.float64, device=F.device) if sklearn else None
        for start in range(0, max(stop, 1), bs):
            idx = rows[:, start:start + bs]
            b = idx.shape[1]
            Xb = _gather(F, idx.reshape(-1), ws.get("X", (S * b, F.shape[1]), F if isinstance(F, Tensor) else Y)).view(S, b, -1)
            Yb = Y.index_select(0, targets[:, start:start + bs].reshape(-1)).view(S, b, -1)
            acts = forward(stack, Xb, ws)
            out = head.probs(acts[-1])
            if sklearn:
                l2 = sum(torch.linalg.vector_norm(w.flatten(1), dim=1).square() for w in stack.W)
                acc += (head.sklearn_loss(out, Yb) + 0.5 * alpha * l2 / b).to(torch.float64) * b
            grads = backward(stack, acts, head.delta(out, Yb), ws)
            opt.step(stack.tensors(), grads, l2=alpha / b if sklearn else 0.0, n_weights=len(stack.W))
        losses = acc / n if sklearn else torch.zeros(S)
        done = stopper.update(losses, stack, opt, [gens[i] for i in active.tolist()])
        if epoch == max_epochs - 1:
            done = torch.ones_like(done)
        if done.any():
            final = stopper.final(stack)
            for pos in torch.nonzero(done).flatten().tolist():
                seed_pos = int(active[pos])
                finished[seed_pos] = [t[pos].clone() for t in final.tensors()]
                epochs[seed_pos] = epoch + 1
            keep = torch.nonzero(~done).flatten()
            if len(keep) == 0:
                break
            keep_dev = keep.to(F.device)
            stack = stack.select(keep_dev)
            opt.select(keep_dev)
            stopper.select(keep_dev)
            active = active[keep]
    n_layers = len(stack.W)
    tensors = [torch.stack([finished[i][j] for i in range(n_total)]) for j in range(2 * n_layers)]
    return Result(Stack(tensors[:n_layers], tensors[n_layers:]), epochs)
