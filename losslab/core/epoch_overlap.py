"""Epoch-end evaluation on a second core, while the next epoch trains (#19).

A mini-batch epoch ends with a forward pass over the whole training set, which is what LossLab's
per-epoch training loss means (the loss of the weights the epoch ended with, not an average over
weights that kept changing). For a wide network that pass was a quarter of a run's time, on the
training thread. Here it runs on a copy of those weights on another thread, which torch's kernels
let use a second core (they release the GIL), while the training thread goes on with the next
epoch. The numbers are the same as evaluating in place: the same operations on the same weights.

The trainer folds the result into the run (history row, EpochEnd event, good-weights snapshot,
probes) at a batch boundary once it is ready, and always before the next epoch end, a pause, and
the run's end, so events keep their order: what probes return from steps trained meanwhile waits
until then too. While it folds in, the trainer shows that epoch end as it was (``as_it_was``): its
weights are put back in the live model (and the newer ones after), so a probe or the run history
that reads ``trainer.model`` there sees the weights the row was measured on, as in place. Used only
where nothing needs those numbers before the next step (``Trainer._overlaps_evaluation``).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # annotations only: the trainer imports this module
    from losslab.core.base_trainer import Trainer

# Forward multiply-adds (training samples x parameters) below which the evaluation is mostly Python,
# so a second thread would only compete for the GIL: the 2-16-16-1 moons net is 0.3e6, the
# 64-128-10 MLP on 1,800 samples 17e6 (measured faster overlapped), the wide MLP 540e6.
MIN_WORK = 5e6


def spare_core() -> bool:
    """Whether this process may run on more than one core."""
    try:
        return len(os.sched_getaffinity(0)) > 1
    except AttributeError:  # not on Linux
        return (os.cpu_count() or 1) > 1


@dataclass
class EpochResult:
    """An epoch end's numbers, measured on the copy of its weights."""

    train: tuple[float, dict[str, float]]
    val: tuple[float, dict[str, float]]
    l1: float
    l2: float
    train_outputs: torch.Tensor | None
    val_outputs: torch.Tensor | None


@dataclass
class PendingEpoch:
    """An epoch end whose evaluation is under way: what was known when it ended."""

    epoch: int
    step: int
    lr: float
    elapsed: float
    good_states: dict[str, dict[str, Any]] | None  # weight copies, when a snapshot was due
    last_batch: tuple[torch.Tensor, torch.Tensor] | None  # the epoch's last batch (probes look at it)
    future: Future[EpochResult]


class EpochOverlap:
    """One run's evaluation thread and its copy of the model."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.replica = copy.deepcopy(trainer.model).eval().requires_grad_(False)
        source = trainer.model.state_dict(keep_vars=True)
        target = self.replica.state_dict(keep_vars=True)
        self._pairs = [(target[name], tensor) for name, tensor in source.items()]
        self._newer: list[torch.Tensor] | None = None  # the live weights, while as_it_was shows older ones
        self._reg_weights: list[torch.Tensor] = [p for p in self.replica.parameters() if p.ndim > 1]
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="losslab-epoch-eval")
        self.pending: PendingEpoch | None = None

    def submit(
        self, epoch: int, step: int, lr: float, elapsed: float, good_states: Any, last_batch: Any
    ) -> None:
        """Copy the weights as they are now and evaluate them on the evaluation thread."""
        assert self.pending is None, "the last epoch end must be folded in first"
        with torch.no_grad():
            for target, source in self._pairs:
                target.copy_(source)
        future = self._pool.submit(self._evaluate)
        self.pending = PendingEpoch(epoch, step, lr, elapsed, good_states, last_batch, future)

    @contextmanager
    def as_it_was(self) -> Iterator[None]:
        """The live model holds the last submitted epoch end's weights (and buffers) meanwhile; its
        own come back after, bit for bit. Call on the training thread, between steps."""
        with torch.no_grad():
            if self._newer is None:
                self._newer = [live.detach().clone() for _, live in self._pairs]
            else:
                for kept, (_, live) in zip(self._newer, self._pairs, strict=True):
                    kept.copy_(live)
            for old, live in self._pairs:
                live.copy_(old)
        try:
            yield
        finally:
            with torch.no_grad():
                for kept, (_, live) in zip(self._newer, self._pairs, strict=True):
                    live.copy_(kept)

    def ready(self) -> bool:
        return self.pending is not None and self.pending.future.done()

    def take(self) -> tuple[PendingEpoch, EpochResult] | None:
        """The pending epoch end and its numbers, waiting for them if needed; None if none is pending."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        return pending, pending.future.result()  # an error in the evaluation is raised here

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    @torch.no_grad()
    def _evaluate(self) -> EpochResult:
        t = self.trainer
        train: tuple[float, dict[str, float]] = (float("nan"), {})
        val: tuple[float, dict[str, float]] = (float("nan"), {})
        train_out = val_out = None
        if len(t.x_train):
            train_out = self.replica(t.x_train)
            train = t.score(train_out, t.y_train)
        if len(t.x_val):
            val_out = self.replica(t.x_val)
            val = t.score(val_out, t.y_val)
        l1, l2 = t.regularization(self._reg_weights)
        return EpochResult(train, val, float(l1 or 0.0), float(l2 or 0.0), train_out, val_out)
