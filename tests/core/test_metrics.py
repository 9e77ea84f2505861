"""Accuracy, F1 and calibration against plain per-class and per-sample loops (the epoch-end metrics
are written vectorised for speed, #19; these are what they must equal)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from losslab.core.metrics import CALIBRATION_BINS, classification_metrics, expected_calibration_error


def f1_by_loop(labels: np.ndarray, target: np.ndarray, n_classes: int) -> float:
    classes = [1] if n_classes <= 2 else range(n_classes)
    f1s = []
    for c in classes:
        tp = sum(1 for a, b in zip(labels, target, strict=True) if a == c and b == c)
        fp = sum(1 for a, b in zip(labels, target, strict=True) if a == c and b != c)
        fn = sum(1 for a, b in zip(labels, target, strict=True) if a != c and b == c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return sum(f1s) / len(f1s)


def ece_by_loop(probs: np.ndarray, target: np.ndarray) -> float:
    """Per sample: the predicted class (the first of equal probabilities), its probability, a hit."""
    bins: list[list[tuple[float, float]]] = [[] for _ in range(CALIBRATION_BINS)]
    for i in range(len(probs)):
        row = [1.0 - float(probs[i]), float(probs[i])] if probs.ndim == 1 else [float(v) for v in probs[i]]
        predicted = max(range(len(row)), key=lambda k: (row[k], -k))
        truth = [1.0 - float(target[i]), float(target[i])] if probs.ndim == 1 else None
        hit = truth[predicted] if truth is not None else float(predicted == int(target[i]))
        confidence = row[predicted]
        bins[min(int(confidence * CALIBRATION_BINS), CALIBRATION_BINS - 1)].append((confidence, hit))
    total = sum(len(b) for b in bins)
    return sum(
        len(b) / total * abs(sum(h for _, h in b) / len(b) - sum(c for c, _ in b) / len(b)) for b in bins if b
    )


@pytest.mark.parametrize("n_classes", [2, 3, 10])
@pytest.mark.parametrize("size", [1, 7, 300])
def test_accuracy_and_f1_equal_the_per_class_loop(n_classes, size):
    rng = np.random.default_rng(n_classes * 1000 + size)
    labels = rng.integers(0, n_classes, size)
    target = rng.integers(0, n_classes, size)
    got = classification_metrics(labels, target, n_classes)
    assert got["accuracy"] == pytest.approx(float(np.mean(labels == target)), abs=1e-15)
    assert got["f1"] == pytest.approx(f1_by_loop(labels, target, n_classes), abs=1e-15)


def test_f1_counts_a_class_never_predicted_nor_present_as_perfect():
    labels = target = np.zeros(6, dtype=np.int64)
    assert classification_metrics(labels, target, 2)["f1"] == 1.0  # no class 1 anywhere
    assert classification_metrics(labels, target, 4)["f1"] == 1.0
    assert classification_metrics(np.ones(4, dtype=np.int64), np.zeros(4), 2)["f1"] == 0.0


@pytest.mark.parametrize("soft", [False, True])
def test_binary_ece_equals_the_per_sample_loop(soft):
    rng = np.random.default_rng(7)
    probs = rng.random(400).astype(np.float32)
    probs[:40] = 0.5  # a tie: argmax's first class, class 0
    target = rng.random(400) if soft else rng.integers(0, 2, 400).astype(np.float32)
    assert expected_calibration_error(probs, target) == pytest.approx(ece_by_loop(probs, target), abs=1e-12)


def test_multiclass_ece_equals_the_per_sample_loop():
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(300, 5))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    target = rng.integers(0, 5, 300)
    assert expected_calibration_error(probs, target) == pytest.approx(ece_by_loop(probs, target), abs=1e-12)
    assert math.isnan(expected_calibration_error(np.array([0.2, math.nan]), np.array([0, 1])))
