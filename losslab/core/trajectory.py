"""The path the weights take during training, for drawing it over the loss landscape.

:class:`WeightTrajectoryProbe` records the network's parameters as one vector every few steps
(on the training thread, so each vector is consistent); :class:`Trajectory` keeps a bounded
number of them. Importing this module does not load torch (the Landscape tab is built before).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from losslab.core.probe import Probe

if TYPE_CHECKING:  # annotations only: importing this module must not load torch
    from torch import Tensor

    from losslab.core.base_trainer import Trainer

MAX_TRAJECTORY = 400  # recorded weight vectors; older ones are thinned when there are more


@dataclass
class WeightSnapshot:
    """The network's parameters as one vector at a step (for trajectories and PCA directions)."""

    step: int
    epoch: int
    vector: np.ndarray  # float64, in model.parameters() order


class WeightTrajectoryProbe(Probe):
    """Records the weights every ``every`` steps and at every epoch end, as WeightSnapshot events.

    ``min_seconds`` spaces the snapshots out in time as well (a full-batch run can do thousands of
    epochs a second, and a path of 20 points a second is plenty to draw).
    """

    def __init__(self, every: int = 10, min_seconds: float = 0.0) -> None:
        self.every = max(1, int(every))
        self.min_seconds = min_seconds
        self._last_step = -1
        self._last_time = -math.inf

    def _snap(self, trainer: Trainer) -> WeightSnapshot | None:
        if trainer.step == self._last_step:
            return None
        now = time.perf_counter()
        if now - self._last_time < self.min_seconds and self._last_step >= 0:
            return None
        self._last_step, self._last_time = trainer.step, now
        from losslab.core.weights import flat_params  # here, not at the top: it loads torch

        return WeightSnapshot(trainer.step, trainer.epoch, flat_params(trainer.model).numpy())

    def on_step(self, trainer: Trainer, xb: Tensor, yb: Tensor) -> WeightSnapshot | None:
        return self._snap(trainer)

    def on_epoch(self, trainer: Trainer) -> WeightSnapshot | None:
        return self._snap(trainer)


class Trajectory:
    """A bounded list of weight vectors: when full, every other one is dropped (the path keeps its shape)."""

    def __init__(self, limit: int = MAX_TRAJECTORY) -> None:
        self.limit = limit
        self.steps: list[int] = []
        self.vectors: list[np.ndarray] = []

    def clear(self) -> None:
        self.steps.clear()
        self.vectors.clear()

    def add(self, step: int, vector: np.ndarray) -> None:
        if self.vectors and len(vector) != len(self.vectors[0]):
            self.clear()  # another network
        self.steps.append(step)
        self.vectors.append(np.asarray(vector, dtype=np.float64))
        if len(self.vectors) > self.limit:
            keep = [*range(0, len(self.vectors) - 1, 2), len(self.vectors) - 1]
            self.steps = [self.steps[i] for i in keep]
            self.vectors = [self.vectors[i] for i in keep]

    def __len__(self) -> int:
        return len(self.vectors)
