"""What the Calibration tab draws: the reliability diagram of a classifier, sent by a probe.

The numbers come from ``metrics.reliability`` on the validation set (the training set when there is
none), against the targets the run trains on: hard labels, or the soft labels a loss such as KL
divergence uses, whose hit is the probability they give the predicted class.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from losslab.core.metrics import CALIBRATION_BINS, expected_calibration_error, reliability
from losslab.core.probe import Probe
from losslab.core.tasks import BINARY, MULTICLASS

if TYPE_CHECKING:
    from losslab.core.base_trainer import Trainer


@dataclass
class CalibrationSnapshot:
    epoch: int
    split: str  # "validation" or "training"
    confidence: np.ndarray  # (bins,) mean confidence per bin, NaN when empty
    accuracy: np.ndarray  # (bins,) accuracy (or expected accuracy against soft labels) per bin
    counts: np.ndarray  # (bins,) samples per bin
    ece: float
    mean_confidence: float
    mean_accuracy: float


def calibration_snapshot(trainer: Trainer, bins: int = CALIBRATION_BINS) -> CalibrationSnapshot | None:
    """The reliability diagram of ``trainer``'s model now, or None for a task without classes."""
    if trainer.dataset.task not in (BINARY, MULTICLASS):
        return None
    x, y, split = trainer.x_val, trainer.y_val, "validation"
    if len(x) == 0:
        x, y, split = trainer.x_train, trainer.y_train, "training"
    if len(x) == 0:
        return None
    probs = trainer.probabilities(trainer.outputs_now(x)).cpu().numpy()  # at an epoch end: its outputs
    target = y.cpu().numpy()
    conf, acc, counts = reliability(probs, target, bins)
    total = max(float(counts.sum()), 1.0)
    full = counts > 0
    return CalibrationSnapshot(
        trainer.epoch,
        split,
        conf,
        acc,
        counts,
        expected_calibration_error(probs, target, bins),
        float(np.sum(conf[full] * counts[full]) / total),
        float(np.sum(acc[full] * counts[full]) / total),
    )


class CalibrationProbe(Probe):
    """Sends a CalibrationSnapshot at epoch ends, at most every ``interval`` seconds."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last = -math.inf

    def on_epoch(self, trainer: Trainer) -> object | None:
        now = time.perf_counter()
        if now - self._last < self.interval:
            return None
        self._last = now
        return calibration_snapshot(trainer)
