"""The task's headline quality metric per epoch (accuracy, R², IoU for masks), training and validation."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from losslab.core.events import EpochEnd
from losslab.core.metrics import LABELS, headline
from losslab.gui.plots.axes import tidy_axes
from losslab.gui.plots.buffers import GrowingSeries
from losslab.gui.plots.legends import legend_below
from losslab.gui.plots.ranges import StickyViewBox, settle_range
from losslab.gui.theme import (
    fit_epoch_symbols,
    palette_colors,
    style_legend,
    style_plot_item,
    style_symbol_rim,
)

R2_FLOOR = -1.0  # an untrained regressor's R² can be -1e6; below this the curve leaves the chart
R2_TOP = 1.05
Y_MARGIN = 0.06


class MetricPlot(pg.PlotWidget):
    """Headline metric per epoch (x = epoch). Call ``reset(task, masks)`` before a run, ``redraw()``
    on a timer.

    (Attribute names must not shadow Qt virtuals: a ``metric`` attribute on a QWidget replaces
    QPaintDevice.metric() and crashes ``grab()``.)
    """

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None) -> None:
        super().__init__(
            parent,
            viewBox=StickyViewBox(),
            background=palette_colors(dark)["background"],
            axisItems=tidy_axes(),
        )
        self._pal = palette_colors(dark)
        self.setObjectName("metricPlot")
        pi = self.getPlotItem()
        self.plot_item = pi
        pi.setLabel("bottom", "epoch")
        pi.setMenuEnabled(True)
        self.legend = legend_below(pi)  # a falling metric (R² of a bad fit) would run under a corner one
        self.metric_name: str | None = None
        self.task: str | None = None
        self._train = GrowingSeries(64)
        self._val = GrowingSeries(64)
        self.train_item = pi.plot([], [], symbol="o", symbolSize=6, antialias=True)
        self.val_item = pi.plot([], [], symbol="s", symbolSize=6, antialias=True)
        self._in_legend: set[str] = set()
        self._clipped = False
        self.set_theme(dark)
        self.reset(None)

    def apply_theme(self) -> None:
        """Follow the scheme last set by :func:`~losslab.gui.theme.apply_plot_theme`."""
        self.set_theme(None)

    def set_theme(self, dark: bool | None) -> None:
        pal = self._pal = palette_colors(dark)
        self.setBackground(pal["background"])
        style_plot_item(self.plot_item, dark)
        style_legend(self.legend, dark)
        for item, color in ((self.train_item, pal["train"]), (self.val_item, pal["val"])):
            item.setPen(pg.mkPen(color, width=2))
            item.setSymbolBrush(pg.mkBrush(color))
            style_symbol_rim(item, color, pal["background"])

    def reset(self, task: str | None, masks: bool = False) -> None:
        """Forget the values; show ``task``'s headline metric from now on (None: nothing; ``masks``:
        a segmentation dataset, whose headline is IoU)."""
        self.task = task
        self.metric_name = headline(task, masks) or None
        self._train.clear()
        self._val.clear()
        self.legend.clear()
        self._in_legend.clear()
        self._clipped = False
        self._set_label()
        vb = self.plot_item.getViewBox()
        vb.enableAutoRange(x=True, y=False)
        vb.refit()
        # Accuracy stays here; R² adapts in redraw. The margin leaves room for the 0 and 1 tick labels.
        self.plot_item.setYRange(-Y_MARGIN, 1.0 + Y_MARGIN, padding=0)
        self.redraw()

    def _set_label(self) -> None:
        if self.metric_name is None:
            self.plot_item.setLabel("left", "")
            return
        text = LABELS.get(self.metric_name, self.metric_name)
        if self._clipped:
            text += " (values below " + f"{R2_FLOOR:g}".replace("-", "−") + " not shown)"
        self.plot_item.setLabel("left", text)

    def add_epoch(self, e: EpochEnd) -> None:
        if self.metric_name is None:
            return
        self._train.append(e.epoch, e.train_metrics.get(self.metric_name, math.nan))
        self._val.append(e.epoch, e.val_metrics.get(self.metric_name, math.nan))

    def redraw(self) -> bool:
        """Push new values to the curves; a cheap no-op when nothing changed."""
        if not (self._train.dirty or self._val.dirty):
            return False
        for key, series, item in (("train", self._train, self.train_item), ("val", self._val, self.val_item)):
            pal = self._pal
            fit_epoch_symbols(item, series.n, "o" if key == "train" else "s", pal[key], pal["background"], 6)
            x, y = series.view()
            item.setData(*((x, y) if np.isfinite(y).any() else (x[:0], y[:0])))
            series.dirty = False
            if key not in self._in_legend and np.isfinite(y).any():
                self._in_legend.add(key)
                self.legend.addItem(item, "training" if key == "train" else "validation")
        self._fit_y_range()
        settle_range(self)
        return True

    def _fit_y_range(self) -> None:
        if self.metric_name != "r2":
            return  # accuracy (and F1) keep their fixed 0..1 range
        ys = np.concatenate([self._train.view()[1], self._val.view()[1]])
        ys = ys[np.isfinite(ys)]
        if ys.size == 0:
            return
        lo = float(ys.min())
        clipped = lo < R2_FLOOR
        lo = max(lo, R2_FLOOR)
        lo = min(lo, 0.9)  # keep at least a little range even when every value is near 1
        self.plot_item.setYRange(lo - Y_MARGIN * (R2_TOP - lo), R2_TOP + Y_MARGIN * (R2_TOP - lo), padding=0)
        if clipped != self._clipped:
            self._clipped = clipped
            self._set_label()

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{"train_<metric>_per_epoch": (epochs, values), "val_...": ...} for CSV export."""
        if self.metric_name is None:
            return {}
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for prefix, series in (("train", self._train), ("val", self._val)):
            x, y = series.copy()
            if x.size and np.isfinite(y).any():
                out[f"{prefix}_{self.metric_name}_per_epoch"] = (x, y)
        return out
