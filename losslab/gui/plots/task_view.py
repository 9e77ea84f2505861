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
``image``          image data: a note that points in feature space do not apply (see the Images tab)
=================  ==========================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from losslab.core.data import Dataset
from losslab.gui.plots.axes import tidy_axes
from losslab.gui.plots.legends import legend_below
from losslab.gui.plots.task_modes import (
    GRID,
    LINE_POINTS,
    MARGIN,
    ViewFunction,
    contour_segments,
    dataset_key,
    display_range,
    view_function,
    view_mode,
)
from losslab.gui.plots.task_overlays import LOSS_DISPLAY, SampleOverlays
from losslab.gui.plots.task_points import DataPoints, mix, rgb
from losslab.gui.theme import palette_colors, style_legend, style_plot_item

__all__ = [
    "GRID",
    "LINE_POINTS",
    "LOSS_DISPLAY",
    "MARGIN",
    "TaskView",
    "ViewFunction",
    "contour_segments",
    "dataset_key",
    "display_range",
    "view_mode",
]

IMAGE_NOTICE = (
    "<div style='text-align:center'>Not available for image data:<br>this view draws samples as "
    "points.<br>The <b>Images</b> tab shows the images<br>with their predictions.</div>"
)
SURFACE_STRENGTH = 0.5  # how much of a class colour the decision surface shows at full confidence


class TaskView(DataPoints, SampleOverlays, pg.PlotWidget):
    """The data in display units with the model's current predictions drawn over it.

    The points come from DataPoints (task_points.py), the per-sample overlays from SampleOverlays
    (task_overlays.py); this class holds the predictions and the theme.
    """

    pointWeightModeChanged = Signal(str)  # the user picked how points show their loss (LOSS_DISPLAY)

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None) -> None:
        super().__init__(parent, background=palette_colors(dark)["background"], axisItems=tidy_axes())
        self._pal = palette_colors(dark)
        self._dark = dark
        self.setObjectName("taskPlot")
        pi = self.getPlotItem()
        self.plot_item = pi
        pi.setMenuEnabled(True)
        self.legend = legend_below(pi)  # under the plot, never over the points
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
        # What the predictions draw (the diagonal is the parity plot's y = x line, part of the data).
        self._prediction_items = (
            self.surface,
            self.rgb_surface,
            self.contour,
            self.fit_curve,
            self.error_bars,
            self.miss_marks,
        )
        for item in (*self._prediction_items, self.diagonal):
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

    # -- data ---------------------------------------------------------------------------------
    def reset_for_run(self, ds: Dataset | None) -> None:
        """A new run on ``ds``: forget the predictions and the sample marks. The same data keeps its
        points drawn: redrawing ten classes' points in the three task views took ~30 ms of a Train
        press. (Parity points are predictions, so that view starts over.)"""
        same = ds is not None and ds is self.dataset and dataset_key(ds) == self._key
        if not same or self.mode in ("parity_reg", "image"):
            self.set_dataset(ds)
            return
        self.clear_view()
        self._clear_sample_marks()
        self._fit_range()

    def _fit_range(self) -> None:
        """The view's range as set_dataset leaves it: a surface fills it, anything else auto-ranges."""
        if self._grid is not None:
            x, y = self._grid
            self.plot_item.setRange(xRange=(x[0], x[-1]), yRange=(y[0], y[-1]), padding=0)
        else:
            self.plot_item.enableAutoRange()

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
        for item in (*self._prediction_items, self.diagonal):
            item.hide()
        if view_mode(ds) != self.mode:
            self._show_colorbar(None)  # the same kind of view keeps its bar until it is drawn again
        self._last_payload = None
        self._clear_sample_overlays()
        self.dataset = ds
        self.mode = view_mode(ds)
        self._key = dataset_key(ds) if ds is not None else None
        self._grid = None
        image = ds is not None and self.mode == "image"
        if ds is None or image:
            pi.setLabel("bottom", "")
            pi.setLabel("left", "")
        for side in ("left", "bottom"):
            pi.showAxis(side, not image)  # after setLabel, which shows its axis
        if image:
            note = pg.TextItem(html=IMAGE_NOTICE, anchor=(0.5, 0.5), color=self._pal["foreground"])
            pi.addItem(note)
            self._data_items.append(note)
            pi.showGrid(x=False, y=False)
            pi.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)
        if ds is None or image:
            return
        names = list(ds.feature_names) or [f"x{i + 1}" for i in range(ds.n_features)]
        target = ds.target_name or "y"
        xtr = ds.x_to_display(ds.x_train)
        xva = ds.x_to_display(ds.x_val)
        pi.enableAutoRange()
        two_d = self.mode in ("surface_cls", "scatter_cls", "surface_reg")
        self._lock_aspect(ds, two_d or (self.mode == "data" and ds.n_features >= 2))
        if two_d or (self.mode == "data" and ds.n_features >= 2):
            pi.setLabel("bottom", names[0])
            pi.setLabel("left", names[1])
            lo, hi = display_range(ds)
            if self.mode in ("surface_cls", "surface_reg"):
                self._grid = (np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
                self._fit_range()
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

    # -- predictions --------------------------------------------------------------------------
    view_function = staticmethod(view_function)

    def clear_view(self) -> None:
        """Hide the predictions (e.g. after the weights were reset) but keep the data."""
        for item in self._prediction_items:
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
                mix(neutral, self.class_color(0), SURFACE_STRENGTH),
                pg.mkColor(neutral),
                mix(neutral, self.class_color(1), SURFACE_STRENGTH),
            ],
        )

    def _blend_classes(self, probs: np.ndarray) -> np.ndarray:
        k = probs.shape[-1]
        p = np.nan_to_num(probs.astype(np.float64), nan=1.0 / k)
        colors = np.stack([rgb(self.class_color(i)) for i in range(k)])  # (k, 3)
        mixed = p @ colors
        conf = (p.max(axis=-1, keepdims=True) - 1.0 / k) / (1.0 - 1.0 / k)
        neutral = rgb(self._pal["neutral"])
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

    # -- per-sample overlays (task_overlays.py): the right-click menu's slot -----------------------
    @Slot(QAction)
    def _on_loss_action(self, action: QAction) -> None:
        self.set_point_weight_mode(action.data())
