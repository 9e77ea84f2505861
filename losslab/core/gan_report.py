"""What a GAN run reports to a watcher, without torch: the epoch snapshot the GAN view draws and the
rule for a generator gradient that has collapsed. The window imports this before torch has loaded."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The generator's gradient has collapsed (vanished) once its norm falls below this share of the norm
# the non-saturating loss −log D would give at the same weights: the discriminator rejects the fakes
# so surely that log(1 − D) is flat there, while −log D would still say which way to move.
COLLAPSE_FRACTION = 0.05


def collapsed(norm: float, reference: float) -> bool:
    """Whether a generator gradient of ``norm`` has vanished next to the non-saturating ``reference``."""
    return math.isfinite(norm) and reference > 0 and norm < COLLAPSE_FRACTION * reference


def collapse_epoch(grad_norms: list[float], references: list[float]) -> int | None:
    """The first epoch (1-based) whose generator gradient had collapsed (``collapsed``), or None:
    where a saturating generator loss stopped teaching. Arguments: the g_grad and g_grad_ref metrics."""
    for epoch, (norm, ref) in enumerate(zip(grad_norms, references, strict=True), start=1):
        if collapsed(norm, ref):
            return epoch
    return None


@dataclass
class GanSnapshot:
    """What the GAN view draws at an epoch end: plain numpy, display units."""

    epoch: int
    real: np.ndarray  # (n, d) training points
    fake: np.ndarray  # (n, d) generated from the run's fixed noise, so frames compare
    axes: tuple[np.ndarray, ...]  # the surface's grid: (xs,) for 1-D data, (xs, ys) for 2-D
    surface: (
        np.ndarray | None
    )  # the discriminator's P(real): (len(xs),) or (len(ys), len(xs)); None for d > 2
    centres: np.ndarray | None  # (modes, d) the data's modes where known
    counts: np.ndarray | None  # generated points near each mode (nearest mode, within ``radius``)
    radius: float
    covered: int | None  # modes holding enough generated points (data.gan.modes_covered)
    image_size: int | None = None  # the points are flattened square images of this side (data.gan)
