"""Per-epoch quality metrics: accuracy and F1 for classification; R², MAE and RMSE for regression."""

from __future__ import annotations

import numpy as np

from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION

METRIC_NAMES: dict[str, tuple[str, ...]] = {
    REGRESSION: ("r2", "mae", "rmse"),
    BINARY: ("accuracy", "f1"),
    MULTICLASS: ("accuracy", "f1"),
    GAN: ("swd", "d_real", "d_fake"),
}
# The one metric each task plots next to the loss.
HEADLINE: dict[str, str] = {REGRESSION: "r2", BINARY: "accuracy", MULTICLASS: "accuracy", GAN: "swd"}
LABELS = {
    "r2": "R²",
    "mae": "MAE",
    "rmse": "RMSE",
    "accuracy": "Accuracy",
    "f1": "F1",
    "swd": "Distance to the data (sliced Wasserstein)",
    "d_real": "D(real)",
    "d_fake": "D(fake)",
}


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


def classification_metrics(labels: np.ndarray, target: np.ndarray, n_classes: int) -> dict[str, float]:
    """Accuracy and F1 (of class 1 for two classes, macro-averaged over classes otherwise)."""
    target = target.astype(np.int64)
    accuracy = float(np.mean(labels == target))
    classes = [1] if n_classes <= 2 else range(n_classes)
    f1s = []
    for c in classes:
        tp = np.sum((labels == c) & (target == c))
        fp = np.sum((labels == c) & (target != c))
        fn = np.sum((labels != c) & (target == c))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return {"accuracy": accuracy, "f1": float(np.mean(f1s))}
