"""What the model makes of the validation images, for the Images view: a probe on the training thread.

At epoch ends (at most every ``interval`` seconds and within ``budget`` of the training time, and
always at the end of the planned training) it runs the model in evaluation mode over the validation
images and returns plain numpy: every image's class probabilities for a classifier, or P(foreground)
per pixel of the first few images for a segmentation network. The window never runs the model on
its own thread while training changes the weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from losslab.core.probe import Probe

if TYPE_CHECKING:
    from losslab.core.base_trainer import Trainer

INTERVAL_SECONDS = 0.3
BUDGET = 0.1
SHOWN_MASKS = 6  # segmentation: how many validation images' predicted masks are sent


@dataclass
class ValidationImages:
    """The model's view of the validation images after an epoch. Plain numpy."""

    epoch: int
    step: int
    probs: np.ndarray  # classifier: (N_val, K) class probabilities (K = 2 for binary: [1 - p, p]);
    #                    segmentation: (n, H, W) P(foreground) of validation images 0..n-1
    masks: bool  # segmentation


class ValidationImagesProbe(Probe):
    every = 0  # epoch ends only

    def __init__(self, interval: float = INTERVAL_SECONDS, budget: float = BUDGET) -> None:
        self.interval = interval
        self.budget = budget
        self._due = 0.0
        self.measurements = 0

    def on_epoch(self, trainer: Trainer) -> ValidationImages | None:
        last = trainer.epoch >= trainer.experiment.training["epochs"]
        if not last and time.perf_counter() < self._due:
            return None
        start = time.perf_counter()
        event = validation_images(trainer)
        spent = time.perf_counter() - start
        self._due = start + max(self.interval, spent / self.budget)
        self.measurements += 1
        return event


def validation_images(trainer: Trainer) -> ValidationImages:
    """Probabilities for the validation images (see ValidationImages)."""
    ds = trainer.dataset
    x = trainer.x_val[:SHOWN_MASKS] if ds.masks else trainer.x_val
    probs = trainer.probabilities(trainer.outputs_now(x)).detach().cpu().numpy().astype(np.float32)
    if ds.masks:
        probs = probs.reshape(len(probs), *probs.shape[-2:])
    elif probs.ndim == 1:
        probs = np.column_stack([1.0 - probs, probs])
    return ValidationImages(trainer.epoch, trainer.step, probs, ds.masks)


def image_probes(trainer: Trainer) -> list[Probe]:
    """[a ValidationImagesProbe] for a trainer on image data that has none yet, else []."""
    if trainer.dataset.image_shape is None or any(
        isinstance(p, ValidationImagesProbe) for p in trainer.probes
    ):
        return []
    return [ValidationImagesProbe()]
