"""Target distributions for a GAN to imitate. Returns (X float64 (N, d), zeros (N,), all-False mask)."""

from __future__ import annotations

import math

import numpy as np

from losslab.core.data.images import draw_shapes

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


IMAGE_KINDS = frozenset({"gan_shapes"})  # GAN datasets whose points are flattened square images


def gan_shapes(
    rng: np.random.Generator, n_samples: int, image_size: int, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Small grey images of the four shapes (images.draw_shapes), flattened to (N, size·size) pixels."""
    images, _, _ = draw_shapes(rng, n_samples, image_size, noise)
    return images.reshape(n_samples, -1), np.zeros(n_samples), np.zeros(n_samples, dtype=bool)


def image_size(kind: str, n_features: int) -> int | None:
    """The side of a GAN dataset's square images, or None for point data."""
    side = math.isqrt(n_features)
    return side if kind in IMAGE_KINDS and side * side == n_features else None


# A generated point belongs to the nearest mode within this many of the data's standard deviations
# (plus a small floor for near-noiseless data); a mode counts as covered when at least this share of
# the generated points belongs to it (a uniform generator gives each of the 8 ring modes 12.5%).
MODE_RADIUS_SIGMAS = 3.0
MODE_RADIUS_FLOOR = 0.1
MODE_MIN_SHARE = 0.02


def mode_centres(kind: str) -> np.ndarray | None:
    """The centres (display units, shape (modes, d)) of a GAN dataset's modes, or None if unknown."""
    if kind == "gan_ring":
        angle = 2.0 * np.pi * np.arange(RING_MODES) / RING_MODES
        return RING_RADIUS * np.column_stack([np.cos(angle), np.sin(angle)])
    if kind == "gan_1d":
        return np.array(MODES_1D)[:, None]
    return None


def mode_radius(noise: float) -> float:
    return MODE_RADIUS_SIGMAS * noise + MODE_RADIUS_FLOOR


def mode_counts(points: np.ndarray, centres: np.ndarray, radius: float) -> np.ndarray:
    """How many of ``points`` (N, d) lie within ``radius`` of each centre (nearest centre only)."""
    dist = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    near = dist[np.arange(len(points)), nearest] <= radius
    return np.bincount(nearest[near], minlength=len(centres))


def modes_covered(counts: np.ndarray, n_points: int) -> int:
    """How many modes hold at least MODE_MIN_SHARE of ``n_points`` generated points."""
    return int(np.sum(counts >= max(1.0, MODE_MIN_SHARE * n_points)))
