"""Soft labels: points several annotators labelled, who do not always agree.

The points come from k overlapping round clusters on a circle. Each annotator names a class by
drawing it from the true posterior P(class | x) of that mixture (equal priors, the same spread), so
near a boundary they disagree as often as the data itself is ambiguous. The generator returns the
votes, shape (N, annotators); ``hard_and_soft`` turns them into the two targets a dataset holds:
the class the first annotator chose (the hard label, as if only one label had been collected) and
the share of annotators choosing each class (the soft label, the target distribution a loss such as
KL divergence can train on). Both estimate the same thing, the answer of an annotator drawn at
random, so a model's calibration is measured against the same truth whichever it trained on.
"""

from __future__ import annotations

import numpy as np

from losslab.core.data.classification import BLOB_RADIUS, class_counts, labels_for


def posterior(x: np.ndarray, centres: np.ndarray, spread: float) -> np.ndarray:
    """P(class | x) for equally likely round Gaussian clusters of standard deviation ``spread``."""
    d2 = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    logits = -d2 / (2.0 * max(spread, 1e-6) ** 2)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    out: np.ndarray = p / p.sum(axis=1, keepdims=True)
    return out


def annotated(
    rng: np.random.Generator, n_samples: int, n_classes: int, spread: float, annotators: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X (N, 2), votes int64 (N, annotators), all-False mask): each annotator's class per point."""
    counts = class_counts(n_samples, n_classes)
    angle = 2.0 * np.pi * np.arange(n_classes) / n_classes
    centres = BLOB_RADIUS * np.column_stack([np.cos(angle), np.sin(angle)])
    source = labels_for(counts)
    x = centres[source] + spread * rng.standard_normal((n_samples, 2))
    p = posterior(x, centres, spread)
    # One uniform draw per annotator and point, turned into a class through the posterior's CDF.
    cdf = np.cumsum(p, axis=1)
    u = rng.random((n_samples, annotators, 1))
    votes = np.minimum((u > cdf[:, None, :]).sum(axis=2), n_classes - 1).astype(np.int64)
    return x, votes, np.zeros(n_samples, dtype=bool)


def hard_and_soft(votes: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(the first annotator's class (N,), the share of annotators choosing each class (N, k))."""
    shares = np.stack([(votes == c).mean(axis=1) for c in range(n_classes)], axis=1)
    return votes[:, 0].copy(), shares
