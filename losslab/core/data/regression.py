"""Regression generators. Each returns (X float64 (N, d), y float64 (N,), outlier mask) in display units.

Outliers always sit far *above* the true curve: one-sided errors show most clearly how a squared loss
drags the fit towards them while an absolute or robust loss does not.
"""

from __future__ import annotations

import numpy as np

from losslab.core.data.dataset import pick_share

HOUSE_NOISE_STD = 25_000.0  # dollars of price scatter at noise = 1


def add_outliers(
    rng: np.random.Generator, y: np.ndarray, fraction: float, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """Push ``round(fraction * N)`` random targets up by U(low, high); return (y, mask of those samples)."""
    idx, mask = pick_share(rng, len(y), fraction)
    if len(idx):
        y[idx] += rng.uniform(low, high, size=len(idx))
    return y, mask


def house_prices(
    rng: np.random.Generator, n_samples: int, noise: float, outlier_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """price = 50,000 + 150 * sqft + noise * N(0, $25k); outliers are overpriced by $300k-$600k."""
    sqft = rng.uniform(500.0, 3500.0, size=n_samples)
    price = 50_000.0 + 150.0 * sqft + noise * HOUSE_NOISE_STD * rng.standard_normal(n_samples)
    price, mask = add_outliers(rng, price, outlier_fraction, 300_000.0, 600_000.0)
    return sqft[:, None], price, mask


def sine(
    rng: np.random.Generator, n_samples: int, noise: float, outlier_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = sin(2x) on [-pi, pi] (two periods) plus Gaussian noise; outliers lie 3-6 above the curve."""
    x = rng.uniform(-np.pi, np.pi, size=n_samples)
    y = np.sin(2.0 * x) + noise * rng.standard_normal(n_samples)
    y, mask = add_outliers(rng, y, outlier_fraction, 3.0, 6.0)
    return x[:, None], y, mask


PLANE_COEFFS = (2.0, -3.0, 1.0)  # a, b, c in y = a*x1 + b*x2 + c


def plane(
    rng: np.random.Generator, n_samples: int, noise: float, outlier_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = 2*x1 - 3*x2 + 1 + noise on [-3, 3]^2; outliers lie 20-40 above the plane."""
    a, b, c = PLANE_COEFFS
    x = rng.uniform(-3.0, 3.0, size=(n_samples, 2))
    y = a * x[:, 0] + b * x[:, 1] + c + noise * rng.standard_normal(n_samples)
    y, mask = add_outliers(rng, y, outlier_fraction, 20.0, 40.0)
    return x, y, mask
