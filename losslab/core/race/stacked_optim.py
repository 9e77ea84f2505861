"""Optimizer steps on stacked parameters: one row per variant, per-variant hyperparameters.

The parameters of V variants live in one (V, P) tensor; each rule updates a contiguous block of
rows with torch.optim's formulas written as elementwise math (hyperparameters as (G, 1) columns
that broadcast over a row, or plain floats where every row has the same value). The formulas are
torch's single-tensor ones: SGD (momentum, Nesterov, weight decay), Adam, AdamW, RMSprop
(momentum, not centered) and Adagrad (no learning-rate decay), as ``core.optim`` builds them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

Hyper = float | Tensor


def hyper(values: Sequence[float], like: Tensor) -> Hyper:
    """A plain float when every row shares the value (torch's exact scalar arithmetic), else a column."""
    if all(v == values[0] for v in values):
        return float(values[0])
    return torch.tensor(list(values), dtype=like.dtype, device=like.device).unsqueeze(1)


def _any(values: Sequence[float]) -> bool:
    return any(v != 0 for v in values)


class StackedRule:
    """Updates rows ``rows`` of the stacked parameters in place (call under ``torch.no_grad()``)."""

    def __init__(self, rows: slice, params: Sequence[dict[str, Any]], data: Tensor) -> None:
        self.rows = rows
        self.p = data[rows]  # a view: updates land in the stacked tensor
        self.hp = list(params)
        self._lr_key: tuple[float, ...] = ()
        self._lr: Hyper = 0.0

    def _get(self, name: str) -> list[float]:
        return [float(p[name]) for p in self.hp]

    def lr(self, lrs: Sequence[float]) -> Hyper:
        key = tuple(lrs)
        if key != self._lr_key:
            self._lr_key, self._lr = key, hyper(lrs, self.p)
        return self._lr

    def step(self, grad: Tensor, lrs: Sequence[float], step: int) -> None:
        raise NotImplementedError

    def _descend(self, lr: Hyper, direction: Tensor) -> None:
        if isinstance(lr, float):
            self.p.add_(direction, alpha=-lr)
        else:
            self.p.sub_(lr * direction)

    def _descend_ratio(self, lr: Hyper, num: Tensor, den: Tensor) -> None:
        if isinstance(lr, float):
            self.p.addcdiv_(num, den, value=-lr)
        else:
            self.p.sub_(lr * num / den)


class StackedSGD(StackedRule):
    def __init__(self, rows: slice, params: Sequence[dict[str, Any]], data: Tensor) -> None:
        super().__init__(rows, params, data)
        momentum = self._get("momentum")
        nesterov = [1.0 if p["nesterov"] and m > 0 else 0.0 for p, m in zip(params, momentum, strict=True)]
        self.use_wd, self.use_momentum = _any(self._get("weight_decay")), _any(momentum)
        self.wd, self.momentum = hyper(self._get("weight_decay"), self.p), hyper(momentum, self.p)
        self.all_nesterov = all(nesterov) and self.use_momentum
        self.some_nesterov = any(nesterov) and not self.all_nesterov
        self.nesterov = torch.tensor(nesterov, device=self.p.device).bool().unsqueeze(1)
        self.buf = torch.zeros_like(self.p) if self.use_momentum else None

    def step(self, grad: Tensor, lrs: Sequence[float], step: int) -> None:
        d = grad + self.wd * self.p if self.use_wd else grad
        if self.buf is not None:
            # The first step puts the gradient in the buffer: 0 * momentum + d is exactly d.
            self.buf.mul_(self.momentum).add_(d)
            if self.all_nesterov:
                d = d + self.momentum * self.buf
            elif self.some_nesterov:
                d = torch.where(self.nesterov, d + self.momentum * self.buf, self.buf)
            else:
                d = self.buf
        self._descend(self.lr(lrs), d)


class StackedAdam(StackedRule):
    decoupled = False  # AdamW: weight decay on the weights, not through the gradient

    def __init__(self, rows: slice, params: Sequence[dict[str, Any]], data: Tensor) -> None:
        super().__init__(rows, params, data)
        self.b1_values, self.b2_values = self._get("beta1"), self._get("beta2")
        self.b1, self.b2 = hyper(self.b1_values, self.p), hyper(self.b2_values, self.p)
        self.one_minus_b1 = hyper([1 - b for b in self.b1_values], self.p)
        self.one_minus_b2 = hyper([1 - b for b in self.b2_values], self.p)
        self.eps = hyper(self._get("eps"), self.p)
        self.use_wd = _any(self._get("weight_decay"))
        self.wd_values = self._get("weight_decay")
        self.wd = hyper(self.wd_values, self.p)
        self.m = torch.zeros_like(self.p)
        self.v = torch.zeros_like(self.p)

    def step(self, grad: Tensor, lrs: Sequence[float], step: int) -> None:
        if self.use_wd:
            if self.decoupled:
                self.p.mul_(hyper([1 - lr * wd for lr, wd in zip(lrs, self.wd_values, strict=True)], self.p))
            else:
                grad = grad + self.wd * self.p
        self.m.lerp_(grad, self.one_minus_b1)
        if isinstance(self.one_minus_b2, float):
            self.v.mul_(self.b2).addcmul_(grad, grad, value=self.one_minus_b2)
        else:
            self.v.mul_(self.b2).add_(self.one_minus_b2 * grad * grad)
        step_size = hyper([lr / (1 - b1**step) for lr, b1 in zip(lrs, self.b1_values, strict=True)], self.p)
        bc2_sqrt = hyper([math.sqrt(1 - b2**step) for b2 in self.b2_values], self.p)
        denom = (self.v.sqrt() / bc2_sqrt).add_(self.eps)
        self._descend_ratio(step_size, self.m, denom)


class StackedAdamW(StackedAdam):
    decoupled = True


class StackedRMSprop(StackedRule):
    def __init__(self, rows: slice, params: Sequence[dict[str, Any]], data: Tensor) -> None:
        super().__init__(rows, params, data)
        alpha = self._get("alpha")
        self.alpha = hyper(alpha, self.p)
        self.one_minus_alpha = hyper([1 - a for a in alpha], self.p)
        self.eps = hyper(self._get("eps"), self.p)
        momentum = self._get("momentum")
        self.use_momentum = _any(momentum)
        self.momentum = hyper(momentum, self.p)
        self.use_wd = _any(self._get("weight_decay"))
        self.wd = hyper(self._get("weight_decay"), self.p)
        self.sq = torch.zeros_like(self.p)
        self.buf = torch.zeros_like(self.p) if self.use_momentum else None

    def step(self, grad: Tensor, lrs: Sequence[float], step: int) -> None:
        if self.use_wd:
            grad = grad + self.wd * self.p
        if isinstance(self.one_minus_alpha, float):
            self.sq.mul_(self.alpha).addcmul_(grad, grad, value=self.one_minus_alpha)
        else:
            self.sq.mul_(self.alpha).add_(self.one_minus_alpha * grad * grad)
        avg = self.sq.sqrt().add_(self.eps)
        lr = self.lr(lrs)
        if self.buf is not None:  # rows without momentum: 0 * buf + g / avg is exactly g / avg
            self.buf.mul_(self.momentum).addcdiv_(grad, avg)
            self._descend(lr, self.buf)
        else:
            self._descend_ratio(lr, grad, avg)


class StackedAdagrad(StackedRule):
    def __init__(self, rows: slice, params: Sequence[dict[str, Any]], data: Tensor) -> None:
        super().__init__(rows, params, data)
        self.eps = hyper(self._get("eps"), self.p)
        self.use_wd = _any(self._get("weight_decay"))
        self.wd = hyper(self._get("weight_decay"), self.p)
        self.sum = torch.zeros_like(self.p)

    def step(self, grad: Tensor, lrs: Sequence[float], step: int) -> None:
        if self.use_wd:
            grad = grad + self.wd * self.p
        self.sum.addcmul_(grad, grad, value=1.0)
        std = self.sum.sqrt().add_(self.eps)
        self._descend_ratio(self.lr(lrs), grad, std)


RULES: dict[str, type[StackedRule]] = {
    "sgd": StackedSGD,
    "adam": StackedAdam,
    "adamw": StackedAdamW,
    "rmsprop": StackedRMSprop,
    "adagrad": StackedAdagrad,
}
