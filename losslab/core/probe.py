"""Probes: pluggable observers of a training run (diagnostics, per-sample losses, early stopping).

A probe is attached with ``trainer.probes.append(probe)``. The trainer calls ``on_step`` after
every ``every``-th optimizer step (gradients of that step are still in ``.grad``) and ``on_epoch``
after each epoch's evaluation. Whatever they return (if not None) is passed to the run's callback
as an event, so the GUI receives it through the worker like any other event. Probes run on the
training thread and must return plain data (floats, fresh numpy arrays), never tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the trainer imports this module
    from torch import Tensor

    from losslab.core.base_trainer import Trainer


class Probe:
    every: int = 0  # steps between on_step calls; 0 = never per step
    # Whether on_epoch acts on the training (stops it, restores weights) and so must run before the
    # next step: then the epoch end is evaluated in place. Otherwise it may be evaluated on a second
    # core while the next steps train, and on_epoch runs a few steps later with the trainer shown as
    # that epoch end was: its weights, step, epoch and last batch (not its gradients; epoch_overlap.py).
    acts_at_epoch_end: bool = False

    def on_step(self, trainer: Trainer, xb: Tensor, yb: Tensor) -> object | None:
        """After an optimizer step: an event for the run's callback, or None."""
        return None

    def on_epoch(self, trainer: Trainer) -> object | None:
        """After an epoch's evaluation: an event for the run's callback, or None."""
        return None
