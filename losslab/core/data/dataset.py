"""The ``Dataset`` container, the train/validation split and feature/target standardization."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION


@dataclass
class Dataset:
    """Training and validation arrays ready for a model, plus what is needed to show them in display units."""

    spec_id: str
    name: str
    task: str  # one of losslab.core.tasks
    x_train: np.ndarray  # float32 (N, d), standardized when the config asked for it
    y_train: np.ndarray  # regression/binary: float32 (N,); multiclass: int64 (N,); gan: float32 zeros
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int  # 1 for regression/binary/gan, k for multiclass
    feature_names: list[str]
    target_name: str
    class_names: list[str]
    x_mean: np.ndarray  # (d,) float64; 0 when not standardized
    x_std: np.ndarray  # (d,) float64; 1 when not standardized
    y_mean: float  # regression only; 0 otherwise
    y_std: float  # regression only; 1 otherwise
    outliers_train: np.ndarray  # bool (N_train,): made an outlier or label-flipped on purpose
    outliers_val: np.ndarray  # bool (N_val,)
    # Images: x rows are flattened (channels, height, width) pixels; None for feature tables.
    image_shape: tuple[int, int, int] | None = None
    masks: bool = False  # binary targets are per-pixel masks (N, 1, height, width): segmentation
    # Soft labels: each sample's target distribution (N, K) float32, e.g. the share of annotators
    # choosing each class; losses with soft_targets train on it, the others on the hard labels y.
    soft_train: np.ndarray | None = None
    soft_val: np.ndarray | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """What one sample is to the model: (features,) or (channels, height, width)."""
        return self.image_shape or (self.n_features,)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.x_val.shape[0])

    def x_to_display(self, x: np.ndarray) -> np.ndarray:
        """Undo feature standardization (model space -> the units the user knows)."""
        out: np.ndarray = np.asarray(x, dtype=np.float64) * self.x_std + self.x_mean
        return out

    def x_from_display(self, x: np.ndarray) -> np.ndarray:
        """Apply feature standardization (display units -> model space), e.g. for a plotting grid."""
        out: np.ndarray = (np.asarray(x, dtype=np.float64) - self.x_mean) / self.x_std
        return out

    def y_to_display(self, y: np.ndarray) -> np.ndarray:
        """Undo target standardization; only regression targets are standardized."""
        if self.task != REGRESSION:
            return np.asarray(y)
        return np.asarray(y, dtype=np.float64) * self.y_std + self.y_mean


def val_count(n: int, val_fraction: float) -> int:
    """How many of ``n`` samples go to validation: never none when asked for some, never all."""
    if val_fraction <= 0 or n < 2:
        return 0
    return min(max(round(val_fraction * n), 1), n - 1)


def split_indices(
    rng: np.random.Generator, n: int, val_fraction: float, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, val) index arrays; stratified by ``labels`` when given."""
    n_val = val_count(n, val_fraction)
    if labels is None:
        perm = rng.permutation(n)
        return perm[n_val:], perm[:n_val]
    classes, counts = np.unique(labels, return_counts=True)
    takes = _stratified_counts(counts, n_val)
    val_parts, train_parts = [], []
    for cls, take in zip(classes, takes, strict=True):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        val_parts.append(idx[:take])
        train_parts.append(idx[take:])
    # Class blocks would otherwise arrive in order; shuffle so batches mix classes.
    train = rng.permutation(np.concatenate(train_parts))
    val = rng.permutation(np.concatenate(val_parts))
    return train, val


def pick_share(rng: np.random.Generator, n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """``round(fraction * n)`` distinct random indices of ``n`` samples and their mask (outliers,
    flipped labels). Draws nothing from ``rng`` when that is none."""
    mask = np.zeros(n, dtype=bool)
    m = round(fraction * n)
    if not m:
        return np.zeros(0, dtype=np.int64), mask
    idx = rng.choice(n, size=m, replace=False)
    mask[idx] = True
    return idx, mask


def _stratified_counts(class_sizes: np.ndarray, n_val: int) -> list[int]:
    """Per-class validation counts summing to ``n_val``, proportional to class size (largest remainder)."""
    counts = [int(c) for c in class_sizes]
    total = sum(counts)
    quota = [c * n_val / total for c in counts]
    # Keep at least one sample of every class for training while that is possible.
    keep_one = [max(c - 1, 0) for c in counts]
    take = [min(int(q), k) for q, k in zip(quota, keep_one, strict=True)]
    order = sorted(range(len(counts)), key=lambda i: take[i] - quota[i])
    rest = n_val - sum(take)
    for limit in (keep_one, counts):
        while rest > 0 and any(t < lim for t, lim in zip(take, limit, strict=True)):
            for i in order:
                if rest > 0 and take[i] < limit[i]:
                    take[i] += 1
                    rest -= 1
    return take


def _moments(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = a.mean(axis=0)
    std = a.std(axis=0)
    # A constant column (common in CSVs) has no spread to divide by; leave its scale alone.
    std = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
    return mean, std


def build_dataset(
    *,
    rng: np.random.Generator,
    spec_id: str,
    name: str,
    task: str,
    x: np.ndarray,
    y: np.ndarray,
    outliers: np.ndarray,
    feature_names: list[str],
    target_name: str,
    class_names: list[str],
    n_classes: int,
    val_fraction: float,
    standardize: bool,
    soft: np.ndarray | None = None,
) -> Dataset:
    """Split raw display-unit arrays, standardize with training statistics only, and cast for the model."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    classification = task in (BINARY, MULTICLASS)
    train, val = split_indices(rng, len(x), val_fraction, np.asarray(y) if classification else None)

    x_tr, x_va = x[train], x[val]
    d = x.shape[1]
    x_mean, x_std = _moments(x_tr) if standardize and len(x_tr) else (np.zeros(d), np.ones(d))

    y_mean, y_std = 0.0, 1.0
    if task == REGRESSION:
        yf = np.asarray(y, dtype=np.float64)
        if standardize and len(train):
            m, s = _moments(yf[train][:, None])
            y_mean, y_std = float(m[0]), float(s[0])
        y_tr = ((yf[train] - y_mean) / y_std).astype(np.float32)
        y_va = ((yf[val] - y_mean) / y_std).astype(np.float32)
    elif task == MULTICLASS:
        y_tr, y_va = np.asarray(y, dtype=np.int64)[train], np.asarray(y, dtype=np.int64)[val]
    else:  # binary labels in {0, 1}; GAN targets are unused zeros
        y_tr, y_va = np.asarray(y, dtype=np.float32)[train], np.asarray(y, dtype=np.float32)[val]

    outliers = np.asarray(outliers, dtype=bool)
    return Dataset(
        spec_id=spec_id,
        name=name,
        task=task,
        x_train=((x_tr - x_mean) / x_std).astype(np.float32),
        y_train=y_tr,
        x_val=((x_va - x_mean) / x_std).astype(np.float32),
        y_val=y_va,
        n_classes=n_classes,
        feature_names=list(feature_names),
        target_name=target_name,
        class_names=list(class_names),
        x_mean=np.asarray(x_mean, dtype=np.float64),
        x_std=np.asarray(x_std, dtype=np.float64),
        y_mean=y_mean,
        y_std=y_std,
        outliers_train=outliers[train],
        outliers_val=outliers[val],
        soft_train=None if soft is None else np.asarray(soft, dtype=np.float32)[train],
        soft_val=None if soft is None else np.asarray(soft, dtype=np.float32)[val],
    )
