"""When each seed of a batched ensemble stops, and which of its weights are kept.

* ``TrainLossStopper``: scikit-learn's rule (the ``coala`` protocol), on the training loss.
* ``ValidStopper``: MuLaP's rule (the ``mulap`` protocol), early stopping on a validation metric
  with the best-validation weights kept and ReduceLROnPlateau run per seed.

``ensemble.fit`` calls ``update(losses, stack, opt, generators) -> done mask`` after each epoch,
``final(stack)`` for the weights to keep, and ``select(keep)`` when finished seeds leave the stack.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .ensemble import Adam, Stack

Tensor = torch.Tensor


class TrainLossStopper:
    """scikit-learn's rule: a seed stops once its epoch loss has failed to beat its best loss by
    ``tol`` on more than ``patience`` consecutive epochs; its last weights are kept."""

    def __init__(self, n_seeds: int, tol: float, patience: int) -> None:
        self.tol, self.patience = tol, patience
        self.best = torch.full((n_seeds,), math.inf, dtype=torch.float64)
        self.count = torch.zeros(n_seeds, dtype=torch.long)

    def update(self, losses: Tensor, stack: Stack, opt: Adam, gens: list[torch.Generator]) -> Tensor:
        losses = losses.to(torch.float64).cpu()
        worse = losses > self.best - self.tol
        self.count = torch.where(worse, self.count + 1, torch.zeros_like(self.count))
        self.best = torch.minimum(self.best, losses)
        return self.count > self.patience

    def final(self, stack: Stack) -> Stack:
        return stack

    def select(self, keep: Tensor) -> None:
        self.best, self.count = self.best[keep.cpu()], self.count[keep.cpu()]


class ValidStopper:
    """MuLaP's rule: after each epoch score the validation set; keep each seed's best-validation
    weights (strict improvement), stop a seed after ``patience`` epochs without one, and run
    torch's ReduceLROnPlateau (mode max, threshold 1e-4 relative, patience 10) per seed."""

    def __init__(self, stack: Stack, evaluate: Callable[[Stack, list[torch.Generator]], Tensor], patience: int,
                 lr_factor: float | None, sched_patience: int = 10, threshold: float = 1e-4) -> None:
        n = stack.W[0].shape[0]
        self.evaluate, self.patience, self.lr_factor = evaluate, patience, lr_factor
        self.sched_patience, self.threshold = sched_patience, threshold
        # -inf rather than MuLaP's 0, so a metric that stays <= 0 (r2) still keeps a best epoch
        self.best = torch.full((n,), -math.inf, dtype=torch.float64)
        self.count = torch.zeros(n, dtype=torch.long)
        self.sched_best = torch.full((n,), -math.inf, dtype=torch.float64)
        self.bad = torch.zeros(n, dtype=torch.long)
        self.best_stack = stack.clone()

    def update(self, losses: Tensor, stack: Stack, opt: Adam, gens: list[torch.Generator]) -> Tensor:
        metric = self.evaluate(stack, gens).to(torch.float64).cpu()
        improved = metric > self.best
        if improved.any():
            where = improved.to(stack.W[0].device)
            for dst, src in zip(self.best_stack.tensors(), stack.tensors()):
                dst[where] = src[where]
        self.best = torch.where(improved, metric, self.best)
        self.count = torch.where(improved, torch.zeros_like(self.count), self.count + 1)
        if self.lr_factor is not None:
            better = metric > self.sched_best * (1 + self.threshold)
            self.sched_best = torch.where(better, metric, self.sched_best)
            self.bad = torch.where(better, torch.zeros_like(self.bad), self.bad + 1)
            reduce = self.bad > self.sched_patience
            if reduce.any():
                lr = opt.lr.view(-1).cpu().to(torch.float64)
                new = lr * self.lr_factor
                reduce = reduce & (lr - new > 1e-8)
                opt.lr.view(-1)[reduce.to(opt.lr.device)] *= self.lr_factor
                self.bad = torch.where(self.bad > self.sched_patience, torch.zeros_like(self.bad), self.bad)
        return self.count >= self.patience

    def final(self, stack: Stack) -> Stack:
        return self.best_stack

    def select(self, keep: Tensor) -> None:
        k = keep.cpu()
        self.best, self.count, self.sched_best, self.bad = self.best[k], self.count[k], self.sched_best[k], self.bad[k]
        self.best_stack = self.best_stack.select(keep)
