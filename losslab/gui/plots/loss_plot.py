"""The live loss plot: per-step loss (raw and smoothed), per-epoch train/validation loss, regularization.

Values arrive as StepBatch/EpochEnd events and go into growable buffers; nothing is drawn until
``redraw()``, which the main window calls once per frame (pacing.py). Every curve shares the global step as
its x axis; a top axis marks where each epoch ended.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from losslab.core.events import EpochEnd, StepBatch
from losslab.core.tasks import REGRESSION
from losslab.gui.plots.axes import tidy_axes
from losslab.gui.plots.band_fill import BandFill
from losslab.gui.plots.batch_spread import BatchSpread
from losslab.gui.plots.buffers import Ema, GrowingSeries, PeakPyramid
from losslab.gui.plots.legends import fit_columns, legend_below
from losslab.gui.plots.loss_units import error_degree, loss_axis_label, units_tip
from losslab.gui.plots.ranges import StickyViewBox, settle_range
from losslab.gui.theme import (
    fit_epoch_symbols,
    palette_colors,
    style_legend,
    style_plot_item,
    style_symbol_rim,
)
from losslab.gui.widgets import FlowLayout

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.trainer import Trainer

DEFAULT_SMOOTHING = 0.9  # mini-batch losses are noisy; TensorBoard's 0.6 still looks jittery
SLIDER_STEPS = 1000  # slider value / 1000 = EMA weight, 0 .. 0.999
HOVER_PIXELS = 40  # how close (in pixels) the mouse must be to a point for the readout to name it

# Keys of curves(), also the series names in a CSV export.
RAW, SMOOTH, REG, TRAIN_EPOCH, VAL_EPOCH = (
    "loss_per_step",
    "loss_smoothed",
    "regularization_per_step",
    "train_loss_per_epoch",
    "val_loss_per_epoch",
)
LEGEND_NAMES = {
    # The axis says "loss", the markers say epoch ends: the legend names which in a word or two, so
    # that under a 280-px plot (a 1280x720 window) it takes two rows, not five.
    SMOOTH: "smoothed",
    RAW: "per step",
    TRAIN_EPOCH: "training",
    VAL_EPOCH: "validation",
    REG: "regularization (L1+L2)",
}
READOUT_NAMES = {RAW: "loss", SMOOTH: "smoothed loss", REG: "regularization"}
BAND_NAME = "batch ±1 sd"
BAND = "batch_spread"  # the band's key among the legend's entries
LEGEND_ORDER = (SMOOTH, RAW, TRAIN_EPOCH, VAL_EPOCH, REG, BAND)
BAND_ALPHA = 45  # fill opacity of the batch-spread band, of 255


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    return f"{v:.4g}"


class EpochAxis(pg.AxisItem):
    """A top axis that labels the global steps at which epochs ended with the epoch number."""

    MIN_LABEL_PIXELS = 40

    def __init__(self) -> None:
        super().__init__("top")
        self._ends = np.empty(0)

    def set_epoch_ends(self, ends: np.ndarray) -> None:
        self._ends = np.asarray(ends, dtype=np.float64)
        self.picture = None  # drop the cached drawing
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        ends = self._ends
        if ends.size == 0 or size <= 0 or maxVal <= minVal:
            return []
        steps_per_epoch = max(float(ends[-1]) / ends.size, 1e-9)
        px_per_epoch = steps_per_epoch * size / (maxVal - minVal)
        stride = 1
        for nice in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000, 1_000_000):
            stride = nice
            if nice * px_per_epoch >= self.MIN_LABEL_PIXELS:
                break
        epochs = np.arange(1, ends.size + 1)
        keep = (epochs % stride == 0) & (ends >= minVal) & (ends <= maxVal)
        return [(stride * steps_per_epoch, ends[keep].tolist())]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self._ends.size == 0:
            return ["" for _ in values]
        idx = np.searchsorted(self._ends, np.asarray(values, dtype=np.float64) - 1e-6)
        return [str(int(i) + 1) for i in idx]


class LossView(QWidget):
    """Loss curves plus their controls (smoothing, log scale, show steps) and a hover readout."""

    def __init__(self, parent: QWidget | None = None, *, dark: bool | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lossView")
        self._pal = palette_colors(dark)
        self._ema = Ema(DEFAULT_SMOOTHING)
        self._smooth_stale = False
        self._epoch_axis = EpochAxis()
        self._series: dict[str, GrowingSeries] = {
            RAW: GrowingSeries(4096),
            SMOOTH: GrowingSeries(4096),
            REG: GrowingSeries(4096),
            TRAIN_EPOCH: GrowingSeries(64),
            VAL_EPOCH: GrowingSeries(64),
        }
        # Per-step curves are drawn from min/max summaries: ~2 points per pixel however long the run.
        self._pyramids = {RAW: PeakPyramid(), SMOOTH: PeakPyramid(), REG: PeakPyramid()}
        self._view_dirty = False  # zoom, pan, resize or log mode changed what the step curves need
        self._decim_key: tuple[Any, ...] | None = None  # what the drawn step curves were made for
        self._epoch_ends = GrowingSeries(64)  # x = step at which epoch y ended
        self._last_step = 0
        self._marks: list[pg.InfiniteLine] = []
        self._in_legend: set[str] = set()  # curves of this run with something to show
        self._legend_entries: list[tuple[str, str]] = []  # (key, name) in the legend now, in order
        self._legend_settled = False
        self._reg_kinds: set[str] = set()

        self.plot = pg.PlotWidget(
            viewBox=StickyViewBox(),
            axisItems={"top": self._epoch_axis, **tidy_axes()},
            background=self._pal["background"],
        )
        self.plot.setObjectName("lossPlot")
        pi = self.plot.getPlotItem()
        self.plot_item = pi
        # No pyqtgraph downsampling or clipping: the step curves come already summarised for the view
        # (PeakPyramid, ~2 points per pixel), and with those options on, every change of the view
        # range made each of the ten curves recompute its data (most of a frame's cost while training).
        pi.setDownsampling(auto=False)
        pi.setClipToView(False)
        pi.showAxis("top")
        pi.setLabel("bottom", "step")
        pi.setLabel("left", "loss")
        pi.setLabel("top", "epoch")
        pi.getAxis("top").setStyle(tickLength=-5)
        pi.setMenuEnabled(True)  # keeps the right-click Export… menu
        self.legend = legend_below(pi, columns=2)  # under the plot: it never hides the first epochs
        self.legend.setZValue(100)

        self.items: dict[str, pg.PlotDataItem] = {}
        self.items[RAW] = pi.plot([], [], name=None)
        self.items[SMOOTH] = pi.plot([], [])
        self.items[REG] = pi.plot([], [])
        self.items[TRAIN_EPOCH] = pi.plot([], [], symbol="o", symbolSize=7, antialias=True)
        self.items[VAL_EPOCH] = pi.plot([], [], symbol="s", symbolSize=7, antialias=True)
        for z, key in enumerate((RAW, REG, SMOOTH, TRAIN_EPOCH, VAL_EPOCH)):
            self.items[key].setZValue(z)
        self._init_band()

        # Hover readout: a crosshair, a dot on the nearest point, and a text line under the plot.
        self._vline = pg.InfiniteLine(angle=90, movable=False)
        self._vline.setZValue(50)
        self._vline.hide()
        pi.addItem(self._vline, ignoreBounds=True)
        self._dot = pg.ScatterPlotItem(size=10)
        self._dot.setZValue(60)
        pi.addItem(self._dot, ignoreBounds=True)
        self._mouse_proxy = pg.SignalProxy(
            self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse_moved
        )
        # A zoom or pan re-summarises the step curves for the new range on the next event-loop turn.
        self._range_timer = QTimer(self)
        self._range_timer.setSingleShot(True)
        self._range_timer.setInterval(0)
        self._range_timer.timeout.connect(self._on_range_timer)
        vb = pi.getViewBox()
        vb.sigXRangeChanged.connect(self._on_view_changed)
        vb.sigResized.connect(self._on_view_changed)
        vb.sigStateChanged.connect(self._on_view_changed)  # e.g. auto-range switched back on

        # Controls row
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setObjectName("smoothingSlider")
        self.smoothing_slider.setRange(0, SLIDER_STEPS - 1)
        self.smoothing_slider.setValue(round(DEFAULT_SMOOTHING * SLIDER_STEPS))
        self.smoothing_slider.setFixedWidth(140)
        self.smoothing_slider.setToolTip(
            "Exponential moving average of the per-step loss: 0 = raw values, 0.99 = very smooth."
        )
        self.smoothing_label = QLabel()
        self.smoothing_label.setMinimumWidth(40)
        self.log_check = QCheckBox("Log scale")
        self.log_check.setObjectName("logScaleCheck")
        self.log_check.setToolTip("Logarithmic loss axis: zero and negative values are left out.")
        self.steps_check = QCheckBox("Show steps")
        self.steps_check.setObjectName("showStepsCheck")
        self.steps_check.setChecked(True)
        self.steps_check.setToolTip("Show the loss of every optimizer step, not only at epoch ends.")
        self.band_check = QCheckBox("Batch spread")
        self.band_check.setObjectName("batchSpreadCheck")
        self.band_check.setChecked(True)
        self.band_check.setToolTip(
            "A band over each epoch: the mean of its per-batch losses ± one standard deviation. Wide: "
            "batches disagree a lot (small batches, noisy data, a high learning rate)."
        )
        self.units_label = QLabel()  # what one unit of a standardized regression loss is (loss_units.py)
        self.units_label.setObjectName("lossUnits")
        self.units_label.hide()
        self.readout = QLabel()
        self.readout.setObjectName("lossReadout")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # The controls wrap when the plot is narrow (a 1280-px screen with both docks and the task view).
        controls = QWidget(self)
        row = FlowLayout(controls, spacing=10)
        row.setContentsMargins(6, 0, 6, 0)
        smoothing = QWidget(controls)
        smoothing_row = QHBoxLayout(smoothing)
        smoothing_row.setContentsMargins(0, 0, 0, 0)
        smoothing_row.addWidget(QLabel("Smoothing"))
        smoothing_row.addWidget(self.smoothing_slider)
        smoothing_row.addWidget(self.smoothing_label)
        for widget in (
            smoothing,
            self.log_check,
            self.steps_check,
            self.band_check,
            self.units_label,
            self.readout,
        ):
            row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(2)
        layout.addWidget(self.plot, 1)
        layout.addWidget(controls)

        self.smoothing_slider.valueChanged.connect(self._on_slider)
        self.log_check.toggled.connect(self.set_log_y)
        self.steps_check.toggled.connect(self.set_show_steps)
        self.band_check.toggled.connect(self.set_show_band)
        self._update_smoothing_label()
        self.set_theme(dark)

    # -- appearance ---------------------------------------------------------------------------
    def apply_theme(self) -> None:
        """Follow the scheme last set by :func:`~losslab.gui.theme.apply_plot_theme`."""
        self.set_theme(None)

    def set_theme(self, dark: bool | None) -> None:
        """Re-colour for the light (False) or dark (True) scheme; None = the scheme last applied."""
        pal = self._pal = palette_colors(dark)
        self.plot.setBackground(pal["background"])
        style_plot_item(self.plot_item, dark)
        style_legend(self.legend, dark)
        it = self.items
        it[RAW].setPen(pg.mkPen(pal["raw"], width=1))
        it[SMOOTH].setPen(pg.mkPen(pal["smooth"], width=2))
        it[REG].setPen(pg.mkPen(pal["reg"], width=1.5, style=Qt.PenStyle.DashLine))
        for key in (TRAIN_EPOCH, VAL_EPOCH):
            color = pal["train"] if key == TRAIN_EPOCH else pal["val"]
            it[key].setPen(pg.mkPen(color, width=2))
            style_symbol_rim(it[key], color, pal["background"])
            it[key].setSymbolBrush(pg.mkBrush(color))
        self._vline.setPen(pg.mkPen(pal["foreground"], width=1, style=Qt.PenStyle.DotLine))
        self._dot.setPen(pg.mkPen(pal["foreground"], width=1.5))
        self._dot.setBrush(pg.mkBrush(None))
        for line in self._marks:
            self._style_mark(line)
        self._style_band()

    def _style_mark(self, line: pg.InfiniteLine) -> None:
        line.setPen(pg.mkPen(self._pal["mark"], width=1.5, style=Qt.PenStyle.DashLine))
        if line.label is not None:
            line.label.setColor(self._pal["mark"])
            line.label.fill = pg.mkBrush(self._pal["legend_brush"])
            line.label.update()

    # -- data in ------------------------------------------------------------------------------
    def set_units(self, dataset: Dataset | None, trainer: Trainer | None = None) -> None:
        """Label the loss axis with the scale the loss is on (loss_units.py); with a trainer, also what
        one unit is in the target's units, where the loss has such a conversion."""
        degree = None
        if trainer is not None and dataset is not None and dataset.task == REGRESSION:
            params = trainer.experiment.loss["params"]
            degree = error_degree(trainer.loss_spec, params, trainer.y_train)
        axis, caption = loss_axis_label(dataset, degree)
        self.plot_item.setLabel("left", axis)
        self.units_label.setText(caption)
        self.units_label.setToolTip(units_tip(dataset))
        self.units_label.setVisible(bool(caption))

    def reset(self) -> None:
        """Forget every value and mark (a new run)."""
        for s in self._series.values():
            s.clear()
        for p in self._pyramids.values():
            p.clear()
        self._epoch_ends.clear()
        self._epoch_axis.set_epoch_ends(np.empty(0))
        self._ema.reset()
        self._smooth_stale = False
        self._last_step = 0
        for line in self._marks:
            self.plot_item.removeItem(line)
        self._marks.clear()
        # The legend keeps its entries into the new run until its first epoch has ended: by then
        # every curve it will have has data, and a run like the last one changes nothing there.
        self._in_legend.clear()
        self._legend_settled = False
        self._reg_kinds.clear()
        self._vline.hide()
        self._dot.setData([], [])
        self.readout.clear()
        self._spread.clear()
        self.plot_item.getViewBox().refit()
        self.redraw()

    def add_steps(self, batch: StepBatch) -> None:
        """Buffer a coalesced batch of per-step values (drawn at the next redraw)."""
        steps = np.asarray(batch.steps, dtype=np.float64).ravel()
        if steps.size == 0:
            return
        if steps[0] <= self._last_step:  # the step count started over: a new run without reset()
            self.reset()
        loss = np.asarray(batch.loss, dtype=np.float64).ravel()
        self._spread.add(batch.epoch_of_steps(), steps, batch.data_loss)
        self._append(RAW, steps, loss)
        if not self._smooth_stale:
            self._append(SMOOTH, steps, self._ema.update(loss))
        else:  # a recompute over everything is pending; keep x in step, y gets replaced
            self._series[SMOOTH].append_many(steps, np.full(steps.shape, np.nan))
        reg = None
        for name, arr in (("L1", batch.l1), ("L2", batch.l2)):
            if arr is not None and len(arr):
                self._reg_kinds.add(name)
                a = np.asarray(arr, dtype=np.float64).ravel()
                reg = a if reg is None else reg + a
        if reg is not None and reg.size == steps.size:
            self._append(REG, steps, reg)
        self._last_step = float(steps[-1])

    def _append(self, key: str, x: np.ndarray, y: np.ndarray) -> None:
        series = self._series[key]
        series.append_many(x, y)
        self._pyramids[key].update(series.view()[1])

    def add_epoch(self, e: EpochEnd) -> None:
        """Buffer the end-of-epoch training and validation loss at the epoch's last global step."""
        self._series[TRAIN_EPOCH].append(e.step, e.train_loss)
        self._series[VAL_EPOCH].append(e.step, e.val_loss)
        self._epoch_ends.append(e.step, e.epoch)
        self._last_step = max(self._last_step, float(e.step))

    def mark(self, step: float, text: str) -> pg.InfiniteLine:
        """A labelled vertical line at ``step`` (e.g. where training diverged)."""
        line = pg.InfiniteLine(
            pos=float(step),
            angle=90,
            movable=False,
            label=text,
            labelOpts={"position": 0.04, "anchors": [(0, 1), (0, 1)], "movable": True},
        )
        line.setZValue(40)
        self._marks.append(line)
        self._style_mark(line)
        self.plot_item.addItem(line, ignoreBounds=True)
        return line

    # -- drawing ------------------------------------------------------------------------------
    @property
    def smoothing(self) -> float:
        return self._ema.weight

    def set_smoothing(self, weight: float) -> None:
        """EMA weight in [0, 0.999]; the smoothed curve is recomputed at the next redraw."""
        weight = min(max(float(weight), 0.0), (SLIDER_STEPS - 1) / SLIDER_STEPS)
        value = round(weight * SLIDER_STEPS)
        if self.smoothing_slider.value() != value:
            self.smoothing_slider.setValue(value)  # comes back through _on_slider
            return
        if weight != self._ema.weight:
            self._ema.weight = weight
            self._smooth_stale = True
        self._update_smoothing_label()

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self.set_smoothing(value / SLIDER_STEPS)

    def _update_smoothing_label(self) -> None:
        self.smoothing_label.setText(f"{self._ema.weight:.3f}")

    @Slot(bool)
    def set_log_y(self, on: bool) -> None:
        """Logarithmic y axis; zero, negative and non-finite values are simply not drawn."""
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)
            return
        self.plot_item.setLogMode(x=False, y=on)
        self._view_dirty = True  # log axes draw the smallest positive value of each block instead
        self._spread.dirty = True  # the band's fill is drawn in the axis's units
        self.redraw()
        self.plot_item.enableAutoRange()

    @property
    def log_y(self) -> bool:
        return self.log_check.isChecked()

    @Slot(bool)
    def set_show_steps(self, on: bool) -> None:
        if self.steps_check.isChecked() != on:
            self.steps_check.setChecked(on)
            return
        for key in (RAW, SMOOTH, REG):
            self.items[key].setVisible(on and (key != REG or len(self._series[REG]) > 0))
        self.redraw()
        self.plot_item.enableAutoRange()

    @property
    def dirty(self) -> bool:
        """Whether redraw() has anything to do."""
        if self._epoch_ends.dirty or self._series[TRAIN_EPOCH].dirty or self._series[VAL_EPOCH].dirty:
            return True
        if self._spread.dirty and self.band_check.isChecked():
            return True
        if not self.steps_check.isChecked():
            return False  # hidden step curves catch up when shown again
        return self._view_dirty or self._smooth_stale or any(self._series[k].dirty for k in self._pyramids)

    def _decimation_key(self) -> tuple[Any, ...]:
        """What the drawn step curves depend on besides the data: x range (None while auto-ranging,
        which draws everything), pixel budget and log mode."""
        vb = self.plot_item.getViewBox()
        x_range = None if vb.autoRangeEnabled()[0] else tuple(vb.viewRange()[0])
        return (x_range, max(int(vb.width()), 200) // 2, self.log_y)

    @Slot()
    def _on_view_changed(self) -> None:
        # While auto-ranging, new data moves the range every frame but the curves (everything) stay
        # valid: re-summarising them would cost a second paint per frame. Zoom, pan, resize do need it.
        if self._decimation_key() != self._decim_key:
            self._view_dirty = True
            self._range_timer.start()

    @Slot()
    def _on_range_timer(self) -> None:
        self.redraw()

    def redraw(self) -> bool:
        """Push changed buffers to their curves; a cheap no-op when nothing changed. True if it drew."""
        if not self.dirty:
            return False
        show_steps = self.steps_check.isChecked()
        if show_steps and self._smooth_stale:
            _, raw_y = self._series[RAW].view()
            self._series[SMOOTH].set_y(self._ema.recompute(raw_y))
            self._pyramids[SMOOTH].clear()
            self._pyramids[SMOOTH].update(self._series[SMOOTH].view()[1])
            self._smooth_stale = False
        # Auto-ranging in x: summarise everything so the range can grow to new data; zoomed: the view.
        # Buckets: min/max blocks, so 1..4 points per pixel.
        decim_key = self._decimation_key()
        x_range, buckets, log = decim_key
        for key, series in self._series.items():
            pyramid = self._pyramids.get(key)
            if pyramid is None:
                if series.dirty:
                    self._fit_symbols(key, series.n)
                    x, y = series.view()
                    if not np.isfinite(y).any():  # e.g. no validation split: all NaN
                        x, y = x[:0], y[:0]
                    self.items[key].setData(x, y)
                    series.dirty = False
                    self._update_legend(key)
                continue
            if not show_steps or not (series.dirty or self._view_dirty):
                continue
            x, y = series.view()
            i0, i1 = 0, x.size
            if x_range is not None and x.size:
                i0 = int(np.searchsorted(x, x_range[0])) - 1
                i1 = int(np.searchsorted(x, x_range[1])) + 1
            self.items[key].setData(*pyramid.decimate(x, y, i0, i1, buckets, positive=log))
            series.dirty = False
            self._update_legend(key)
        if show_steps:
            self._view_dirty = False
            self._decim_key = decim_key
        if self._epoch_ends.dirty:
            self._epoch_axis.set_epoch_ends(self._epoch_ends.view()[0])
            self._epoch_ends.dirty = False
        if self._spread.dirty and self.band_check.isChecked():
            self._draw_band()
        self._sync_legend()
        settle_range(self.plot)
        return True

    def _fit_symbols(self, key: str, n: int) -> None:
        train = key == TRAIN_EPOCH
        color = self._pal["train"] if train else self._pal["val"]
        fit_epoch_symbols(self.items[key], n, "o" if train else "s", color, self._pal["background"])

    def _update_legend(self, key: str) -> None:
        """Note that ``key``'s curve has something to show; _sync_legend puts it in the legend."""
        series = self._series[key]
        if key in self._in_legend or series.n == 0:
            return
        if key == VAL_EPOCH and not np.isfinite(series.view()[1]).any():
            return  # no validation split: no legend entry for an all-NaN curve
        if key == REG:
            self.items[REG].setVisible(self.steps_check.isChecked())
        self._in_legend.add(key)

    def _sync_legend(self) -> None:
        """The legend in a fixed order, rebuilt only when its entries change (each entry added costs
        ~7 ms of layout); entries of the last run stay until this run's first epoch has ended."""
        self._legend_settled = self._legend_settled or self._epoch_ends.n > 0
        shown = dict(self._legend_entries)
        keys = self._in_legend if self._legend_settled else self._in_legend | set(shown)
        wanted = [
            (key, self._legend_name(key) if key in self._in_legend else shown[key])
            for key in LEGEND_ORDER
            if key in keys
        ]
        if wanted == self._legend_entries:
            return
        for key, _ in self._legend_entries:
            self.legend.removeItem(self._legend_item(key))
        for key, name in wanted:
            self.legend.addItem(self._legend_item(key), name)
        self._legend_entries = wanted
        fit_columns(self.legend, self.width() - 8)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """As many legend columns as fit the plot's width (the legend sits under it)."""
        super().resizeEvent(event)
        fit_columns(self.legend, event.size().width() - 8)

    def _legend_item(self, key: str) -> pg.PlotDataItem:
        return self.band_mean if key == BAND else self.items[key]

    def _legend_name(self, key: str) -> str:
        if key == BAND:
            return BAND_NAME
        if key == REG:
            return f"regularization ({'+'.join(sorted(self._reg_kinds)) or 'L1+L2'})"
        return LEGEND_NAMES[key]

    # -- the batch-spread band ----------------------------------------------------------------
    def _init_band(self) -> None:
        self._spread = BatchSpread()
        pi = self.plot_item
        # The band is its fill plus the dotted mean: two items (edge curves cost a repaint each frame).
        self.band_mean = pg.PlotDataItem([], [])
        self.band_fill = BandFill()
        for z, item in enumerate((self.band_fill, self.band_mean)):
            item.setZValue(-3 + z * 0.1)  # under every curve
            pi.addItem(item)

    def _style_band(self) -> None:
        color = pg.mkColor(self._pal["smooth"])
        edge = pg.mkColor(color)
        edge.setAlpha(110)
        fill = pg.mkColor(color)
        fill.setAlpha(BAND_ALPHA)
        self.band_fill.setBrush(pg.mkBrush(fill))
        self.band_mean.setPen(pg.mkPen(edge, width=1.2, style=Qt.PenStyle.DotLine))

    def _draw_band(self) -> None:
        x, lo, mid, hi = self._spread.band()
        self.band_mean.setData(x, mid)
        self.band_fill.set_band(x, lo, hi, self.log_y)
        self.plot_item.getViewBox().itemBoundsChanged(self.band_fill)
        self._spread.dirty = False
        if x.size:
            self._in_legend.add(BAND)

    def band(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x, low, mean, high) of the batch-spread band as drawn (see batch_spread.py)."""
        return self._spread.band()

    @Slot(bool)
    def set_show_band(self, on: bool) -> None:
        if self.band_check.isChecked() != on:
            self.band_check.setChecked(on)
            return
        for item in (self.band_fill, self.band_mean):
            item.setVisible(on)
        if on:
            self._spread.dirty = True
            self.redraw()

    # -- hover --------------------------------------------------------------------------------
    def epoch_of_step(self, step: float) -> int:
        """1-based epoch a global step belongs to (the epoch in progress after the last epoch end)."""
        ends = self._epoch_ends.view()[0]
        return int(np.searchsorted(ends, step, side="left")) + 1

    @Slot(object)
    def _on_mouse_moved(self, args: tuple[Any, ...]) -> None:
        pos = args[0]
        vb = self.plot_item.getViewBox()
        if not self.plot_item.sceneBoundingRect().contains(pos):
            return
        mouse = vb.mapSceneToView(pos)
        self.hover_at(mouse.x(), mouse.y())

    def hover_at(self, x: float, y_view: float) -> str:
        """Show the readout for the point nearest to view coordinates (x, y); returns its text."""
        vb = self.plot_item.getViewBox()
        log = self.log_y
        mouse_scene = vb.mapViewToScene(QPointF(x, y_view))
        best: tuple[float, str, float, float] | None = None
        keys = [TRAIN_EPOCH, VAL_EPOCH]
        if self.steps_check.isChecked():
            keys += [SMOOTH, RAW, REG]
        for key in keys:
            sx, sy = self._series[key].view()
            if sx.size == 0:
                continue
            i = int(np.searchsorted(sx, x))
            for j in (i - 1, i):
                if not 0 <= j < sx.size:
                    continue
                px, py = float(sx[j]), float(sy[j])
                if not math.isfinite(py) or (log and py <= 0):
                    continue
                vy = math.log10(py) if log else py
                p = vb.mapViewToScene(QPointF(px, vy))
                d = math.hypot(p.x() - mouse_scene.x(), p.y() - mouse_scene.y())
                if best is None or d < best[0]:
                    best = (d, key, px, py)
        if best is None or best[0] > HOVER_PIXELS:
            self._vline.hide()
            self._dot.setData([], [])
            self.readout.clear()
            return ""
        _, key, px, py = best
        step = round(px)
        epoch = self.epoch_of_step(px)
        if key in (TRAIN_EPOCH, VAL_EPOCH):
            _, tr = self._series[TRAIN_EPOCH].view()
            _, va = self._series[VAL_EPOCH].view()
            i = int(np.searchsorted(self._series[TRAIN_EPOCH].view()[0], px))
            parts = [f"epoch {epoch} (step {step})", f"training {_fmt(float(tr[i]))}"]
            if i < va.size and math.isfinite(float(va[i])):
                parts.append(f"validation {_fmt(float(va[i]))}")
            text = " · ".join(parts)
        else:
            text = f"step {step} · epoch {epoch} · {READOUT_NAMES[key]} {_fmt(py)}"
        self._vline.setPos(px)
        self._vline.show()
        self._dot.setData([px], [math.log10(py) if log else py])
        self.readout.setText(text)
        return text

    # -- export -------------------------------------------------------------------------------
    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every non-empty curve as (x, y) copies, keyed by series name (for CSV export)."""
        if self._smooth_stale:
            self.redraw()
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key in (RAW, SMOOTH, REG, TRAIN_EPOCH, VAL_EPOCH):
            x, y = self._series[key].copy()
            if x.size and (key != VAL_EPOCH or np.isfinite(y).any()):
                out[key] = (x, y)
        return out


def loss_plot_redraw_seconds(n_points: int, repeats: int = 15, *, batch: int = 100) -> float:
    """Median seconds for one live update of a LossView holding ``n_points`` steps.

    Each repetition appends ``batch`` new steps (as the trainer would), calls ``redraw()`` and lets the
    event loop paint the 800x500 window once. Needs a QApplication (creates one if there is none).
    """
    app = QApplication.instance() or QApplication([])
    view = LossView()
    view.resize(800, 500)
    view.show()
    rng = np.random.default_rng(0)
    steps = np.arange(1, n_points + 1, dtype=np.float64)
    loss = np.exp(-steps / max(n_points / 5, 1)) + 0.05 * rng.random(n_points)
    chunk = 100_000
    for start in range(0, n_points, chunk):
        s = steps[start : start + chunk]
        view.add_steps(
            StepBatch(
                0, s, loss[start : start + chunk], loss[start : start + chunk], None, None, 0.01, 0.0, 0.0
            )
        )
    per_epoch = max(n_points // 20, 1)
    for k, end in enumerate(range(per_epoch, n_points + 1, per_epoch), start=1):
        tl = float(loss[end - 1])
        view.add_epoch(EpochEnd(k, end, tl, tl * 1.1, {}, {}, 0.01, 0.0, 0.0, 0.0))
    view.redraw()
    app.processEvents()
    times = []
    for _ in range(3):  # settle: the first paints lay out the legend and axes
        app.processEvents()
    nxt = n_points + 1
    for _ in range(repeats):
        new = np.arange(nxt, nxt + batch, dtype=np.float64)
        nxt += batch
        vals = 0.05 + 0.05 * rng.random(batch)
        t0 = time.perf_counter()
        view.add_steps(StepBatch(0, new, vals, vals, None, None, 0.01, 0.0, 0.0))
        view.redraw()
        app.processEvents()  # the event loop lays out and paints the plot once, as in the app
        times.append(time.perf_counter() - t0)
    view.close()
    view.deleteLater()
    app.processEvents()
    return float(np.median(times))
