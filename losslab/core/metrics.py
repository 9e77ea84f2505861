"""Per-epoch quality metrics: accuracy, F1 and calibration (ECE) for classification; R², MAE and RMSE
for regression; IoU (plus the pixel-wise classification metrics) for segmentation masks."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION

# Segmentation is a binary task whose targets are per-pixel masks (Dataset.masks). It is a key of the
# metric tables, not a task of its own: losses and pairings treat it as binary.
MASKS = "masks"
METRIC_NAMES: dict[str, tuple[str, ...]] = {
    REGRESSION: ("r2", "mae", "rmse"),
    BINARY: ("accuracy", "f1", "ece"),
    MULTICLASS: ("accuracy", "f1", "ece"),
    GAN: ("swd", "d_real", "d_fake", "modes", "g_grad", "g_grad_ref"),
    MASKS: ("iou", "accuracy", "f1", "ece"),
}
# The one metric each task plots next to the loss. Masks: IoU, since pixel accuracy rewards a model
# that predicts background everywhere (98.7% at 5% foreground) for learning nothing.
HEADLINE: dict[str, str] = {
    REGRESSION: "r2",
    BINARY: "accuracy",
    MULTICLASS: "accuracy",
    GAN: "swd",
    MASKS: "iou",
}


def metric_kind(task: str, masks: bool = False) -> str:
    """The key of METRIC_NAMES and HEADLINE for a dataset of ``task`` (MASKS for binary masks)."""
    return MASKS if masks and task == BINARY else task


def headline(task: str | None, masks: bool = False) -> str:
    """The headline metric of ``task`` ("accuracy", "r2", "iou" for masks), "" when it has none."""
    return HEADLINE.get(metric_kind(task, masks), "") if task else ""


def headline_of(dataset: object) -> str:
    """The headline metric of a Dataset (anything with ``task`` and ``masks``)."""
    return headline(getattr(dataset, "task", None), bool(getattr(dataset, "masks", False)))


def measured_masks(task: str, columns: Iterable[str]) -> bool:
    """Whether a run of ``task`` with these epoch-row columns was on masks: only masks measure IoU.
    (A stored run keeps its task, binary, and its rows; this is how its headline is IoU again.)"""
    return task == BINARY and any(c in ("train_iou", "val_iou") for c in columns)


LABELS = {
    "r2": "R²",
    "mae": "MAE",
    "rmse": "RMSE",
    "accuracy": "Accuracy",
    "iou": "IoU",
    "f1": "F1",
    "swd": "Distance to the data (sliced Wasserstein)",
    "d_real": "D(real)",
    "d_fake": "D(fake)",
    "ece": "Calibration error (ECE)",
    "modes": "Modes covered",
    "g_grad": "Generator gradient norm",
    "g_grad_ref": "Generator gradient norm under −log D (non-saturating reference)",
}
CALIBRATION_BINS = 10  # equal-width confidence bins of the ECE and the reliability diagram


def regression_metrics(pred: np.ndarray, target: np.ndarray, scale: float = 1.0) -> dict[str, float]:
    """R² (unitless) plus MAE and RMSE in display units (``scale`` undoes target standardization).

    Predictions of a diverging model may be huge or infinite: the metrics are then inf/nan, quietly.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        err = pred - target
        ss_res = float(np.sum(err**2))
        ss_tot = float(np.sum((target - target.mean()) ** 2))
        return {
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
            "mae": float(np.mean(np.abs(err))) * scale,
            "rmse": float(np.sqrt(np.mean(err**2))) * scale,
        }


def classification_metrics(
    labels: np.ndarray, target: np.ndarray, n_classes: int, probs: np.ndarray | None = None
) -> dict[str, float]:
    """Accuracy and F1 (of class 1 for two classes, macro-averaged over classes otherwise), and the
    expected calibration error when the model's ``probs`` are given.

    ``target`` is (N,) labels or (N, K) target distributions (soft labels: their most likely class
    counts for accuracy and F1)."""
    if labels.ndim > 1:  # segmentation masks: every pixel is a sample, plus the overlap per image
        pixel_probs = None if probs is None else np.ravel(probs)
        pixels = classification_metrics(labels.ravel(), np.ravel(target), 2, pixel_probs)
        return {**pixels, "iou": mask_iou(labels, target)}
    metrics = {}
    if probs is not None:
        metrics["ece"] = expected_calibration_error(probs, target)
    if target.ndim == 2:
        target = target.argmax(axis=1)
    target = target.astype(np.int64)
    accuracy = float(np.mean(labels == target))
    # One confusion matrix (rows: true class, columns: predicted) instead of three sums per class.
    k = max(n_classes, 2, int(labels.max(initial=0)) + 1, int(target.max(initial=0)) + 1)
    confusion = np.bincount(target * k + labels, minlength=k * k).reshape(k, k)
    tp = np.diagonal(confusion)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    classes = slice(1, 2) if n_classes <= 2 else slice(0, n_classes)
    tp, wrong = tp[classes], (fp + fn)[classes]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1s = np.where(tp + wrong > 0, 2 * tp / (2 * tp + wrong), 1.0)
    return {"accuracy": accuracy, "f1": float(np.mean(f1s)), **metrics}


def reliability(
    probs: np.ndarray, target: np.ndarray, bins: int = CALIBRATION_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per confidence bin: (mean confidence, accuracy, sample count); empty bins hold NaN and 0.

    ``probs``: P(class 1) (N,) for binary models (or P(foreground) per pixel of masks (N, 1, H, W),
    each pixel counted as a sample), class probabilities (N, K) otherwise. Confidence
    is the probability of the predicted class. ``target``: labels (N,), where a hit counts 1, or
    target distributions (N, K) (or P(class 1) for binary), where a hit counts the probability the
    target gives the predicted class: the accuracy expected against one annotator drawn from it.
    """
    probs = np.asarray(probs, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if probs.ndim > 2:  # segmentation: P(foreground) per pixel, each pixel a binary sample
        probs, target = probs.ravel(), target.ravel()
    if probs.ndim == 1 and target.ndim == 1:  # binary: class 1 when p > 1 − p, as argmax picks
        other = 1.0 - probs
        predicted_one = probs > other
        confidence = np.where(predicted_one, probs, other)
        hit = np.where(predicted_one, target, 1.0 - target)  # hard labels too: 1 for a hit, else 0
    else:
        if probs.ndim == 1:  # binary with (N, 2) target distributions
            probs = np.column_stack([1.0 - probs, probs])
        predicted = probs.argmax(axis=1)
        confidence = probs[np.arange(len(probs)), predicted]
        if target.ndim == 2:
            hit = target[np.arange(len(target)), predicted]
        else:
            hit = (predicted == target.astype(np.int64)).astype(np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    counts = np.bincount(which, minlength=bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(which, confidence, bins) / counts
        acc = np.bincount(which, hit, bins) / counts
    return conf, acc, counts


def expected_calibration_error(probs: np.ndarray, target: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Σ over confidence bins of (share of samples) × |accuracy − mean confidence|: 0 when the model
    is right exactly as often as it is sure (see ``reliability``); NaN for no samples or NaN outputs."""
    if len(probs) == 0 or not np.all(np.isfinite(probs)):
        return float("nan")
    conf, acc, counts = reliability(probs, target, bins)
    full = counts > 0
    return float(np.sum(counts[full] * np.abs(acc[full] - conf[full])) / counts.sum())


def mask_iou(labels: np.ndarray, target: np.ndarray) -> float:
    """Mean over images of |predicted ∩ true| / |predicted ∪ true| foreground pixels; an image with
    neither predicted nor true foreground counts as a perfect 1."""
    pred = labels.reshape(len(labels), -1) == 1
    true = target.reshape(len(target), -1) == 1
    inter = np.sum(pred & true, axis=1)
    union = np.sum(pred | true, axis=1)
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0))) if len(pred) else math.nan
