"""What the trainer reports while it runs. Plain data (floats and fresh numpy arrays), never tensors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # annotations only: both modules import this one
    from losslab.core.early_stopping import EarlyStopped
    from losslab.core.history import History


@dataclass
class StepBatch:
    """Per-step values since the last report, coalesced (~every 50 ms) so a GUI is not flooded."""

    epoch: int  # epochs completed before these steps (so 0 during the first epoch)
    steps: np.ndarray  # global step numbers, 1-based
    loss: np.ndarray  # total loss that was minimised: data loss + regularization
    data_loss: np.ndarray
    l1: np.ndarray | None  # the L1 term per step, when L1 is on
    l2: np.ndarray | None
    lr: float
    elapsed: float  # seconds of training so far
    steps_per_second: float
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # other per-step series (GAN: discriminator)
    # Epochs completed before each step, in a batch merged from several (see merge_step_batches):
    # None means every step belongs to ``epoch``.
    epochs: np.ndarray | None = None

    def epoch_of_steps(self) -> np.ndarray:
        if self.epochs is not None:
            return self.epochs
        return np.full(len(self.steps), self.epoch, dtype=np.int64)


@dataclass
class EpochEnd:
    epoch: int  # 1-based count of completed epochs
    step: int
    train_loss: float  # data loss over the whole training set, evaluation mode
    val_loss: float  # nan when there is no validation split
    train_metrics: dict[str, float]
    val_metrics: dict[str, float]
    lr: float
    l1: float  # regularization terms at the end of the epoch (0 when off)
    l2: float
    elapsed: float


@dataclass
class Diverged:
    epoch: int
    step: int
    value: float
    message: str


@dataclass
class Notice:
    """Something the user should know that does not stop training (a device fallback, say)."""

    message: str


@dataclass
class Finished:
    history: History
    stopped: bool  # True when the user stopped it early
    diverged: Diverged | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    early_stop: EarlyStopped | None = None  # what a probe ended the run with, else None


def merge_step_batches(batches: list[StepBatch]) -> StepBatch:
    """One StepBatch holding several in order: a consumer that draws a few times a second takes one
    per draw instead of one per epoch (a full-batch epoch is a single step). ``epoch``, ``lr``,
    ``elapsed`` and the rate are the last batch's; ``epochs`` says which epoch each step belongs to."""
    if len(batches) == 1:
        return batches[0]
    last = batches[-1]

    def joined(get: Any) -> np.ndarray | None:
        parts = [get(b) for b in batches]
        if any(p is None for p in parts):
            return None
        return np.concatenate(parts)

    extra_keys = set(last.extra).intersection(*(b.extra for b in batches))
    return StepBatch(
        last.epoch,
        np.concatenate([b.steps for b in batches]),
        np.concatenate([b.loss for b in batches]),
        np.concatenate([b.data_loss for b in batches]),
        joined(lambda b: b.l1),
        joined(lambda b: b.l2),
        last.lr,
        last.elapsed,
        last.steps_per_second,
        {k: np.concatenate([b.extra[k] for b in batches]) for k in extra_keys},
        np.concatenate([b.epoch_of_steps() for b in batches]),
    )
