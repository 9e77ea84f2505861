"""Small labelled images drawn offline with numpy: circles, squares, triangles and crosses.

``draw_shapes`` is a plain function (size, count, seed-driven ``rng``) so other parts of LossLab
(a GAN on tiny images, say) can reuse it; ``shapes`` and ``shape_masks`` are the dataset registry's
generators for classification and for segmentation with one foreground class.

Images are (N, size, size) float64 in [0, 1] before noise: a shape's pixels are 1, the rest 0.
A dataset hands the model flattened images (N, size·size) so everything that expects a feature
matrix keeps working; the model puts the pixels back into (N, 1, size, size) itself (model.py).
"""

from __future__ import annotations

import numpy as np

from losslab.core.data.dataset import Dataset, split_indices
from losslab.core.tasks import BINARY, MULTICLASS

SHAPE_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "cross")
# Area of each outline in units of its radius squared: sets the radius for a wanted foreground share.
_UNIT_AREA = {
    "circle": np.pi,
    "square": 4 * 0.8**2,
    "triangle": 3 * np.sqrt(3) / 4,
    "cross": 2 * 2 * 0.64 - 0.64**2,
}
# The triangle's three edges: outward normals 120 degrees apart, each edge at distance 0.5 of the radius.
_CHUNK_PIXELS = 1_000_000
_TRIANGLE_NORMALS = [(np.cos(a), np.sin(a)) for a in np.deg2rad([-90.0, 30.0, 150.0])]


def shape_mask(kind: str, size: int, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    """A (size, size) bool mask of one shape centred at (cx, cy) pixels, ``radius`` pixels, turned by
    ``angle`` radians. Pixel centres are sampled, so a shape is drawn the same at any position."""
    one = [np.array([value], dtype=np.float64) for value in (cx, cy, radius, angle)]
    return np.asarray(shape_masks_of(kind, size, *one)[0])


def shape_masks_of(
    kind: str, size: int, cx: np.ndarray, cy: np.ndarray, radius: np.ndarray, angle: np.ndarray
) -> np.ndarray:
    """(n, size, size) bool masks of ``n`` shapes of one kind, one per entry of the (n,) arrays."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    r = radius[:, None, None]
    dx, dy = (xs - cx[:, None, None]) / r, (ys - cy[:, None, None]) / r
    c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy  # each pixel in its shape's own (unrotated) frame
    if kind == "circle":
        return np.asarray(u * u + v * v <= 1.0)
    if kind == "square":
        return np.asarray(np.maximum(np.abs(u), np.abs(v)) <= 0.8)
    if kind == "triangle":
        inside = np.ones(u.shape, dtype=bool)
        for nx, ny in _TRIANGLE_NORMALS:
            inside &= u * nx + v * ny <= 0.5
        return inside
    if kind == "cross":
        bar = 0.32
        return np.asarray(
            ((np.abs(u) <= bar) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= bar) & (np.abs(u) <= 1.0))
        )
    raise ValueError(f"unknown shape {kind!r}; known: {', '.join(SHAPE_NAMES)}")


def draw_shapes(
    rng: np.random.Generator,
    n: int,
    size: int = 28,
    noise: float = 0.1,
    n_classes: int = len(SHAPE_NAMES),
    radius: tuple[float, float] = (0.22, 0.4),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` images of one shape each: (images (n, size, size) float64, labels int64 (n,), masks bool).

    Each image gets a random class (the first ``n_classes`` of SHAPE_NAMES, balanced), position,
    rotation and a radius between ``radius`` fractions of the image size; Gaussian pixel noise of
    standard deviation ``noise`` is added to the images (the masks stay clean).
    """
    labels = rng.permutation(np.arange(n) % n_classes).astype(np.int64)
    radii = rng.uniform(radius[0], radius[1], n) * size
    return _render(rng, labels, radii, size, noise)


def _render(
    rng: np.random.Generator, labels: np.ndarray, radii: np.ndarray, size: int, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(labels)
    angles = rng.uniform(0.0, 2 * np.pi, n)
    # Keep the whole shape inside the frame (a radius's reach is at most 1, the square's corner 1.13).
    margin = np.minimum(radii * 1.15, size / 2)
    cx = rng.uniform(margin, size - margin)
    cy = rng.uniform(margin, size - margin)
    masks = np.zeros((n, size, size), dtype=bool)
    chunk = max(1, _CHUNK_PIXELS // (size * size))  # whole arrays at a time, a few MB each
    for k, kind in enumerate(SHAPE_NAMES):
        index = np.flatnonzero(labels == k)
        for start in range(0, len(index), chunk):
            part = index[start : start + chunk]
            masks[part] = shape_masks_of(kind, size, cx[part], cy[part], radii[part], angles[part])
    images = masks.astype(np.float64)
    if noise:
        images += rng.normal(0.0, noise, images.shape)
    return images, labels, masks


def shapes(
    rng: np.random.Generator, n: int, image_size: int = 28, noise: float = 0.1, n_classes: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``shapes`` dataset: flattened images (n, size·size), class labels, no outliers."""
    images, labels, _ = draw_shapes(rng, n, image_size, noise, n_classes)
    return images.reshape(n, -1), labels, np.zeros(n, dtype=bool)


def shape_masks(
    rng: np.random.Generator, n: int, image_size: int = 28, noise: float = 0.1, foreground: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``shape_masks`` dataset: flattened images, their (n, 1, size, size) float masks, no outliers.

    Every shape is foreground; its radius is chosen so that on average a ``foreground`` share of the
    pixels is foreground (the class imbalance), varied by ±25% from image to image.
    """
    labels = rng.integers(0, len(SHAPE_NAMES), n).astype(np.int64)
    unit = np.array([_UNIT_AREA[name] for name in SHAPE_NAMES])[labels]
    radii = np.sqrt(foreground * image_size**2 / unit) * rng.uniform(0.75, 1.25, n)
    radii = np.clip(radii, 1.0, image_size / 2.3)
    images, _, masks = _render(rng, labels, radii, image_size, noise)
    return images.reshape(n, -1), masks[:, None].astype(np.float32), np.zeros(n, dtype=bool)


def build_image_dataset(
    *,
    rng: np.random.Generator,
    spec_id: str,
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    image_size: int,
    n_classes: int,
    val_fraction: float,
    standardize: bool,
) -> Dataset:
    """Split flattened images, standardize them with one mean and spread over all training pixels
    (per-pixel statistics would blow up the rarely lit border pixels), and cast for the model.

    ``y`` of class labels (N,) makes a multi-class task, stratified; masks (N, 1, H, W) a binary one.
    """
    masks = np.ndim(y) > 1
    labels = None if masks else np.asarray(y)
    train, val = split_indices(rng, len(x), val_fraction, labels)
    x_tr, x_va = x[train], x[val]
    mean, std = (float(x_tr.mean()), float(x_tr.std()) or 1.0) if standardize and len(x_tr) else (0.0, 1.0)
    d = x.shape[1]
    if masks:
        task, n_classes, class_names = BINARY, 1, ["background", "foreground"]
        y_tr, y_va = np.asarray(y, np.float32)[train], np.asarray(y, np.float32)[val]
    else:
        task = MULTICLASS
        class_names = list(SHAPE_NAMES[:n_classes])
        y_tr, y_va = np.asarray(y, np.int64)[train], np.asarray(y, np.int64)[val]
    return Dataset(
        spec_id=spec_id,
        name=name,
        task=task,
        x_train=((x_tr - mean) / std).astype(np.float32),
        y_train=y_tr,
        x_val=((x_va - mean) / std).astype(np.float32),
        y_val=y_va,
        n_classes=n_classes,
        feature_names=[],
        target_name="mask" if masks else "shape",
        class_names=class_names,
        x_mean=np.full(d, mean),
        x_std=np.full(d, std),
        y_mean=0.0,
        y_std=1.0,
        outliers_train=np.zeros(len(train), dtype=bool),
        outliers_val=np.zeros(len(val), dtype=bool),
        image_shape=(1, image_size, image_size),
        masks=masks,
    )
