"""The Calibration tab: is the classifier right as often as it is sure?

A reliability diagram (accuracy per confidence bin against the diagonal of perfect calibration,
with how many samples fall in each bin under it) and the expected calibration error per epoch.
Bars below the diagonal mean overconfidence, above it underconfidence. The diagram comes from
core.calibration.CalibrationProbe on the training thread, and once more from the idle trainer when
a run ends; the ECE curves from the epoch metrics.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout

from losslab.core.calibration import CalibrationProbe, CalibrationSnapshot, calibration_snapshot
from losslab.core.tasks import BINARY, MULTICLASS
from losslab.gui.plots.buffers import GrowingSeries
from losslab.gui.plots.legends import legend_below
from losslab.gui.plots.snapshot_view import SnapshotView
from losslab.gui.theme import is_dark, palette_colors, style_legend, style_plot_item
from losslab.gui.view_api import ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import EpochEnd
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer

NOT_CLASSIFICATION = (
    "Calibration applies to classifiers: choose a classification dataset (or open example 32 or 33)."
)
# How far the accuracy may sit from the confidence before the summary calls the model over- or
# underconfident rather than calibrated.
CALIBRATED_WITHIN = 0.05


def verdict(snapshot: CalibrationSnapshot) -> str:
    gap = snapshot.mean_confidence - snapshot.mean_accuracy
    if snapshot.ece <= CALIBRATED_WITHIN:
        return "well calibrated"
    return "overconfident" if gap > 0 else "underconfident"


class CalibrationView(SnapshotView):
    snapshot_type = CalibrationSnapshot

    def __init__(self, services: ViewServices) -> None:
        super().__init__(services)
        self.train_ece = GrowingSeries(256)
        self.val_ece = GrowingSeries(256)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel(NOT_CLASSIFICATION, self)
        self.summary.setObjectName("calibrationSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        row = QHBoxLayout()
        layout.addLayout(row, 1)
        self.diagram = pg.GraphicsLayoutWidget(self)
        self.diagram.setMinimumSize(240, 200)
        row.addWidget(self.diagram, 1)
        self.ece_plot = pg.PlotWidget(self)
        self.ece_plot.setMinimumSize(200, 200)
        row.addWidget(self.ece_plot, 1)

        self.reliability_plot = self.diagram.addPlot(row=0, col=0)
        rp = self.reliability_plot
        rp.setTitle("Reliability diagram")
        rp.setLabel("left", "accuracy")
        rp.setXRange(0, 1, padding=0.02)
        rp.setYRange(0, 1, padding=0.02)
        rp.setMouseEnabled(x=False, y=False)
        self.diagonal = pg.PlotDataItem([0, 1], [0, 1], pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine))
        rp.addItem(self.diagonal)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.09, brush="#0072B2")
        self.gaps = pg.BarGraphItem(x=[], y0=[], height=[], width=0.09, brush=(213, 94, 0, 110), pen=None)
        rp.addItem(self.bars)
        rp.addItem(self.gaps)
        self.counts_plot = self.diagram.addPlot(row=1, col=0)
        cp = self.counts_plot
        cp.setLabel("bottom", "confidence")
        cp.setLabel("left", "samples")
        cp.setXLink(rp)
        cp.setMouseEnabled(x=False, y=False)
        self.count_bars = pg.BarGraphItem(x=[], height=[], width=0.09, brush="#999999")
        cp.addItem(self.count_bars)
        self.diagram.ci.layout.setRowStretchFactor(0, 3)
        self.diagram.ci.layout.setRowStretchFactor(1, 1)

        ep = self.ece_plot.getPlotItem()
        ep.setTitle("Calibration error (ECE)")
        ep.setLabel("bottom", "epoch")
        self.ece_legend = legend_below(ep)  # under the plot: a corner one hid the first epochs
        self.train_curve = ep.plot(name="training")
        self.val_curve = ep.plot(name="validation")
        self._dark = is_dark()
        self.apply_theme(self._dark)

    # -- the View interface -------------------------------------------------------------------
    def reset(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._snapshot = None
        self.train_ece.clear()
        self.val_ece.clear()
        fits = dataset.task in (BINARY, MULTICLASS)
        self.diagram.setVisible(fits)
        self.ece_plot.setVisible(fits)
        soft = " (its soft labels, for a loss that trains on them)" if dataset.soft_train is not None else ""
        self.summary.setText(
            f"{dataset.name}: press Train to see how sure the model is against how often it is right{soft}."
            if fits
            else NOT_CLASSIFICATION
        )
        self._dirty = True
        self.redraw()

    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return [CalibrationProbe()] if trainer.dataset.task in (BINARY, MULTICLASS) else []

    def on_epoch(self, event: EpochEnd) -> None:
        if "ece" not in event.train_metrics:
            return
        self.train_ece.append(event.epoch, event.train_metrics["ece"])
        self.val_ece.append(event.epoch, event.val_metrics.get("ece", math.nan))
        self._dirty = True

    def final_snapshot(self, trainer: Trainer) -> CalibrationSnapshot | None:
        return calibration_snapshot(trainer)

    def apply_theme(self, dark: bool) -> None:
        self._dark = dark
        pal = palette_colors(dark)
        self.diagram.setBackground(pal["background"])
        self.ece_plot.setBackground(pal["background"])
        for item in (self.reliability_plot, self.counts_plot, self.ece_plot.getPlotItem()):
            style_plot_item(item, dark)
        style_legend(self.ece_legend, dark)
        self.train_curve.setPen(pg.mkPen(pal["train"], width=2))
        self.val_curve.setPen(pg.mkPen(pal["val"], width=2))
        self._dirty = True

    # -- drawing ------------------------------------------------------------------------------
    def draw(self) -> None:
        self.train_curve.setData(*self.train_ece.view())
        self.val_curve.setData(*self.val_ece.view())
        shot = self._snapshot
        if shot is None:
            for bars in (self.bars, self.gaps, self.count_bars):
                bars.setOpts(x=[], height=[], y0=[])
            return
        bins = len(shot.counts)
        centres = (np.arange(bins) + 0.5) / bins
        full = shot.counts > 0
        acc = np.where(full, shot.accuracy, 0.0)
        conf = np.where(full, shot.confidence, 0.0)
        width = 0.9 / bins
        self.bars.setOpts(x=centres[full], height=acc[full], width=width, y0=np.zeros(int(full.sum())))
        # The gap from each bar to its mean confidence: what the ECE adds up, weighted by the counts.
        self.gaps.setOpts(x=centres[full], y0=acc[full], height=(conf - acc)[full], width=width)
        self.count_bars.setOpts(x=centres, height=shot.counts, width=width, y0=np.zeros(bins))
        self.summary.setText(
            f"Epoch {shot.epoch}, {shot.split} set: ECE {shot.ece:.3f} — sure {shot.mean_confidence:.0%} "
            f"on average, right {shot.mean_accuracy:.0%}: <b>{verdict(shot)}</b>. Bars under the "
            "diagonal: more sure than right (the shaded gap)."
        )

    # -- for tests ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        shot = self._snapshot
        return {
            "ece": None if shot is None else shot.ece,
            "verdict": None if shot is None else verdict(shot),
            "val_ece": self.val_ece.view()[1].tolist(),
        }
