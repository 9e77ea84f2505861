"""THE optimizer and learning-rate schedule registries.

Metadata only at import time; torch is imported when an optimizer is built.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from losslab.core.errors import LossLabError
from losslab.core.params import Param, shown


@dataclass(frozen=True)
class OptimizerSpec:
    id: str
    name: str
    params: tuple[Param, ...]
    description: str
    build: Callable[[Iterable[Any], float, dict[str, Any], str], Any]  # (parameters, lr, params, device)

    def create(self, parameters: Iterable[Any], lr: float, params: dict[str, Any], device: str) -> Any:
        """The torch optimizer, made so that it never loads torch.compile's stack (eager_optim.py)."""
        from losslab.core.eager_optim import build_eager

        return build_eager(lambda: self.build(parameters, lr, params, device))


def _fast_path(device: str) -> dict[str, Any]:
    # Fused kernels were 1.3-1.4x faster than foreach for small MLPs on CPU; fused exists on cpu/cuda/mps.
    return {"fused": True} if device.split(":")[0] in ("cpu", "cuda", "mps") else {}


def _sgd(ps: Iterable[Any], lr: float, p: dict[str, Any], device: str) -> Any:
    import torch

    nesterov = p["nesterov"] and p["momentum"] > 0  # torch refuses nesterov without momentum
    return torch.optim.SGD(
        ps,
        lr=lr,
        momentum=p["momentum"],
        nesterov=nesterov,
        weight_decay=p["weight_decay"],
        **_fast_path(device),
    )


def _adam(ps: Iterable[Any], lr: float, p: dict[str, Any], device: str) -> Any:
    import torch

    betas = (p["beta1"], p["beta2"])
    return torch.optim.Adam(
        ps, lr=lr, betas=betas, eps=p["eps"], weight_decay=p["weight_decay"], **_fast_path(device)
    )


def _adamw(ps: Iterable[Any], lr: float, p: dict[str, Any], device: str) -> Any:
    import torch

    betas = (p["beta1"], p["beta2"])
    return torch.optim.AdamW(
        ps, lr=lr, betas=betas, eps=p["eps"], weight_decay=p["weight_decay"], **_fast_path(device)
    )


def _rmsprop(ps: Iterable[Any], lr: float, p: dict[str, Any], device: str) -> Any:
    import torch

    return torch.optim.RMSprop(
        ps, lr=lr, alpha=p["alpha"], eps=p["eps"], momentum=p["momentum"], weight_decay=p["weight_decay"]
    )


def _adagrad(ps: Iterable[Any], lr: float, p: dict[str, Any], device: str) -> Any:
    import torch

    return torch.optim.Adagrad(ps, lr=lr, eps=p["eps"], weight_decay=p["weight_decay"])


_WD = Param(
    "weight_decay", "Weight decay", "float", 0.0, 0.0, 1.0, help="Shrinks weights every step (like L2)"
)
_EPS = Param(
    "eps",
    "Epsilon",
    "float",
    1e-8,
    1e-12,
    1.0,
    log=True,
    help="Guards against division by zero (0 would divide by zero)",
)
_MOMENTUM = Param("momentum", "Momentum", "float", 0.0, 0.0, 0.999, help="Keeps a fraction of the last step")

OPTIMIZERS: dict[str, OptimizerSpec] = {
    s.id: s
    for s in (
        OptimizerSpec(
            "sgd",
            "SGD",
            (
                _MOMENTUM,
                Param("nesterov", "Nesterov", "bool", False, help="Look ahead along the momentum"),
                _WD,
            ),
            "Plain gradient descent: step = −lr × gradient, optionally with momentum.",
            _sgd,
        ),
        OptimizerSpec(
            "adam",
            "Adam",
            (
                Param(
                    "beta1", "β₁", "float", 0.9, 0.0, 0.9999, help="Decay of the gradient average (momentum)"
                ),
                Param(
                    "beta2", "β₂", "float", 0.999, 0.0, 0.99999, help="Decay of the squared-gradient average"
                ),
                _EPS,
                _WD,
            ),
            "Momentum plus a per-weight step size from the running squared gradient.",
            _adam,
        ),
        OptimizerSpec(
            "adamw",
            "AdamW",
            (
                Param("beta1", "β₁", "float", 0.9, 0.0, 0.9999),
                Param("beta2", "β₂", "float", 0.999, 0.0, 0.99999),
                _EPS,
                Param("weight_decay", "Weight decay", "float", 0.01, 0.0, 1.0),
            ),
            "Adam with weight decay applied directly to the weights instead of through the gradient.",
            _adamw,
        ),
        OptimizerSpec(
            "rmsprop",
            "RMSprop",
            (
                Param("alpha", "Smoothing α", "float", 0.99, 0.0, 0.9999),
                _EPS,
                _MOMENTUM,
                _WD,
            ),
            "Divides each step by a running root-mean-square of recent gradients.",
            _rmsprop,
        ),
        OptimizerSpec(
            "adagrad",
            "Adagrad",
            (Param("eps", "Epsilon", "float", 1e-10, 1e-12, 1.0, log=True), _WD),
            "Per-weight step sizes that shrink with the sum of all past squared gradients.",
            _adagrad,
        ),
    )
}


@dataclass(frozen=True)
class ScheduleSpec:
    id: str
    name: str
    params: tuple[Param, ...]
    description: str
    factor: Callable[[int, int, dict[str, Any]], float]  # (epoch, total_epochs, params) -> lr multiplier


SCHEDULES: dict[str, ScheduleSpec] = {
    s.id: s
    for s in (
        ScheduleSpec("constant", "Constant", (), "The learning rate never changes.", lambda e, n, p: 1.0),
        ScheduleSpec(
            "step",
            "Step decay",
            (
                Param("step_size", "Every (epochs)", "int", 10, 1, 100000),
                Param("gamma", "Multiply by", "float", 0.5, 0.0, 1.0),
            ),
            "Multiplies the learning rate by γ every few epochs.",
            lambda e, n, p: p["gamma"] ** (e // p["step_size"]),
        ),
        ScheduleSpec(
            "exponential",
            "Exponential decay",
            (Param("gamma", "Multiply by (per epoch)", "float", 0.95, 0.0, 1.0),),
            "Multiplies the learning rate by γ after every epoch.",
            lambda e, n, p: p["gamma"] ** e,
        ),
        ScheduleSpec(
            "cosine",
            "Cosine annealing",
            (Param("min_factor", "Final fraction", "float", 0.0, 0.0, 1.0),),
            "Glides the learning rate down along half a cosine to a final fraction by the last epoch.",
            lambda e, n, p: (
                p["min_factor"]
                + (1 - p["min_factor"]) * 0.5 * (1 + math.cos(math.pi * min(e, n) / max(1, n)))
            ),
        ),
        ScheduleSpec(
            "plateau",
            "Reduce on plateau",
            (
                Param("factor", "Multiply by", "float", 0.5, 0.0, 1.0),
                Param("patience", "Patience (epochs)", "int", 5, 0, 10000),
            ),
            "Cuts the learning rate when the validation loss stops improving.",
            lambda e, n, p: 1.0,  # driven by the trainer, which sees the validation loss
        ),
    )
}


class LRController:
    """Works out the learning rate per step: base lr x schedule x linear warm-up.

    One object instead of torch's schedulers, so the GUI can change the base learning rate
    mid-run and the change applies at once without a reset.
    """

    def __init__(
        self, optimizer: Any, base_lr: float, schedule: dict[str, Any], epochs: int, steps_per_epoch: int
    ):
        self.optimizer = optimizer
        self.base_lr = base_lr
        self.spec = SCHEDULES[schedule["id"]]
        self.params = schedule["params"]
        self.warmup_steps = schedule["warmup_epochs"] * steps_per_epoch
        self.epochs = epochs
        self.plateau_factor = 1.0
        self._best = math.inf
        self._bad_epochs = 0
        self._step = 0
        self.lr = base_lr
        self.begin_epoch(0)

    def begin_epoch(self, epoch: int) -> None:
        self._epoch_factor = self.spec.factor(epoch, self.epochs, self.params) * self.plateau_factor
        self._apply()

    def set_base_lr(self, lr: float) -> None:
        self.base_lr = lr
        self._apply()

    def step(self, global_step: int) -> None:
        """Called before each optimizer step; only warm-up changes the rate within an epoch."""
        if self._step < self.warmup_steps:  # one extra call after warm-up ends lands exactly on 1.0
            self._step = global_step
            self._apply()

    def end_epoch(self, val_loss: float) -> None:
        if self.spec.id != "plateau" or not math.isfinite(val_loss):
            return
        if val_loss < self._best - 1e-12:
            self._best, self._bad_epochs = val_loss, 0
        else:
            self._bad_epochs += 1
            if self._bad_epochs > self.params["patience"]:
                self.plateau_factor *= self.params["factor"]
                self._bad_epochs = 0

    def _apply(self) -> None:
        warm = min(1.0, (self._step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        self.lr = self.base_lr * self._epoch_factor * warm
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr


def get_optimizer_spec(opt_id: Any) -> OptimizerSpec:
    if not isinstance(opt_id, str) or opt_id not in OPTIMIZERS:  # a list read from a file is no name
        raise LossLabError(
            f"unknown optimizer {shown(opt_id)}; known: {', '.join(OPTIMIZERS)}", "optimizer.id"
        )
    return OPTIMIZERS[opt_id]


def get_schedule_spec(schedule_id: Any) -> ScheduleSpec:
    if not isinstance(schedule_id, str) or schedule_id not in SCHEDULES:
        raise LossLabError(
            f"unknown schedule {shown(schedule_id)}; known: {', '.join(SCHEDULES)}", "optimizer.schedule.id"
        )
    return SCHEDULES[schedule_id]
