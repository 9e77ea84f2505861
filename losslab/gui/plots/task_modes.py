"""Which view of the task a dataset gets, and the function that computes its predictions.

Qt-free (numpy only): :func:`view_function` makes the function the training worker calls ON ITS OWN
THREAD; :func:`view_mode` picks the mode (see task_view.py for what each mode draws);
:func:`contour_segments` is the decision boundary's marching squares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from losslab.core.data import Dataset
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION

GRID = 100  # grid points per axis for 2-D surfaces
LINE_POINTS = 300  # points of a 1-D prediction curve
MARGIN = 0.1  # share of the data range added on each side

ViewFunction = Callable[[Any], dict[str, Any] | None]


def view_mode(ds: Dataset | None) -> str:
    if ds is None:
        return "empty"
    if ds.image_shape is not None:  # pixels are no plane to draw points on: see the Images tab
        return "image"
    d = ds.n_features
    if ds.task in (BINARY, MULTICLASS):
        return "curve_cls" if d == 1 else "surface_cls" if d == 2 else "scatter_cls"
    if ds.task == REGRESSION:
        return "curve_reg" if d == 1 else "surface_reg" if d == 2 else "parity_reg"
    return "data"


def dataset_key(ds: Dataset) -> tuple[Any, ...]:
    """Identifies a dataset well enough to drop a late payload computed for the previous one."""
    return (ds.spec_id, ds.name, ds.task, ds.n_features, ds.n_train, ds.n_val, ds.n_classes)


def display_range(ds: Dataset, margin: float = MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature (lo, hi) in display units over training and validation data, widened by ``margin``."""
    x = ds.x_to_display(np.concatenate([ds.x_train, ds.x_val]))
    lo = np.nanmin(x, axis=0)
    hi = np.nanmax(x, axis=0)
    span = hi - lo
    pad = np.where(span > 0, span * margin, np.maximum(np.abs(lo) * 0.1, 0.5))
    return lo - pad, hi + pad


def contour_segments(
    z: np.ndarray, xs: np.ndarray, ys: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Marching squares, vectorized: line segments (as consecutive point pairs, for connect='pairs')
    where ``z`` (rows = ys, columns = xs) crosses ``level``. Cells touching NaN are skipped."""
    a, b = z[:-1, :-1], z[:-1, 1:]
    c, d = z[1:, 1:], z[1:, :-1]
    x0 = np.broadcast_to(xs[:-1][None, :], a.shape)
    x1 = np.broadcast_to(xs[1:][None, :], a.shape)
    y0 = np.broadcast_to(ys[:-1][:, None], a.shape)
    y1 = np.broadcast_to(ys[1:][:, None], a.shape)
    with np.errstate(invalid="ignore", divide="ignore"):

        def cross(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mask = (p >= level) != (q >= level)
            t = np.where(mask, (level - p) / np.where(q - p == 0, 1, q - p), np.nan)
            return mask & np.isfinite(p) & np.isfinite(q), t

        mb, tb = cross(a, b)  # bottom edge: a -> b
        mr, tr = cross(b, c)  # right edge: b -> c
        mt, tt = cross(d, c)  # top edge: d -> c
        ml, tl = cross(a, d)  # left edge: a -> d
    # Crossing points on the four edges (NaN where an edge is not crossed).
    px = np.stack([x0 + tb * (x1 - x0), x1 + 0 * tr, x0 + tt * (x1 - x0), x0 + 0 * tl], -1).reshape(-1, 4)
    py = np.stack([y0 + 0 * tb, y0 + tr * (y1 - y0), y1 + 0 * tt, y0 + tl * (y1 - y0)], -1).reshape(-1, 4)
    m = np.stack([mb, mr, mt, ml], axis=-1).reshape(-1, 4)
    count = m.sum(axis=1)
    seg_x: list[np.ndarray] = []
    seg_y: list[np.ndarray] = []
    two = np.flatnonzero(count == 2)
    if two.size:
        order = np.argsort(~m[two], axis=1, kind="stable")[:, :2]  # the two crossed edges
        rows = two[:, None]
        seg_x.append(px[rows, order].ravel())
        seg_y.append(py[rows, order].ravel())
    four = np.flatnonzero(count == 4)
    if four.size:  # saddle: decide by the cell centre which corners are cut off
        centre = (a.ravel()[four] + b.ravel()[four] + c.ravel()[four] + d.ravel()[four]) / 4
        a_side = (a.ravel()[four] >= level) == (centre >= level)
        # a joined to c through the centre: cut off b (bottom, right) and d (top, left); else a and c.
        first = np.where(a_side[:, None], [[0, 1]], [[0, 3]])
        second = np.where(a_side[:, None], [[2, 3]], [[1, 2]])
        for pair in (first, second):
            rows = four[:, None]
            seg_x.append(px[rows, pair].ravel())
            seg_y.append(py[rows, pair].ravel())
    if not seg_x:
        return np.empty(0), np.empty(0)
    return np.concatenate(seg_x), np.concatenate(seg_y)


def view_function(ds: Dataset) -> ViewFunction:
    """A function ``f(trainer) -> payload`` to run on the worker thread (numpy/torch only, no Qt).

    Everything that depends only on the data (grids, display-unit inputs) is computed here, once;
    each call is a single batched ``trainer.predict``.
    """
    mode = view_mode(ds)
    key = dataset_key(ds)
    if mode in ("surface_cls", "surface_reg"):
        lo, hi = display_range(ds)
        xs, ys = np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)
        gx, gy = np.meshgrid(xs, ys)  # rows follow ys, columns xs
        grid = np.column_stack([gx.ravel(), gy.ravel()])

        def surface(trainer: Any) -> dict[str, Any]:
            pred = np.asarray(trainer.predict(grid), dtype=np.float32)
            z = pred.reshape(GRID, GRID, -1) if pred.ndim == 2 else pred.reshape(GRID, GRID)
            return {"mode": mode, "key": key, "xs": xs, "ys": ys, "z": z}

        return surface
    if mode in ("curve_cls", "curve_reg"):
        lo, hi = display_range(ds)
        line = np.linspace(lo[0], hi[0], LINE_POINTS)[:, None]
        x_train = ds.x_to_display(ds.x_train)

        def curve(trainer: Any) -> dict[str, Any]:
            if mode == "curve_reg":
                both = np.asarray(trainer.predict(np.concatenate([line, x_train])), dtype=np.float64)
                return {
                    "mode": mode,
                    "key": key,
                    "x": line[:, 0],
                    "y": both[:LINE_POINTS],
                    "train_pred": both[LINE_POINTS:],
                }
            return {"mode": mode, "key": key, "x": line[:, 0], "y": np.asarray(trainer.predict(line))}

        return curve
    if mode in ("scatter_cls", "parity_reg"):
        x_all = ds.x_to_display(np.concatenate([ds.x_train, ds.x_val]))
        n_train = ds.n_train

        def points(trainer: Any) -> dict[str, Any]:
            pred = np.asarray(trainer.predict(x_all))
            return {"mode": mode, "key": key, "train_pred": pred[:n_train], "val_pred": pred[n_train:]}

        return points

    def nothing(trainer: Any) -> None:
        return None

    return nothing
