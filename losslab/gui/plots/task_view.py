"""What the model currently predicts, drawn over the data: a decision surface, a fitted curve, a parity plot.

The prediction is computed by a function made by :meth:`TaskView.view_function`; the training worker
calls it ON ITS OWN THREAD (about 20 times a second at most) and sends the returned payload, plain
numpy, to :meth:`TaskView.set_view` on the GUI thread. One batched forward pass per update: a 100x100
grid for 2-D inputs, a 300-point line for 1-D inputs, never one pass per point.

Modes, chosen from the dataset by :func:`view_mode`:

=================  ==========================================================================
``surface_cls``    2 features, classification: P(class 1) heatmap (blended class colours for
                   k classes), 0.5 contour, training points filled, validation hollow
``curve_cls``      1 feature, classification: P(class) against x, points at their class
``scatter_cls``    >2 features, classification: first two features, misclassified crossed
``curve_reg``      1 feature, regression: data, fitted curve, error bars prediction → target
``surface_reg``    2 features, regression: heatmap of the prediction, points in target colours
``parity_reg``     >2 features, regression: predicted against actual, with the y = x line
``data``           anything else (GAN data): the points only, no predictions
=================  ==========================================================================
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QColor
from PySide6.QtWidgets import QWidget

from losslab.core.data import Dataset
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION
from losslab.gui.theme import palette_colors, style_legend, style_plot_item

GRID = 100  # grid points per axis for 2-D surfaces
LINE_POINTS = 300  # points of a 1-D prediction curve
MARGIN = 0.1  # share of the data range added on each side
SURFACE_STRENGTH = 0.5  # how much of a class colour the decision surface shows at full confidence

ViewFunction = Callable[[Any], dict[str, Any] | None]
# How training points show their loss (set_point_weights): not at all, as ring size, as fill colour.
LOSS_DISPLAY = {"off": "Off", "size": "Ring size", "colour": "Colour"}
LOSS_LEGEND = {"size": "ring size: the sample's loss", "colour": "colour: the sample's loss (bright = high)"}
LOSS_COLORMAP = "plasma"
MIN_RING_SHARE = 0.02  # samples under 2% of the top loss get no ring: a ring on every point is clutter
LOSS_LEVELS = 32  # colours and ring sizes come in steps: the scatter plot's symbol cache stays small


def view_mode(ds: Dataset | None) -> str:
    if ds is None:
        return "empty"
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


def _rgb(color: Any) -> np.ndarray:
    q = pg.mkColor(color)
    return np.array([q.red(), q.green(), q.blue()], dtype=np.float64)


def _mix(c1: Any, c2: Any, t: float) -> QColor:
    """t=0: c1, t=1: c2."""
    v = _rgb(c1) * (1 - t) + _rgb(c2) * t
    return QColor(*(round(x) for x in v))


def _point_size(n: int) -> int:
    return 8 if n <= 300 else 6 if n <= 2000 else 4 if n <= 20000 else 3


class TaskView(pg.PlotWidget):
    """The data in display units with the model's current predictions drawn over it."""

    pointWeightModeChanged = Signal(str)  # the user picked how points show their loss (LOSS_DISPLAY)

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None) -> None:
        super().__init__(parent, background=palette_colors(dark)["background"])
        self._pal = palette_colors(dark)
        self._dark = dark
        self.setObjectName("taskPlot")
        pi = self.getPlotItem()
        self.plot_item = pi
        pi.setMenuEnabled(True)
        self.legend = pi.addLegend(offset=(8, 8), labelTextSize="8pt")
        self.dataset: Dataset | None = None
        self.mode = "empty"
        self._key: tuple[Any, ...] | None = None
        self._grid: tuple[np.ndarray, np.ndarray] | None = None  # xs, ys of the surface grid
        self._data_items: list[pg.GraphicsObject] = []
        self._legend_names: set[str] = set()
        self._legend_samples: list[pg.GraphicsObject] = []  # legend-only samples, never in the plot
        self._parity: tuple[pg.ScatterPlotItem, pg.ScatterPlotItem] | None = None
        self._last_payload: dict[str, Any] | None = None
        self.n_updates = 0

        # Prediction items, created once and reused by every dataset.
        self.surface = pg.ImageItem(axisOrder="row-major")  # scalar: P(class 1) or predicted value
        self.surface.setZValue(-20)
        self.rgb_surface = pg.ImageItem(axisOrder="row-major")  # blended class colours (k classes)
        self.rgb_surface.setZValue(-20)
        self.contour = pg.PlotCurveItem(connect="pairs", antialias=True)
        self.contour.setZValue(-10)
        self.fit_curve = pg.PlotCurveItem(antialias=True)
        self.fit_curve.setZValue(5)
        self.error_bars = pg.PlotCurveItem(connect="pairs")
        self.error_bars.setZValue(-5)
        self.class_curves: list[pg.PlotCurveItem] = []
        self.miss_marks = pg.ScatterPlotItem(symbol="x", size=9)
        self.miss_marks.setZValue(30)
        self.diagonal = pg.InfiniteLine(angle=45, movable=False)
        self.diagonal.setZValue(-5)
        for item in (
            self.surface,
            self.rgb_surface,
            self.contour,
            self.fit_curve,
            self.error_bars,
            self.miss_marks,
            self.diagonal,
        ):
            pi.addItem(item, ignoreBounds=True)  # predictions never move the view; the data sets it
            item.hide()
        self.colorbar: pg.ColorBarItem | None = None
        self._colorbar_key: Any = None  # what the colour bar shows (map, levels, label)
        self._init_sample_overlays()
        self.set_theme(dark)

    # -- appearance ---------------------------------------------------------------------------
    def apply_theme(self) -> None:
        """Follow the scheme last set by :func:`~losslab.gui.theme.apply_plot_theme`."""
        self.set_theme(None)

    def set_theme(self, dark: bool | None) -> None:
        """Re-colour for the light (False) or dark (True) scheme and redraw the data."""
        self._dark = dark
        self._pal = palette_colors(dark)
        self.setBackground(self._pal["background"])
        style_plot_item(self.plot_item, dark)
        style_legend(self.legend, dark)
        pal = self._pal
        self.contour.setPen(pg.mkPen(pal["foreground"], width=1.5, style=Qt.PenStyle.DashLine))
        self.fit_curve.setPen(pg.mkPen(pal["fit"], width=2.5))
        self.error_bars.setPen(pg.mkPen(pal["error"], width=1))
        self.miss_marks.setPen(pg.mkPen(pal["foreground"], width=1.5))
        self.miss_marks.setBrush(pg.mkBrush(pal["foreground"]))
        self.diagonal.setPen(pg.mkPen(pal["foreground"], width=1, style=Qt.PenStyle.DashLine))
        if self.colorbar is not None:
            for name in ("left", "right", "top", "bottom"):
                self.colorbar.getAxis(name).setPen(pal["foreground"])
                self.colorbar.getAxis(name).setTextPen(pal["foreground"])
        if self.dataset is not None:
            ds, last = self.dataset, self._last_payload
            highlighted, weights = self._highlighted, self._weights
            self.set_dataset(ds)
            if last is not None:
                self.set_view(last)
            self._weights = weights  # the same data, so the same samples stay marked
            self._redraw_sample_overlays()
            self.highlight(highlighted)

    def class_color(self, k: int) -> str:
        colors = self._pal["classes"]
        return colors[k % len(colors)]

    # -- data ---------------------------------------------------------------------------------
    def set_dataset(self, ds: Dataset | None) -> None:
        """Draw ``ds`` in display units and forget any predictions (they belong to the old data)."""
        pi = self.plot_item
        for item in self._data_items:
            pi.removeItem(item)
        self._data_items.clear()
        for c in self.class_curves:
            pi.removeItem(c)
        self.class_curves.clear()
        self.legend.clear()
        self._legend_names.clear()
        self._legend_samples.clear()
        self._parity = None
        for item in (
            self.surface,
            self.rgb_surface,
            self.contour,
            self.fit_curve,
            self.error_bars,
            self.miss_marks,
            self.diagonal,
        ):
            item.hide()
        if view_mode(ds) != self.mode:
            self._show_colorbar(None)  # the same kind of view keeps its bar until it is drawn again
        self._last_payload = None
        self._clear_sample_overlays()
        self.dataset = ds
        self.mode = view_mode(ds)
        self._key = dataset_key(ds) if ds is not None else None
        self._grid = None
        if ds is None:
            pi.setLabel("bottom", "")
            pi.setLabel("left", "")
            return
        names = list(ds.feature_names) or [f"x{i + 1}" for i in range(ds.n_features)]
        target = ds.target_name or "y"
        xtr = ds.x_to_display(ds.x_train)
        xva = ds.x_to_display(ds.x_val)
        pi.enableAutoRange()
        two_d = self.mode in ("surface_cls", "scatter_cls", "surface_reg")
        if two_d or (self.mode == "data" and ds.n_features >= 2):
            pi.setLabel("bottom", names[0])
            pi.setLabel("left", names[1])
            lo, hi = display_range(ds)
            if self.mode in ("surface_cls", "surface_reg"):
                self._grid = (np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
                pi.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]), padding=0)  # the surface fills it
        elif self.mode in ("curve_cls", "curve_reg"):
            pi.setLabel("bottom", names[0])
            pi.setLabel("left", target if self.mode == "curve_reg" else "P(class)")
        elif self.mode == "parity_reg":
            pi.setLabel("bottom", f"actual {target}")
            pi.setLabel("left", f"predicted {target}")
        else:
            pi.setLabel("bottom", names[0] if names else "x")
            pi.setLabel("left", "count")

        if self.mode in ("surface_cls", "scatter_cls"):
            self._draw_class_points(xtr[:, :2], ds.y_train, xva[:, :2], ds.y_val, ds)
        elif self.mode == "surface_reg":
            self._draw_valued_points(xtr, ds.y_to_display(ds.y_train), xva, ds.y_to_display(ds.y_val), ds)
        elif self.mode == "curve_reg":
            ytr, yva = ds.y_to_display(ds.y_train), ds.y_to_display(ds.y_val)
            self._draw_xy_points(xtr[:, 0], ytr, xva[:, 0], yva, ds, self._pal["smooth"])
        elif self.mode == "curve_cls":
            self._draw_1d_class_points(xtr[:, 0], ds.y_train, xva[:, 0], ds.y_val, ds)
        elif self.mode == "parity_reg":
            self._parity = self._draw_xy_points(
                np.empty(0),
                np.empty(0),
                np.empty(0),
                np.empty(0),
                ds,
                self._pal["smooth"],
                n_hint=ds.n_train + ds.n_val,
            )
            self.diagonal.show()
            self._legend_once(self.diagonal, "perfect prediction (y = x)")
        elif self.mode == "data":
            if ds.n_features >= 2:
                self._draw_xy_points(xtr[:, 0], xtr[:, 1], xva[:, 0], xva[:, 1], ds, self._pal["smooth"])
            else:
                self._draw_histogram(np.concatenate([xtr[:, 0], xva[:, 0]]))
        if self.mode == "curve_reg":
            self._legend_once(self.fit_curve, "model prediction")
            self._legend_once(self.error_bars, "error bars: prediction → target")
        # A grid over a heatmap is clutter; over points and curves it helps reading values.
        alpha = self._pal["grid_alpha"]
        pi.showGrid(x=not self._grid, y=not self._grid, alpha=alpha)
        self._place_legend(
            np.concatenate([xtr, xva])[:, :2]
            if ds.n_features >= 2
            else np.column_stack(
                [
                    np.concatenate([xtr[:, 0], xva[:, 0]]),
                    ds.y_to_display(np.concatenate([ds.y_train, ds.y_val])).astype(np.float64),
                ]
            )
        )

    def _place_legend(self, pts: np.ndarray) -> None:
        """Put the legend in the corner with the fewest data points under it."""
        pts = pts[np.isfinite(pts).all(axis=1)] if len(pts) else pts
        if self.mode in ("curve_cls", "parity_reg") or len(pts) == 0:
            corner = (0, 0)
        else:
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            u = (pts - lo) / np.where(hi > lo, hi - lo, 1.0)
            u[:, 1] = 1.0 - u[:, 1]  # screen y grows downwards
            counts = {}
            for cx in (0, 1):
                for cy in (0, 1):
                    inx = u[:, 0] <= 0.4 if cx == 0 else u[:, 0] >= 0.6
                    iny = u[:, 1] <= 0.35 if cy == 0 else u[:, 1] >= 0.65
                    counts[(cx, cy)] = int(np.sum(inx & iny))
            corner = min(counts, key=lambda c: (counts[c], c[1], c[0]))  # ties: top, then left
        offset = (8 if corner[0] == 0 else -8, 8 if corner[1] == 0 else -8)
        self.legend.anchor(itemPos=corner, parentPos=corner, offset=offset)

    def _legend_once(self, item: pg.GraphicsObject, name: str) -> None:
        if name not in self._legend_names:
            self._legend_names.add(name)
            self.legend.addItem(item, name)

    def _add(self, item: pg.GraphicsObject, name: str | None = None, bounds: bool = True) -> None:
        self.plot_item.addItem(item, ignoreBounds=not bounds)
        self._data_items.append(item)
        if name:
            self._legend_once(item, name)

    def _outline(self) -> Any:
        return pg.mkPen(self._pal["background"], width=0.8)

    def _draw_class_points(
        self, xtr: np.ndarray, ytr: np.ndarray, xva: np.ndarray, yva: np.ndarray, ds: Dataset
    ) -> None:
        k_max = max(ds.n_classes, 2)
        size = _point_size(len(xtr) + len(xva))
        self._train_pos = np.asarray(xtr, dtype=np.float64)[:, :2]
        names = ds.class_names or [f"class {k}" for k in range(k_max)]
        for k in range(k_max):
            color = self.class_color(k)
            tr = np.asarray(ytr).astype(np.int64) == k
            va = np.asarray(yva).astype(np.int64) == k
            item = pg.ScatterPlotItem(
                xtr[tr, 0], xtr[tr, 1], size=size, pen=self._outline(), brush=pg.mkBrush(color), symbol="o"
            )
            item.setZValue(10)
            self._add(item, names[k] if k < len(names) else f"class {k}")
            if va.any():
                hollow = pg.ScatterPlotItem(
                    xva[va, 0],
                    xva[va, 1],
                    size=size,
                    pen=pg.mkPen(color, width=1.6),
                    brush=pg.mkBrush(self._pal["background"]),
                    symbol="o",
                )
                hollow.setZValue(11)
                self._add(hollow)
        self._add_validation_legend(size, len(xva))
        self._ring_outliers(xtr, ds.outliers_train, xva, ds.outliers_val, size, "flipped label")

    def _draw_1d_class_points(
        self, xtr: np.ndarray, ytr: np.ndarray, xva: np.ndarray, yva: np.ndarray, ds: Dataset
    ) -> None:
        rng = np.random.default_rng(0)
        k_max = max(ds.n_classes, 2)

        # Binary: points at their label (0 or 1); k classes: a strip of points below the curves.
        def ypos(y: np.ndarray) -> np.ndarray:
            base = y.astype(np.float64) if k_max == 2 else np.full(len(y), -0.08)
            return base + rng.uniform(-0.03, 0.03, len(y))

        ytr = np.asarray(ytr).astype(np.int64)
        yva = np.asarray(yva).astype(np.int64)
        ptr = np.column_stack([xtr, ypos(ytr)])
        pva = np.column_stack([xva, ypos(yva)])
        self._draw_class_points(ptr, ytr, pva, yva, ds)
        self.plot_item.enableAutoRange(x=True, y=False)
        self.plot_item.setYRange(-0.15, 1.1, padding=0)

    def _draw_xy_points(
        self,
        xtr: np.ndarray,
        ytr: np.ndarray,
        xva: np.ndarray,
        yva: np.ndarray,
        ds: Dataset,
        color: Any,
        n_hint: int | None = None,
    ) -> tuple[pg.ScatterPlotItem, pg.ScatterPlotItem]:
        size = _point_size(n_hint if n_hint is not None else len(xtr) + len(xva))
        self._train_pos = np.column_stack([xtr, ytr]).astype(np.float64)
        item = pg.ScatterPlotItem(xtr, ytr, size=size, pen=self._outline(), brush=pg.mkBrush(color))
        item.setZValue(10)
        self._add(item, "training data")
        hollow = pg.ScatterPlotItem(
            xva, yva, size=size, pen=pg.mkPen(color, width=1.6), brush=pg.mkBrush(self._pal["background"])
        )
        hollow.setZValue(11)
        self._add(hollow, "validation data" if (len(xva) or ds.n_val) else None)
        if len(xtr):
            self._ring_outliers(
                np.column_stack([xtr, ytr]),
                ds.outliers_train,
                np.column_stack([xva, yva]),
                ds.outliers_val,
                size,
                "outlier",
            )
        return item, hollow

    def _draw_valued_points(
        self, xtr: np.ndarray, ytr: np.ndarray, xva: np.ndarray, yva: np.ndarray, ds: Dataset
    ) -> None:
        lo, hi = self._value_levels(ds)
        cmap = pg.colormap.get("viridis")
        size = _point_size(len(xtr) + len(xva))
        self._train_pos = np.asarray(xtr, dtype=np.float64)[:, :2]

        def brushes(v: np.ndarray) -> list[Any]:
            return [pg.mkBrush(c) for c in cmap.map(np.clip((v - lo) / (hi - lo), 0, 1), mode="qcolor")]

        item = pg.ScatterPlotItem(
            xtr[:, 0],
            xtr[:, 1],
            size=size + 1,
            brush=brushes(ytr),
            pen=pg.mkPen(self._pal["foreground"], width=1.3),
        )
        item.setZValue(10)
        self._add(item, "training data")
        if len(xva):
            # Hollow rings in the background colour: a ring in the target's colour would vanish into a
            # well-fitted surface.
            hollow = pg.ScatterPlotItem(
                xva[:, 0],
                xva[:, 1],
                size=size + 1,
                brush=pg.mkBrush(None),
                pen=pg.mkPen(self._pal["background"], width=2),
            )
            hollow.setZValue(11)
            self._add(hollow, "validation data (hollow)")
        self._ring_outliers(xtr, ds.outliers_train, xva, ds.outliers_val, size, "outlier")
        self._show_colorbar(cmap, (lo, hi), ds.target_name or "y")

    def _draw_histogram(self, x: np.ndarray) -> None:
        counts, edges = np.histogram(x[np.isfinite(x)], bins=40)
        item = pg.PlotDataItem(
            edges,
            counts,
            stepMode="center",
            fillLevel=0,
            brush=pg.mkBrush(_mix(self._pal["background"], self._pal["smooth"], 0.5)),
            pen=pg.mkPen(self._pal["smooth"], width=1),
        )
        self._add(item, "data")

    def _add_validation_legend(self, size: int, n_val: int) -> None:
        if n_val:
            sample = pg.ScatterPlotItem(
                [],
                [],
                size=size,
                pen=pg.mkPen(self._pal["foreground"], width=1.6),
                brush=pg.mkBrush(self._pal["background"]),
            )
            self._legend_samples.append(sample)  # keep a reference; it is never drawn in the plot
            self._legend_once(sample, "validation (hollow)")

    def _ring_outliers(
        self, xtr: np.ndarray, otr: np.ndarray, xva: np.ndarray, ova: np.ndarray, size: int, label: str
    ) -> None:
        pts = [p[np.asarray(o, dtype=bool)] for p, o in ((xtr, otr), (xva, ova)) if len(p) and np.any(o)]
        if not pts:
            return
        p = np.concatenate(pts)
        ring = pg.ScatterPlotItem(
            p[:, 0],
            p[:, 1],
            size=size + 7,
            symbol="o",
            brush=pg.mkBrush(None),
            pen=pg.mkPen(self._pal["outlier"], width=1.5),
        )
        ring.setZValue(12)
        self._add(ring, label, bounds=False)

    def _value_levels(self, ds: Dataset) -> tuple[float, float]:
        y = ds.y_to_display(np.concatenate([ds.y_train, ds.y_val]))
        y = y[np.isfinite(y)]
        if y.size == 0:
            return 0.0, 1.0
        lo, hi = np.percentile(y, [1, 99]) if y.size > 50 else (y.min(), y.max())
        if hi <= lo:
            hi = lo + 1.0
        return float(lo), float(hi)

    def _show_colorbar(
        self, cmap: pg.ColorMap | None, levels: tuple[float, float] = (0, 1), label: str = ""
    ) -> None:
        pi = self.plot_item
        key = None if cmap is None else (cmap.pos.tobytes(), cmap.color.tobytes(), tuple(levels), label)
        if self.colorbar is not None and key == self._colorbar_key:
            return  # the same bar (a new run on the same data): building one costs ~30 ms
        self._colorbar_key = key
        if self.colorbar is not None:
            levels_changed = getattr(self.surface, "sigLevelsChanged", None)  # absent in pyqtgraph 0.14
            if levels_changed is not None:
                with contextlib.suppress(RuntimeError, TypeError):
                    levels_changed.disconnect(self.colorbar._levelsChangedHandler)
            pi.layout.removeItem(self.colorbar)
            self.colorbar.hide()
            self.colorbar.setParentItem(None)
            if self.colorbar.scene() is not None:
                self.colorbar.scene().removeItem(self.colorbar)
            self.colorbar = None
        if cmap is None:
            return
        bar = pg.ColorBarItem(values=levels, colorMap=cmap, interactive=False, width=14, label=label)
        self.colorbar = bar
        bar.setImageItem(self.surface, insert_in=pi)
        for name in ("left", "right", "top", "bottom"):
            bar.getAxis(name).setPen(self._pal["foreground"])
            bar.getAxis(name).setTextPen(self._pal["foreground"])

    # -- predictions --------------------------------------------------------------------------
    @staticmethod
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

    def clear_view(self) -> None:
        """Hide the predictions (e.g. after the weights were reset) but keep the data."""
        for item in (
            self.surface,
            self.rgb_surface,
            self.contour,
            self.fit_curve,
            self.error_bars,
            self.miss_marks,
        ):
            item.hide()
        for c in self.class_curves:
            c.hide()
        self._last_payload = None

    def set_view(self, payload: dict[str, Any] | None) -> None:
        """Draw a payload returned by the view function; payloads for another dataset are ignored."""
        if not payload or self.dataset is None:
            return
        if payload.get("key") != self._key or payload.get("mode") != self.mode:
            return
        self._last_payload = payload
        self.n_updates += 1
        mode = self.mode
        if mode == "surface_cls":
            self._set_class_surface(payload)
        elif mode == "surface_reg":
            self._set_value_surface(payload)
        elif mode == "curve_reg":
            self._set_fit(payload)
        elif mode == "curve_cls":
            self._set_class_curves(payload)
        elif mode == "scatter_cls":
            self._set_misclassified(payload)
        elif mode == "parity_reg":
            self._set_parity(payload)

    def _image_rect(self, xs: np.ndarray, ys: np.ndarray) -> QRectF:
        dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
        dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
        return QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx, ys[-1] - ys[0] + dy)

    def _set_class_surface(self, payload: dict[str, Any]) -> None:
        xs, ys, z = payload["xs"], payload["ys"], np.asarray(payload["z"])
        first = not (self.surface.isVisible() or self.rgb_surface.isVisible())
        if z.ndim == 2:  # P(class 1)
            p = np.nan_to_num(z.astype(np.float32), nan=0.5, posinf=1.0, neginf=0.0)
            if first or self.colorbar is None:  # a no-op when the bar is already this one
                self._show_colorbar(self._diverging_map(), (0.0, 1.0), "P(class 1)")
            self.surface.setImage(p, autoLevels=False, levels=(0.0, 1.0))
            if first:
                self.surface.setRect(self._image_rect(xs, ys))
                self.surface.show()
                self._legend_once(self.contour, "P = 0.5 boundary")
            cx, cy = contour_segments(p, xs, ys, 0.5)
            self.contour.setData(cx, cy)
            self.contour.setVisible(cx.size > 0)
        else:  # class probabilities (rows, cols, k)
            self.rgb_surface.setImage(self._blend_classes(z), autoLevels=False, levels=(0, 255))
            if first:
                self.rgb_surface.setRect(self._image_rect(xs, ys))
                self.rgb_surface.show()

    def _diverging_map(self) -> pg.ColorMap:
        pal = self._pal
        neutral = pal["neutral"]
        return pg.ColorMap(
            [0.0, 0.5, 1.0],
            [
                _mix(neutral, self.class_color(0), SURFACE_STRENGTH),
                pg.mkColor(neutral),
                _mix(neutral, self.class_color(1), SURFACE_STRENGTH),
            ],
        )

    def _blend_classes(self, probs: np.ndarray) -> np.ndarray:
        k = probs.shape[-1]
        p = np.nan_to_num(probs.astype(np.float64), nan=1.0 / k)
        colors = np.stack([_rgb(self.class_color(i)) for i in range(k)])  # (k, 3)
        mixed = p @ colors
        conf = (p.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k)
        neutral = _rgb(self._pal["neutral"])
        out = neutral + (mixed - neutral) * (0.2 + (SURFACE_STRENGTH - 0.2) * np.clip(conf, 0, 1))
        return np.clip(out, 0, 255).astype(np.uint8)

    def _set_value_surface(self, payload: dict[str, Any]) -> None:
        xs, ys, z = payload["xs"], payload["ys"], np.asarray(payload["z"], dtype=np.float32)
        assert self.dataset is not None
        levels = self._value_levels(self.dataset)
        self.surface.setImage(z, autoLevels=False, levels=levels)
        if not self.surface.isVisible():
            self.surface.setRect(self._image_rect(xs, ys))
            self.surface.show()

    def _set_fit(self, payload: dict[str, Any]) -> None:
        assert self.dataset is not None
        ds = self.dataset
        self.fit_curve.setData(payload["x"], np.asarray(payload["y"], dtype=np.float64))
        self.fit_curve.show()
        pred = np.asarray(payload["train_pred"], dtype=np.float64).ravel()
        x = ds.x_to_display(ds.x_train)[:, 0]
        target = ds.y_to_display(ds.y_train)
        bx = np.repeat(x, 2)
        by = np.empty(2 * len(x))
        by[0::2] = pred
        by[1::2] = target
        self.error_bars.setData(bx, by)
        self.error_bars.show()

    def _set_class_curves(self, payload: dict[str, Any]) -> None:
        x = payload["x"]
        p = np.asarray(payload["y"], dtype=np.float64)
        if p.ndim == 1:
            p = p[:, None]  # P(class 1) only
        while len(self.class_curves) < p.shape[1]:
            k = len(self.class_curves)
            k_color = 1 if p.shape[1] == 1 else k
            c = pg.PlotCurveItem(pen=pg.mkPen(self.class_color(k_color), width=2.5), antialias=True)
            c.setZValue(5)
            self.plot_item.addItem(c, ignoreBounds=True)
            self.class_curves.append(c)
            self.legend.addItem(c, "P(class 1)" if p.shape[1] == 1 else f"P({self._class_name(k)})")
        for k, c in enumerate(self.class_curves):
            c.setData(x, p[:, k])
            c.show()

    def _class_name(self, k: int) -> str:
        names = self.dataset.class_names if self.dataset is not None else []
        return names[k] if k < len(names) else f"class {k}"

    def _labels(self, pred: np.ndarray) -> np.ndarray:
        pred = np.asarray(pred)
        return pred.argmax(axis=1) if pred.ndim == 2 else (pred.ravel() > 0.5).astype(np.int64)

    def _set_misclassified(self, payload: dict[str, Any]) -> None:
        ds = self.dataset
        assert ds is not None
        x = np.concatenate([ds.x_to_display(ds.x_train)[:, :2], ds.x_to_display(ds.x_val)[:, :2]])
        truth = np.concatenate([ds.y_train, ds.y_val]).astype(np.int64)
        pred = np.concatenate([self._labels(payload["train_pred"]), self._labels(payload["val_pred"])])
        wrong = pred != truth
        self.miss_marks.setData(x[wrong, 0], x[wrong, 1])
        if not self.miss_marks.isVisible():
            self.miss_marks.show()
            self._legend_once(self.miss_marks, "misclassified")

    def _set_parity(self, payload: dict[str, Any]) -> None:
        ds = self.dataset
        assert ds is not None and self._parity is not None
        train_item, val_item = self._parity
        pairs = ((train_item, ds.y_train, payload["train_pred"]), (val_item, ds.y_val, payload["val_pred"]))
        for item, y, pred in pairs:
            item.setData(ds.y_to_display(y), np.asarray(pred, dtype=np.float64).ravel())
        self._train_pos = np.column_stack(
            [ds.y_to_display(ds.y_train), np.asarray(payload["train_pred"], dtype=np.float64).ravel()]
        )
        self._redraw_sample_overlays()  # parity points move with every prediction

    # -- per-sample overlays: a highlighted selection, each training point's loss ----------------
    def _init_sample_overlays(self) -> None:
        self._train_pos: np.ndarray | None = None  # (N_train, 2) where training point i is drawn
        self._highlighted = np.empty(0, dtype=np.int64)
        self._weights: np.ndarray | None = None
        self.point_weight_mode = "off"
        self.weight_marks = pg.ScatterPlotItem(pxMode=True)
        self.weight_marks.setZValue(14)
        self._weight_legend: str | None = None
        self.highlight_marks = pg.ScatterPlotItem(symbol="o", pxMode=True, brush=pg.mkBrush(None))
        self.highlight_marks.setZValue(40)
        for item in (self.weight_marks, self.highlight_marks):
            self.plot_item.addItem(item, ignoreBounds=True)
            item.hide()
        menu = self.plot_item.getViewBox().menu
        self.loss_menu = menu.addMenu("Training points by loss") if menu is not None else None
        self.loss_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for mode, text in LOSS_DISPLAY.items():
            action = QAction(text, self)
            action.setCheckable(True)
            action.setChecked(mode == self.point_weight_mode)
            action.setData(mode)
            group.addAction(action)
            if self.loss_menu is not None:
                self.loss_menu.addAction(action)
            self.loss_actions[mode] = action
        group.triggered.connect(self._on_loss_action)

    def _clear_sample_overlays(self) -> None:
        self._weight_legend = None  # set_dataset has cleared the legend
        self._train_pos = None
        self._highlighted = np.empty(0, dtype=np.int64)
        self._weights = None
        self.weight_marks.hide()
        self.highlight_marks.hide()

    @property
    def highlighted(self) -> np.ndarray:
        """Indices (into the training set) of the highlighted samples."""
        return self._highlighted.copy()

    def training_positions(self) -> np.ndarray | None:
        """(N_train, 2): where each training sample is drawn, or None (nothing drawn per sample)."""
        return None if self._train_pos is None else self._train_pos.copy()

    def highlight(self, indices: Any) -> None:
        """Ring the training samples ``indices`` (e.g. the rows selected in a table); [] clears."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        pos = self._train_pos
        if pos is not None:
            idx = idx[(idx >= 0) & (idx < len(pos))]
        self._highlighted = idx
        if pos is None or idx.size == 0:
            self.highlight_marks.hide()
            return
        size = _point_size(len(pos)) + 12
        self.highlight_marks.setData(
            pos[idx, 0],
            pos[idx, 1],
            size=size,
            pen=pg.mkPen(self._pal["mark"], width=2.5),
            brush=pg.mkBrush(None),
        )
        self.highlight_marks.show()

    def set_point_weight_mode(self, mode: str) -> None:
        """How training points show their loss: a key of LOSS_DISPLAY."""
        if mode not in LOSS_DISPLAY:
            raise ValueError(f"unknown mode {mode!r}")
        if mode != self.point_weight_mode:
            self.point_weight_mode = mode
            self.loss_actions[mode].setChecked(True)
            self._redraw_sample_overlays()
            self.pointWeightModeChanged.emit(mode)

    @Slot(QAction)
    def _on_loss_action(self, action: QAction) -> None:
        self.set_point_weight_mode(action.data())

    def set_point_weights(self, values: np.ndarray | None) -> None:
        """Each training sample's loss (N_train,), shown as the current mode says; None hides it."""
        self._weights = None if values is None else np.asarray(values, dtype=np.float64).ravel()
        self._redraw_sample_overlays()

    def _loss_styles(self) -> tuple[list[Any], list[Any]]:
        """([ring pen, outline pen], [brush per loss level..., no brush]), made once per theme."""
        key = (self._pal["foreground"], self._pal["background"])
        if getattr(self, "_loss_style_key", None) != key:
            color = pg.mkColor(self._pal["foreground"])
            color.setAlpha(170)
            cmap = pg.colormap.get(LOSS_COLORMAP)
            levels = cmap.map(np.linspace(0.0, 1.0, LOSS_LEVELS), mode="qcolor")
            self._loss_style = (
                [pg.mkPen(color, width=1.3), pg.mkPen(self._pal["background"], width=0.8)],
                [*(pg.mkBrush(c) for c in levels), pg.mkBrush(None)],
            )
            self._loss_style_key = key
        return self._loss_style

    def _set_weight_legend(self, text: str | None) -> None:
        if text == self._weight_legend:
            return
        if self._weight_legend is not None:
            self.legend.removeItem(self.weight_marks)
            self._legend_names.discard(self._weight_legend)
        self._weight_legend = text
        if text is not None:
            self._legend_once(self.weight_marks, text)

    def _redraw_sample_overlays(self) -> None:
        pos, w = self._train_pos, self._weights
        if self.point_weight_mode == "off" or pos is None or w is None or len(w) != len(pos) or not len(w):
            self.weight_marks.hide()
            self._set_weight_legend(None)
        else:
            finite = np.isfinite(w)
            top = float(np.percentile(w[finite], 99)) if finite.any() else 0.0
            share = np.clip(np.nan_to_num(w / top if top > 0 else w * 0.0), 0.0, 1.0)
            base = _point_size(len(pos))
            level = np.rint(share * (LOSS_LEVELS - 1)).astype(np.int64)
            pens, brushes = self._loss_styles()
            if self.point_weight_mode == "size":  # a ring whose area grows with the loss
                big = share >= MIN_RING_SHARE
                sizes = np.rint(base + 4 + 26 * np.sqrt(level[big] / (LOSS_LEVELS - 1)))
                self.weight_marks.setData(
                    pos[big, 0], pos[big, 1], size=sizes, symbol="o", pen=pens[0], brush=brushes[-1]
                )
            else:
                self.weight_marks.setData(
                    pos[:, 0],
                    pos[:, 1],
                    size=base + 1,
                    symbol="o",
                    brush=[brushes[k] for k in level],
                    pen=pens[1],
                )
            self.weight_marks.show()
            self._set_weight_legend(LOSS_LEGEND[self.point_weight_mode])
        if self._highlighted.size:
            self.highlight(self._highlighted)
