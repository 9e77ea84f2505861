"""The learning-rate range test (L. Smith, 2015; popularised by fast.ai).

Starting from the experiment's initial weights, train for ``steps`` mini-batches while the
learning rate grows exponentially from ``start`` to ``end``, recording the loss after each step.
Too small a rate barely moves the loss; a good one makes it fall fast; too large a one makes it
climb and blow up. The suggestion is where the smoothed loss falls most steeply per decade of
learning rate, before its minimum. The sweep ends early once the loss has clearly exploded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from losslab.core.data import Dataset
from losslab.core.errors import Cancelled, LossLabError
from losslab.core.experiment import Experiment
from losslab.core.tasks import GAN
from losslab.core.trainer import make_trainer

EXPLODED = 4.0  # the sweep stops once the running loss exceeds this multiple of its lowest value
CLEAR_DROP = 0.1  # no suggestion unless the loss fell at least this fraction below where it started
MIN_STEPS = 5
MAX_STEPS = 100_000  # as `losslab lr-find --steps` (cli.LR_FIND_MAX_STEPS): 100 to 1,000 is the usual


__all__ = ["Cancelled", "LRFinderResult", "lr_find", "round_lr", "smooth", "suggest"]


@dataclass
class LRFinderResult:
    lrs: np.ndarray  # the learning rates tried, one per step
    losses: np.ndarray  # the loss after each step, smoothed (what to read the curve from)
    raw_losses: np.ndarray  # the loss of each step's batch as it was
    suggestion: float | None  # steepest descent before the minimum; None when the loss never fell
    min_lr: float  # the rate at the lowest smoothed loss
    stopped_early: bool  # the loss exploded before the end of the range
    message: str

    def summary(self, rows: int = 12) -> list[tuple[float, float]]:
        """About ``rows`` (lr, smoothed loss) pairs spread evenly along the curve."""
        n = len(self.lrs)
        idx = sorted(set(np.linspace(0, n - 1, min(rows, n)).round().astype(int).tolist())) if n else []
        return [(float(self.lrs[i]), float(self.losses[i])) for i in idx]


def smooth(values: np.ndarray, radius: int) -> np.ndarray:
    """Centred moving average (no lag, so the suggestion is not shifted to larger rates)."""
    n = len(values)
    if n == 0 or radius <= 0:
        return values.astype(np.float64)
    out = np.empty(n)
    for i in range(n):
        part = values[max(0, i - radius) : i + radius + 1]
        part = part[np.isfinite(part)]
        out[i] = part.mean() if part.size else math.nan
    return out


def suggest(lrs: np.ndarray, losses: np.ndarray, span: int = 2) -> tuple[float | None, float]:
    """(steepest-descent rate before the minimum or None, rate at the minimum) of a smoothed curve.

    The slope at each point is taken over ``span`` points either side, so batch noise does not
    pick the answer.
    """
    finite = np.isfinite(losses)
    if finite.sum() < 3:
        return None, float(lrs[0]) if len(lrs) else math.nan
    lowest = int(np.argmin(np.where(finite, losses, np.inf)))
    min_lr = float(lrs[lowest])
    if lowest < 2:
        return None, min_lr
    head = losses[: max(3, len(losses) // 10)]
    start = float(np.median(head[np.isfinite(head)])) if np.isfinite(head).any() else math.nan
    if not losses[lowest] < (1 - CLEAR_DROP) * start:  # only noise: no real descent to read
        return None, min_lr
    logs = np.log10(lrs[: lowest + 1])
    curve = losses[: lowest + 1]
    hi = np.minimum(np.arange(lowest + 1) + span, lowest)
    lo = np.maximum(np.arange(lowest + 1) - span, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (curve[hi] - curve[lo]) / (logs[hi] - logs[lo])
    slope = np.where(np.isfinite(slope), slope, np.inf)
    steepest = int(np.argmin(slope))
    if not slope[steepest] < 0:
        return None, min_lr
    return float(lrs[steepest]), min_lr


def round_lr(lr: float) -> float:
    """Two significant digits: 0.0123456 -> 0.012."""
    return float(f"{lr:.2g}")


def lr_find(
    experiment: Experiment,
    start: float = 1e-6,
    end: float = 10.0,
    steps: int = 100,
    *,
    dataset: Dataset | None = None,
    device: str | None = None,
    progress: Callable[[int, int, float, float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> LRFinderResult:
    """Run the range test on a fresh copy of the experiment's model (its initial weights).

    ``progress(done, total, lr, loss)`` is called after every step; ``cancelled()`` returning True
    stops the sweep by raising :class:`Cancelled`. Nothing outside this call is trained or changed,
    so it is safe to run beside a training run (it uses its own model and optimizer).
    """
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, end))
    if not numbers or not 0 < start < end or not math.isfinite(end):
        raise LossLabError(
            f"the range must satisfy 0 < start < end, both finite, got start={start!r}, end={end!r}", "start"
        )
    if not isinstance(steps, int) or isinstance(steps, bool) or not MIN_STEPS <= steps <= MAX_STEPS:
        raise LossLabError(
            f"must be a whole number from {MIN_STEPS} to {MAX_STEPS:,}, got {steps!r}", "steps"
        )
    # The trainer seeds torch's global generator for its initial weights; fork it so a training run
    # going on in another thread keeps its own random stream.
    with torch.random.fork_rng(devices=[]):
        trainer = make_trainer(experiment, dataset, device=device)
    if trainer.dataset.task == GAN:
        raise LossLabError(
            "the learning-rate finder needs a loss that should go down; a GAN's generator loss rises "
            "and falls as the discriminator learns, so there is nothing to read from it",
            "loss.id",
        )
    lrs = np.geomspace(start, end, steps)
    raw = np.full(steps, math.nan)
    x, y = trainer.x_train, trainer.y_train
    n, bs = len(x), trainer.batch_size
    gen = torch.Generator().manual_seed(experiment.training["seed"])
    order = torch.randperm(n, generator=gen)
    pos = 0
    running, best = math.nan, math.inf
    done = 0
    stopped_early = False
    trainer.model.train()
    for i, lr in enumerate(lrs):
        if cancelled is not None and cancelled():
            raise Cancelled
        if pos + bs > n:  # a new pass over the data
            order, pos = torch.randperm(n, generator=gen), 0
        idx = order[pos : pos + bs].to(trainer.device)
        pos += bs
        for group in trainer.optimizer.param_groups:
            group["lr"] = float(lr)
        value, _, _ = trainer._train_step(x[idx], y[idx])
        raw[i] = value
        done = i + 1
        if progress is not None:
            progress(done, steps, float(lr), value)
        if not math.isfinite(value):
            stopped_early = True
            break
        running = value if math.isnan(running) else 0.7 * running + 0.3 * value
        best = min(best, running)
        if i >= MIN_STEPS and running > EXPLODED * best:
            stopped_early = True
            break
    lrs, raw = lrs[:done], raw[:done]
    smoothed = smooth(raw, max(2, steps // 20))
    suggestion, min_lr = suggest(lrs, smoothed, max(1, steps // 20))
    if suggestion is not None:
        suggestion = round_lr(suggestion)
        message = (
            f"Suggested learning rate: {suggestion:g}, where the loss falls fastest. The loss was lowest "
            f"near {min_lr:.2g}; rates beyond that make it climb."
        )
    else:
        message = (
            "No clear suggestion: the loss did not fall clearly anywhere in this range. Try a wider "
            "range (a smaller start or a larger end) or more steps (some networks need a while to get "
            "going), or check the data and the loss."
        )
    return LRFinderResult(lrs, smoothed, raw, suggestion, min_lr, stopped_early, message)
