"""The task view's data layer: the training and validation points of each mode, outliers ringed,
the legend placed where it hides the fewest points, the colour bar of a value map.

A mixin of TaskView (task_view.py), which owns the plot item, the palette and the legend.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QResizeEvent

from losslab.core.data import Dataset
from losslab.gui.plots.legends import fit_columns

SAME_SCALE = 5.0  # features whose ranges differ by more are not drawn at one scale


def rgb(color: Any) -> np.ndarray:
    q = pg.mkColor(color)
    return np.array([q.red(), q.green(), q.blue()], dtype=np.float64)


def mix(c1: Any, c2: Any, t: float) -> QColor:
    """t=0: c1, t=1: c2."""
    v = rgb(c1) * (1 - t) + rgb(c2) * t
    return QColor(*(round(x) for x in v))


def point_size(n: int) -> int:
    return 8 if n <= 300 else 6 if n <= 2000 else 4 if n <= 20000 else 3


def same_scale(ds: Dataset, most: float = SAME_SCALE) -> bool:
    """Whether the first two features span ranges within a factor ``most`` of each other in display
    units (two coordinates of one plane, not two measurements of different kinds)."""
    if ds.n_features < 2:
        return False
    x = ds.x_to_display(np.concatenate([ds.x_train, ds.x_val]))[:, :2]
    span = np.nanmax(x, axis=0) - np.nanmin(x, axis=0)
    if not np.all(np.isfinite(span)) or np.any(span <= 0):
        return False
    return bool(span.max() / span.min() <= most)


class DataPoints:
    """Draws the dataset's points into ``plot_item`` (what set_dataset shows for each mode)."""

    plot_item: pg.PlotItem
    legend: pg.LegendItem
    surface: pg.ImageItem
    mode: str
    _pal: dict[str, Any]
    _data_items: list[pg.GraphicsObject]
    _legend_names: set[str]
    _legend_samples: list[pg.GraphicsObject]
    _train_pos: np.ndarray | None
    colorbar: pg.ColorBarItem | None
    _colorbar_key: Any

    def class_color(self, k: int) -> str:
        colors = self._pal["classes"]
        return colors[k % len(colors)]

    def _lock_aspect(self, ds: Dataset, two_d: bool) -> None:
        """One unit is as long across as up (circles look round) where both axes are features on one
        scale; features of different kinds (square metres against years) keep their own scales."""
        self.plot_item.setAspectLocked(two_d and same_scale(ds), ratio=1.0)

    def _place_legend(self, pts: np.ndarray) -> None:
        """The legend sits under the plot (legends.py), so no point is ever under it; ``pts`` (the
        points drawn) need not be looked at. As many columns as fit the plot's width."""
        fit_columns(self.legend, self.width() - 8.0)

    def resizeEvent(self, event: QResizeEvent | None) -> None:
        super().resizeEvent(event)  # type: ignore[misc]  # pg.PlotWidget's, in TaskView
        if event is not None and "legend" in self.__dict__:  # pyqtgraph resizes before __init__ is done
            fit_columns(self.legend, event.size().width() - 8.0)

    def _legend_once(self, item: pg.GraphicsObject, name: str) -> None:
        if name not in self._legend_names:
            self._legend_names.add(name)
            self.legend.addItem(item, name)
            fit_columns(self.legend, self.width() - 8.0)  # a longer entry may need fewer columns

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
        size = point_size(len(xtr) + len(xva))
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
        size = point_size(n_hint if n_hint is not None else len(xtr) + len(xva))
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
        size = point_size(len(xtr) + len(xva))
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
            brush=pg.mkBrush(mix(self._pal["background"], self._pal["smooth"], 0.5)),
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
