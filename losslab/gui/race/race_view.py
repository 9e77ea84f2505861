"""The live race: one loss curve per variant, its headline metric, and a table of the variants.

Fed on the GUI thread by RaceWindow (from RaceController's signals): ``start(plan, event)`` once,
then ``add_steps`` / ``add_epoch`` / ``variant_ended`` / ``finish`` as events arrive; ``redraw()``
once per frame pushes only what changed to pyqtgraph. Curves are drawn against the epoch (the step
divided by the variant's steps per epoch), so variants of different batch sizes line up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from losslab.core.events import EpochEnd, StepBatch
from losslab.core.metrics import LABELS
from losslab.core.race import RacePlan, RaceResult, RaceStarted, VariantResult, number_text
from losslab.core.race.fairness import batch_ends
from losslab.gui.plots.buffers import Ema, GrowingSeries
from losslab.gui.plots.ranges import StickyViewBox, settle_range
from losslab.gui.theme import palette_colors, style_legend, style_plot_item
from losslab.gui.widgets import BAD, GOOD, INFO, badge, hint_label, set_badge

SMOOTHING = 0.8  # EMA weight of the per-step training loss (the raw steps of N variants are a blur)
DIGEST_CHARS = 12
COLUMNS = ("variant", "mode", "status", "epoch", "train loss", "val loss", "metric", "steps/s")
WAITING, TRAINING = "waiting", "training"
LABEL_CHARS = 48  # longer labels (a whole loss section) are shortened in the legend and table
TABLE_ROWS = 6  # rows the table shows without scrolling


def _number(value: Any) -> str:
    return number_text(value, missing="–")


def _swatch(color: str, dashed: bool = False) -> QIcon:
    pix = QPixmap(22, 12)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    pen = QPen(QColor(color), 3)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.drawLine(1, 6, 21, 6)
    painter.end()
    return QIcon(pix)


@dataclass
class Lane:
    """One variant's curves and table row."""

    label: str
    mode: str
    epochs: int
    steps_per_epoch: float
    color: str
    status: str = WAITING
    epoch: int = 0
    train_loss: float = math.nan
    val_loss: float = math.nan
    metric: float = math.nan
    rate: float = math.nan
    ema: Ema = field(default_factory=lambda: Ema(SMOOTHING))
    steps: GrowingSeries = field(default_factory=lambda: GrowingSeries(1024))
    val: GrowingSeries = field(default_factory=lambda: GrowingSeries(64))
    metric_series: GrowingSeries = field(default_factory=lambda: GrowingSeries(64))
    row_dirty: bool = True
    items: list[Any] = field(default_factory=list)  # train curve, val curve, metric curve


def short_label(variant: Any) -> str:
    """The variant's label, with a whole section (a custom loss and its code) shown by its name."""
    label = str(variant.label)
    value = variant.value
    if len(label) > LABEL_CHARS and isinstance(value, Mapping):
        name = value.get("name") or value.get("id")
        if isinstance(name, str):
            return f"{label.split('=', 1)[0]}={name}"
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def fairness_text(event: RaceStarted) -> tuple[bool, str]:
    """(fair, the line that says so), from the digests the race started with."""
    inits, orders = set(event.init_digests), set(event.batch_order_digests)
    if len(inits) == 1 and len(orders) == 1:
        return True, (
            f"Fair: every variant starts from the same weights ({event.init_digests[0][:DIGEST_CHARS]}) "
            f"and sees the same batches in the same order ({event.batch_order_digests[0][:DIGEST_CHARS]})"
        )
    what = []
    if len(inits) > 1:
        what.append(f"{len(inits)} different initial weights")
    if len(orders) > 1:
        what.append(f"{len(orders)} different batch orders")
    return False, f"Not fair: {' and '.join(what)} among the variants (SHA-256 digests in each row's tip)"


class RaceView(QWidget):
    """Plots and table of one race at a time (``start`` clears the last one)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("raceView")
        self.lanes: list[Lane] = []
        self.setting = ""
        self.headline = ""
        self.fair: bool | None = None
        self._pal = palette_colors()

        self.title = QLabel()
        self.title.setObjectName("raceTitle")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.fair_badge = badge("", INFO)
        self.fair_badge.setObjectName("raceFairness")
        self.scale_note = hint_label()
        self.scale_note.setObjectName("raceScaleNote")
        self.log_y = QCheckBox("Log scale")
        self.log_y.setObjectName("raceLogY")
        self.log_y.toggled.connect(self._on_log)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.log_y)
        fair_row = QHBoxLayout()
        fair_row.addWidget(self.fair_badge)
        fair_row.addStretch(1)

        self.loss_plot = pg.PlotWidget(viewBox=StickyViewBox(), background=self._pal["background"])
        self.loss_plot.setObjectName("raceLossPlot")
        lp = self.loss_plot.getPlotItem()
        lp.setLabel("bottom", "epoch")
        lp.setLabel("left", "loss")
        lp.setTitle(
            "training loss per step (smoothed, solid) · validation loss per epoch (dashed)", size="9pt"
        )
        lp.setClipToView(True)
        lp.setDownsampling(auto=True, mode="peak")
        self.loss_legend = lp.addLegend(offset=(-8, 8), labelTextSize="8pt")
        self.metric_plot = pg.PlotWidget(viewBox=StickyViewBox(), background=self._pal["background"])
        self.metric_plot.setObjectName("raceMetricPlot")
        mp = self.metric_plot.getPlotItem()
        mp.setLabel("bottom", "epoch")
        mp.setTitle("headline metric per epoch (validation)", size="9pt")

        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.metric_plot)
        plots.setStretchFactor(0, 3)
        plots.setStretchFactor(1, 2)
        plots.setChildrenCollapsible(False)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("raceTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(plots)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        self.splitter = split

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(fair_row)
        layout.addWidget(self.scale_note)
        layout.addWidget(split, 1)
        self.set_theme(None)
        self.fair_badge.hide()
        self.scale_note.hide()

    # -- a race starts ----------------------------------------------------------------------------
    def start(self, plan: RacePlan) -> None:
        """Lay out the lanes of ``plan`` (before its first event)."""
        self.clear()
        self.setting = plan.setting
        self.headline = plan.headline
        colors = self._pal["classes"]
        for v, ds in zip(plan.variants, plan.datasets, strict=True):
            t = v.experiment.training
            spe = float(len(batch_ends(ds.n_train, t["batch_size"])))
            self.lanes.append(
                Lane(
                    short_label(v), plan.modes[v.index], int(t["epochs"]), spe, colors[v.index % len(colors)]
                )
            )
        name = LABELS.get(self.headline, self.headline or "metric")
        self.metric_plot.getPlotItem().setLabel("left", name)
        self.table.setHorizontalHeaderItem(6, QTableWidgetItem(name))
        epochs = {lane.epochs for lane in self.lanes}
        each = f"{epochs.pop()} epochs each" if len(epochs) == 1 else "epochs differ"
        dataset = plan.base.dataset.get("kind", "")
        self.title.setText(f"Race: {plan.setting} — {len(self.lanes)} variants, {each}, on {dataset}")
        if plan.path == "loss":
            self.scale_note.setText(
                f"Each variant's loss is on its own scale (one loss is not another's unit): compare "
                f"{name} on the right and in the table, not the loss values."
            )
            self.scale_note.show()
            self.log_y.setChecked(True)
        self._build_items()
        self.table.setRowCount(len(self.lanes))
        for row, lane in enumerate(self.lanes):
            for col in range(len(COLUMNS)):
                item = QTableWidgetItem()
                if col >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
            self.table.item(row, 0).setIcon(_swatch(lane.color))
        self._fit_table()
        self.redraw()

    def _fit_table(self) -> None:
        """Room for every row up to TABLE_ROWS (more scroll), the plots get the rest."""
        rows = min(len(self.lanes), TABLE_ROWS)
        height = (
            self.table.horizontalHeader().sizeHint().height()
            + rows * self.table.verticalHeader().defaultSectionSize()
            + 2 * self.table.frameWidth()
            + 2
        )
        self.table.setMinimumHeight(height)
        total = max(self.splitter.height(), 2 * height)
        self.splitter.setSizes([total - height, height])

    def on_started(self, event: RaceStarted) -> None:
        fair, text = fairness_text(event)
        self.fair = fair
        set_badge(self.fair_badge, text, GOOD if fair else BAD)
        self.fair_badge.show()
        for row, lane in enumerate(self.lanes):
            lane.mode = event.modes[row]
            lane.row_dirty = True
            self.table.item(row, 0).setToolTip(
                f"{lane.label}\ninitial weights: {event.init_digests[row]}\n"
                f"batch order: {event.batch_order_digests[row]}"
            )

    def clear(self) -> None:
        self.loss_plot.getPlotItem().clear()
        self.metric_plot.getPlotItem().clear()
        self.loss_legend.clear()
        self.lanes = []
        self.fair = None
        self.table.setRowCount(0)
        self.fair_badge.hide()
        self.scale_note.hide()

    def _build_items(self) -> None:
        lp, mp = self.loss_plot.getPlotItem(), self.metric_plot.getPlotItem()
        for lane in self.lanes:
            train = lp.plot([], [], pen=pg.mkPen(lane.color, width=2), antialias=True)
            val = lp.plot(
                [],
                [],
                pen=pg.mkPen(lane.color, width=2, style=Qt.PenStyle.DashLine),
                symbol="o",
                symbolSize=5,
                symbolBrush=pg.mkBrush(lane.color),
                symbolPen=pg.mkPen(lane.color),
            )
            metric = mp.plot(
                [],
                [],
                pen=pg.mkPen(lane.color, width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=pg.mkBrush(lane.color),
                symbolPen=pg.mkPen(lane.color),
                antialias=True,
            )
            self.loss_legend.addItem(train, lane.label)
            lane.items = [train, val, metric]

    # -- events ---------------------------------------------------------------------------------
    def add_steps(self, variant: int, batch: StepBatch) -> None:
        lane = self.lanes[variant]
        smoothed = lane.ema.update(batch.data_loss)
        lane.steps.append_many(np.asarray(batch.steps, dtype=np.float64) / lane.steps_per_epoch, smoothed)
        if lane.status == WAITING:
            lane.status = TRAINING
        rate = float(batch.steps_per_second)
        if math.isfinite(rate):
            lane.rate = rate
        lane.row_dirty = True

    def add_epoch(self, variant: int, end: EpochEnd) -> None:
        lane = self.lanes[variant]
        if end.epoch > 0 and end.step > 0:
            lane.steps_per_epoch = end.step / end.epoch
        lane.epoch = end.epoch
        lane.train_loss, lane.val_loss = end.train_loss, end.val_loss
        if math.isfinite(end.val_loss):
            lane.val.append(end.epoch, end.val_loss)
        value = end.val_metrics.get(self.headline, math.nan)
        if not isinstance(value, float) or not math.isfinite(value):
            value = end.train_metrics.get(self.headline, math.nan)
        lane.metric = value
        lane.metric_series.append(end.epoch, value)
        if lane.status == WAITING:
            lane.status = TRAINING
        lane.row_dirty = True

    def variant_ended(self, variant: int, result: VariantResult) -> None:
        self._settle(self.lanes[variant], result)

    def finish(self, result: RaceResult) -> None:
        """The race is over: every row from its result (variants never reached say so)."""
        for lane, r in zip(self.lanes, result.variants, strict=True):
            self._settle(lane, r)
        self.redraw()

    def _settle(self, lane: Lane, r: VariantResult) -> None:
        lane.status = r.status
        lane.mode = r.mode
        lane.epoch = r.epochs_done
        final = r.final
        lane.train_loss = final.get("train_loss", math.nan)
        lane.val_loss = final.get("val_loss", math.nan)
        lane.metric = final.get("metric_value", math.nan)
        lane.rate = r.steps_per_second if r.steps else math.nan
        lane.row_dirty = True

    # -- drawing ----------------------------------------------------------------------------------
    def redraw(self) -> bool:
        """Push what changed since the last frame to the curves and the table."""
        changed = False
        for row, lane in enumerate(self.lanes):
            train, val, metric = lane.items
            for series, item in ((lane.steps, train), (lane.val, val), (lane.metric_series, metric)):
                if series.dirty:
                    x, y = series.view()
                    item.setData(x, y)
                    series.dirty = False
                    changed = True
            if lane.row_dirty:
                self._fill_row(row, lane)
                lane.row_dirty = False
                changed = True
        if changed:
            settle_range(self.loss_plot)
            settle_range(self.metric_plot)
        return changed

    def _fill_row(self, row: int, lane: Lane) -> None:
        rate = f"{lane.rate:,.0f}" if math.isfinite(lane.rate) else "–"
        texts = (
            lane.label,
            lane.mode,
            lane.status,
            f"{lane.epoch}/{lane.epochs}",
            _number(lane.train_loss),
            _number(lane.val_loss),
            _number(lane.metric),
            rate,
        )
        for col, text in enumerate(texts):
            item = self.table.item(row, col)
            if item is not None and item.text() != text:
                item.setText(text)

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each variant's curves: {"<label> train": (epochs, smoothed loss), "<label> val": ...}."""
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for lane in self.lanes:
            out[f"{lane.label} train"] = lane.steps.copy()
            out[f"{lane.label} val"] = lane.val.copy()
            out[f"{lane.label} {self.headline}"] = lane.metric_series.copy()
        return out

    def row_texts(self) -> list[list[str]]:
        return [
            [self.table.item(r, c).text() for c in range(self.table.columnCount())]
            for r in range(self.table.rowCount())
        ]

    # -- look -----------------------------------------------------------------------------------
    def _on_log(self, on: bool) -> None:
        self.loss_plot.getPlotItem().setLogMode(y=on)

    def set_theme(self, dark: bool | None) -> None:
        self._pal = palette_colors(dark)
        for plot in (self.loss_plot, self.metric_plot):
            plot.setBackground(self._pal["background"])
            style_plot_item(plot.getPlotItem(), dark)
        style_legend(self.loss_legend, dark)
