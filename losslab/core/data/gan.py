"""Target distributions for a GAN to imitate. Returns (X float64 (N, d), zeros (N,), all-False mask)."""

from __future__ import annotations

import numpy as np

RING_MODES = 8
RING_RADIUS = 2.0
MODES_1D = (-2.0, 2.0)


def gan_ring(
    rng: np.random.Generator, n_samples: int, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eight tight Gaussians evenly spaced on a circle: mode collapse shows as missing modes."""
    mode = rng.integers(0, RING_MODES, size=n_samples)
    angle = 2.0 * np.pi * mode / RING_MODES
    centres = RING_RADIUS * np.column_stack([np.cos(angle), np.sin(angle)])
    x = centres + noise * rng.standard_normal((n_samples, 2))
    return x, np.zeros(n_samples), np.zeros(n_samples, dtype=bool)


def gan_1d(
    rng: np.random.Generator, n_samples: int, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An equal mixture of two 1-D Gaussians at -2 and +2."""
    centre = np.where(rng.random(n_samples) < 0.5, MODES_1D[0], MODES_1D[1])
    x = centre + noise * rng.standard_normal(n_samples)
    return x[:, None], np.zeros(n_samples), np.zeros(n_samples, dtype=bool)
