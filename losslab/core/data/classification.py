"""Binary and multi-class generators. Each returns (X float64 (N, 2), y int64 labels, flipped-label mask).

Labels are generated clean and flipped afterwards, so the mask marks exactly the samples whose label
disagrees with the region they came from.
"""

from __future__ import annotations

import numpy as np

from losslab.core.data.dataset import pick_share


def class_counts(n: int, k: int, imbalance: float = 0.0) -> list[int]:
    """Samples per class summing to ``n``; with imbalance r, class 1 is (1 - r) times as common as class 0.

    Keeping the total fixed means n_samples always means the same thing, whatever the imbalance.
    """
    if k == 2 and imbalance > 0:
        n1 = max(int(n * (1.0 - imbalance) / (2.0 - imbalance)), 1)
        return [n - n1, n1]
    counts = [n // k] * k
    for i in range(n % k):
        counts[i] += 1
    return counts


def labels_for(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def flip_labels(
    rng: np.random.Generator, y: np.ndarray, fraction: float, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Give ``round(fraction * N)`` random samples a different (wrong) class; return (y, mask)."""
    idx, mask = pick_share(rng, len(y), fraction)
    if len(idx):
        # Adding 1..k-1 modulo k always lands on another class; for k = 2 that is 1 - y.
        y[idx] = (y[idx] + rng.integers(1, k, size=len(idx))) % k
    return y, mask


def _jitter(rng: np.random.Generator, x: np.ndarray, noise: float) -> np.ndarray:
    return x + noise * rng.standard_normal(x.shape)


def moons(
    rng: np.random.Generator, n_samples: int, noise: float, label_noise: float, imbalance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n0, n1 = class_counts(n_samples, 2, imbalance)
    t0 = rng.uniform(0.0, np.pi, size=n0)
    t1 = rng.uniform(0.0, np.pi, size=n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    x = _jitter(rng, np.vstack([upper, lower]), noise)
    y, mask = flip_labels(rng, labels_for([n0, n1]), label_noise, 2)
    return x, y, mask


def circles(
    rng: np.random.Generator,
    n_samples: int,
    noise: float,
    factor: float,
    label_noise: float,
    imbalance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class 0 on the unit circle, class 1 on a circle of radius ``factor`` inside it."""
    counts = class_counts(n_samples, 2, imbalance)
    radius = np.repeat([1.0, factor], counts)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n_samples)
    x = _jitter(rng, radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), noise)
    y, mask = flip_labels(rng, labels_for(counts), label_noise, 2)
    return x, y, mask


def xor(
    rng: np.random.Generator, n_samples: int, noise: float, label_noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform points in [-1, 1]^2; class 1 where x1 and x2 have opposite signs. Not linearly separable."""
    clean = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = ((clean[:, 0] > 0) != (clean[:, 1] > 0)).astype(np.int64)
    x = _jitter(rng, clean, noise)
    y, mask = flip_labels(rng, y, label_noise, 2)
    return x, y, mask


def gaussians(
    rng: np.random.Generator,
    n_samples: int,
    noise: float,
    separation: float,
    label_noise: float,
    imbalance: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two round blobs (std ``noise``) whose centres are ``separation`` apart along the diagonal."""
    counts = class_counts(n_samples, 2, imbalance)
    direction = np.array([1.0, 1.0]) / np.sqrt(2.0)
    centres = np.array([-0.5, 0.5])[:, None] * separation * direction
    x = _jitter(rng, np.repeat(centres, counts, axis=0), noise)
    y, mask = flip_labels(rng, labels_for(counts), label_noise, 2)
    return x, y, mask


def _spiral_arms(
    rng: np.random.Generator, counts: list[int], noise: float, turns: float
) -> tuple[np.ndarray, np.ndarray]:
    k = len(counts)
    y = labels_for(counts)
    # sqrt spreads points evenly along the arm's length instead of piling them up in the centre.
    t = np.sqrt(rng.uniform(0.0, 1.0, size=len(y)))
    angle = 2.0 * np.pi * (turns * t + y / k)
    x = _jitter(rng, t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), noise)
    return x, y


def spiral(
    rng: np.random.Generator, n_samples: int, noise: float, turns: float, label_noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = _spiral_arms(rng, class_counts(n_samples, 2), noise, turns)
    y, mask = flip_labels(rng, y, label_noise, 2)
    return x, y, mask


def spiral_k(
    rng: np.random.Generator,
    n_samples: int,
    n_classes: int,
    noise: float,
    turns: float,
    label_noise: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y = _spiral_arms(rng, class_counts(n_samples, n_classes), noise, turns)
    y, mask = flip_labels(rng, y, label_noise, n_classes)
    return x, y, mask


BLOB_RADIUS = 3.0  # blob centres sit evenly on a circle of this radius


def blobs(
    rng: np.random.Generator, n_samples: int, n_classes: int, spread: float, label_noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = class_counts(n_samples, n_classes)
    angle = 2.0 * np.pi * np.arange(n_classes) / n_classes
    centres = BLOB_RADIUS * np.column_stack([np.cos(angle), np.sin(angle)])
    x = _jitter(rng, np.repeat(centres, counts, axis=0), spread)
    y, mask = flip_labels(rng, labels_for(counts), label_noise, n_classes)
    return x, y, mask
