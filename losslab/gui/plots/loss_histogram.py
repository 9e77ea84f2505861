"""How the per-sample losses are spread: a histogram that evolves with training, the cost marked on it.

The cost, what training minimises, is the mean of the per-sample losses (for a weighted or set-level
loss it is not, and a second line says where it is). A faint line keeps where the mean started.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QWidget

from losslab.core.per_sample import PerSampleLosses
from losslab.gui.theme import palette_colors, style_plot_item

BINS = 40


class LossHistogram(pg.PlotWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        self._pal = palette_colors(None)
        super().__init__(parent, background=self._pal["background"])
        self.setObjectName("lossHistogram")
        pi = self.getPlotItem()
        self.plot_item = pi
        pi.setLabel("bottom", "loss of one training sample")
        pi.setLabel("left", "samples")
        pi.setMenuEnabled(True)
        self.bars = pg.PlotDataItem([0, 1], [0], stepMode="center", fillLevel=0)
        pi.addItem(self.bars)
        self.mean_line = pg.InfiniteLine(
            angle=90, movable=False, label="", labelOpts={"position": 0.92, "anchors": [(0, 0.5), (0, 0.5)]}
        )
        self.cost_line = pg.InfiniteLine(
            angle=90, movable=False, label="", labelOpts={"position": 0.78, "anchors": [(0, 0.5), (0, 0.5)]}
        )
        self.start_line = pg.InfiniteLine(
            angle=90, movable=False, label="", labelOpts={"position": 0.64, "anchors": [(0, 0.5), (0, 0.5)]}
        )
        for line in (self.mean_line, self.cost_line, self.start_line):
            line.setZValue(10)
            pi.addItem(line, ignoreBounds=True)
            line.hide()
        self.mean = math.nan
        self.cost = math.nan
        self.start_mean: float | None = None
        self.counts = np.empty(0)
        self.edges = np.empty(0)
        self.log_counts = False
        self.apply_theme()

    def apply_theme(self) -> None:
        self._pal = pal = palette_colors(None)
        self.setBackground(pal["background"])
        style_plot_item(self.plot_item)
        color = pg.mkColor(pal["smooth"])
        fill = pg.mkColor(color)
        fill.setAlpha(110)
        self.bars.setPen(pg.mkPen(color, width=1))
        self.bars.setBrush(pg.mkBrush(fill))
        self.mean_line.setPen(pg.mkPen(pal["mark"], width=2.5))
        self.mean_line.label.setColor(pal["mark"])
        self.cost_line.setPen(pg.mkPen(pal["train"], width=2, style=Qt.PenStyle.DashLine))
        self.cost_line.label.setColor(pal["train"])
        self.start_line.setPen(pg.mkPen(pal["foreground"], width=1, style=Qt.PenStyle.DotLine))
        self.start_line.label.setColor(pal["foreground"])
        for line in (self.mean_line, self.cost_line, self.start_line):
            line.label.fill = pg.mkBrush(pal["legend_brush"])

    def clear_data(self) -> None:  # not clear(): PlotWidget's own clear() removes every item
        self.bars.setData([0, 1], [0])
        for line in (self.mean_line, self.cost_line, self.start_line):
            line.hide()
        self.mean = self.cost = math.nan
        self.start_mean = None
        self.counts = np.empty(0)
        self.edges = np.empty(0)

    def update_from(self, event: PerSampleLosses) -> None:
        loss = np.asarray(event.loss, dtype=np.float64)
        loss = loss[np.isfinite(loss)]
        if loss.size == 0:
            return
        lo, hi = float(loss.min()), float(loss.max())
        lo = min(lo, 0.0)
        if hi <= lo:
            hi = lo + 1.0
        self.counts, self.edges = np.histogram(loss, bins=BINS, range=(lo, hi))
        self._draw_bars()
        self.mean = float(loss.mean())
        self.cost = float(event.cost)
        same = math.isclose(self.mean, self.cost, rel_tol=1e-4, abs_tol=1e-9) or not math.isfinite(self.cost)
        # A hidden line's label ignores new text: show the line first, then move and label it.
        self.mean_line.show()
        self.mean_line.setPos(self.mean)
        self.mean_line.label.setFormat(f"mean = cost {self.mean:.4g}" if same else f"mean {self.mean:.4g}")
        self.cost_line.setVisible(not same)
        if not same:
            self.cost_line.setPos(self.cost)
            self.cost_line.label.setFormat(f"cost {self.cost:.4g} (weighted / whole-batch)")
        if self.start_mean is None:
            self.start_mean = self.mean
        moved = not math.isclose(self.start_mean, self.mean, rel_tol=1e-3)
        self.start_line.setVisible(moved)
        if moved:
            self.start_line.setPos(self.start_mean)
            self.start_line.label.setFormat(f"mean at the start {self.start_mean:.4g}")

    @Slot(bool)
    def set_log_counts(self, on: bool) -> None:
        """A logarithmic count axis, so a handful of samples with huge losses stays visible."""
        self.log_counts = on
        self.plot_item.setLogMode(x=False, y=on)
        self.plot_item.setLabel("left", "samples (log scale)" if on else "samples")
        self._draw_bars()
        self.plot_item.enableAutoRange()

    def _draw_bars(self) -> None:
        if self.edges.size == 0:
            self.bars.setData([0, 1], [0])
            return
        counts = self.counts.astype(np.float64)
        if self.log_counts:  # log(0) has no place on the axis: empty bins sit just under one sample
            counts = np.maximum(counts, 0.7)
        self.bars.setFillLevel(math.log10(0.7) if self.log_counts else 0)
        self.bars.setData(self.edges, counts)
