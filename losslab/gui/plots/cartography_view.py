"""The Cartography view: every training sample placed by how its prediction behaved over the epochs
(Swayamdipta et al. 2020, "Dataset Cartography"; the statistics are core/sample_history.py's).

x is the variability of the model's probability of the sample's true class across epochs, y its mean
(the confidence), colour the share of epochs it was predicted right. The region borders split *easy*
(learnt early and kept), *ambiguous* (the model keeps changing its mind) and *hard* (kept wrong:
mislabelled samples gather there). For regression, y is the mean |error| in units of std(y), drawn
downwards so that easy stays on top. Drag a rectangle to select samples (Ctrl adds), click one, or pick
a region: they are ringed here, in this tab's task view, in the Training tab's and in the Samples table.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QToolButton, QVBoxLayout, QWidget

from losslab.core.sample_history import (
    AMBIGUOUS_ERROR_SPREAD,
    AMBIGUOUS_VARIABILITY,
    EASY_CONFIDENCE,
    EASY_ERROR,
    REGIONS,
    Cartography,
    SampleHistory,
    SampleHistoryUpdate,
    history_probe,
    sample_history_probes,
)
from losslab.gui.plots.sample_selection import selection_for
from losslab.gui.plots.still_weights import is_still
from losslab.gui.plots.task_view import TaskView
from losslab.gui.theme import OKABE_ITO, palette_colors, style_plot_item
from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import Finished
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer

REFRESH_SECONDS = 0.5
GUI_BUDGET = 0.02
# Correctness 0 -> 1: vermillion, yellow, bluish green (colour-blind safe, Okabe-Ito).
CORRECTNESS_MAP = pg.ColorMap(
    [0.0, 0.5, 1.0], [OKABE_ITO["vermillion"], OKABE_ITO["yellow"], OKABE_ITO["green"]]
)


def current_history(services: ViewServices, latest: SampleHistory | None) -> SampleHistory | None:
    """``latest``, or a fresh copy of the probe's history when the trainer stands still (paused and
    waiting, or its thread ended: nothing records then) and has recorded more since ``latest``."""
    trainer = services.trainer
    probe = history_probe(trainer)
    if trainer is None or probe is None or probe.history is None or not is_still(trainer, services.running):
        return latest
    h = probe.history
    if latest is not None and latest.count == h.count and (h.count == 0 or latest.epochs[-1] == h.epochs[-1]):
        return latest
    return probe.snapshot()


class SelectBox(pg.ViewBox):
    """A ViewBox where a left drag draws a selection rectangle instead of panning (wheel still zooms)."""

    def __init__(self, on_select: Any) -> None:
        super().__init__()
        self.on_select = on_select

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        if ev.isFinish():
            self.rbScaleBox.hide()
            a = self.mapToView(ev.buttonDownPos())
            b = self.mapToView(ev.pos())
            add = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.on_select(QRectF(a, b).normalized(), add)
        else:
            self.updateScaleBox(ev.buttonDownPos(), ev.pos())


class CartographyPlot(pg.PlotWidget):
    """The map: one point per training sample, region borders and names, selected samples ringed."""

    def __init__(self, on_select: Any, parent: QWidget | None = None) -> None:
        self._pal = palette_colors(None)
        super().__init__(parent, background=self._pal["background"], viewBox=SelectBox(self._select_rect))
        self.setObjectName("cartographyPlot")
        self.on_select = on_select
        pi = self.getPlotItem()
        self.plot_item = pi
        self.points = pg.ScatterPlotItem(size=7, pen=None)
        self.points.sigClicked.connect(self._on_click)
        self.rings = pg.ScatterPlotItem(size=14, brush=None)
        self.rings.setZValue(5)
        pi.addItem(self.points)
        pi.addItem(self.rings)
        # The borders: variability splits off "ambiguous"; left of it, confidence splits easy from hard.
        self.vline = pg.InfiniteLine(angle=90, movable=False)
        self.hline = pg.PlotDataItem()
        self.border_y = 0.0
        self.labels = {name: pg.TextItem(name, anchor=(0.5, 0.5)) for name in REGIONS}
        for item in (self.vline, self.hline, *self.labels.values()):
            pi.addItem(item, ignoreBounds=True)
        self.x = np.empty(0)
        self.y = np.empty(0)
        self.regression = self.masks = False
        self.selected = np.empty(0, dtype=np.int64)
        self._axes(False)
        for side in ("bottom", "left"):
            # pyqtgraph 0.14 scales unitless axes within (0, 1) by 1000 whatever enableAutoSIPrefix says:
            # a variability of 0.2 would read "200".
            pi.getAxis(side).setSIPrefixEnableRanges(((0.0, 0.0),))
        self.apply_theme()

    def apply_theme(self) -> None:
        self._pal = palette_colors(None)
        self.setBackground(self._pal["background"])
        style_plot_item(self.plot_item)
        pen = pg.mkPen(self._pal["foreground"], width=1, style=Qt.PenStyle.DashLine)
        self.vline.setPen(pen)
        self.hline.setPen(pen)
        self.hline.setData([0.0, self.vline.value()], [self.border_y, self.border_y])
        for item in self.labels.values():
            item.setColor(self._pal["foreground"])
        self.rings.setPen(pg.mkPen(self._pal["mark"], width=2.5))

    def _axes(self, regression: bool, masks: bool = False) -> None:
        pi = self.plot_item
        self.regression, self.masks = regression, masks
        if regression:
            pi.setLabel("bottom", "variability: std of |error| / std(y) across epochs")
            pi.setLabel("left", "mean |error| / std(y)  (lower is easier)")
            border_x, border_y = AMBIGUOUS_ERROR_SPREAD, EASY_ERROR
        else:  # a mask's value is the soft IoU of its predicted and true mask (core.sample_history)
            value = "soft IoU" if masks else "P(true class)"
            pi.setLabel("bottom", f"variability: std of {value} across epochs")
            pi.setLabel("left", f"confidence: mean {value}")
            border_x, border_y = AMBIGUOUS_VARIABILITY, EASY_CONFIDENCE
        vb = pi.getViewBox()
        vb.invertY(regression)
        self.vline.setValue(border_x)
        self.border_y = border_y
        self.hline.setData([0.0, border_x], [border_y, border_y])
        if regression:
            vb.enableAutoRange()
        else:  # P(true) lies in [0, 1], so its standard deviation in [0, 0.5]
            vb.setRange(xRange=(0.0, 0.5), yRange=(0.0, 1.0), padding=0.03)

    def set_map(self, carto: Cartography, masks: bool = False) -> None:
        if (carto.regression, masks) != (self.regression, self.masks):
            self._axes(carto.regression, masks)
        ok = np.isfinite(carto.confidence) & np.isfinite(carto.variability)
        self.x = np.where(ok, carto.variability, np.nan)
        self.y = np.where(ok, carto.confidence, np.nan)
        colors = CORRECTNESS_MAP.map(np.nan_to_num(carto.correctness), mode="qcolor")
        idx = np.flatnonzero(ok)
        self.points.setData(
            x=self.x[idx], y=self.y[idx], brush=[colors[i] for i in idx], data=idx, pen=None, size=7
        )
        self._place_labels(carto)
        self.set_selected(self.selected)

    def _place_labels(self, carto: Cartography) -> None:
        bx, by = self.vline.value(), self.border_y
        if carto.regression:
            top = max(float(np.nanmax(self.y)) if np.isfinite(self.y).any() else 1.0, by * 2)
            spots = {"easy": (bx / 2, by / 2), "hard": (bx / 2, (by + top) / 2)}
            right = max(float(np.nanmax(self.x)) if np.isfinite(self.x).any() else bx * 2, bx * 1.6)
            spots["ambiguous"] = ((bx + right) / 2, top / 2)
        else:
            spots = {"easy": (bx / 2, 0.95), "hard": (bx / 2, 0.05), "ambiguous": ((bx + 0.5) / 2, 0.5)}
        for name, (x, y) in spots.items():
            self.labels[name].setPos(x, y)

    def set_selected(self, samples: Any) -> None:
        sel = np.asarray(samples, dtype=np.int64).ravel()
        self.selected = sel
        sel = sel[(sel >= 0) & (sel < len(self.x))]
        sel = sel[np.isfinite(self.x[sel])]
        self.rings.setData(x=self.x[sel], y=self.y[sel])

    def samples_in(self, rect: QRectF) -> np.ndarray:
        ok = np.isfinite(self.x)
        inside = (
            ok
            & (self.x >= rect.left())
            & (self.x <= rect.right())
            & (self.y >= rect.top())
            & (self.y <= rect.bottom())
        )
        return np.flatnonzero(inside)

    def _select_rect(self, rect: QRectF, add: bool) -> None:
        self.on_select(self.samples_in(rect), add)

    def _on_click(self, _item: Any, points: Any, ev: Any) -> None:
        picked = [int(p.data()) for p in points[:1]]
        add = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
        self.on_select(np.asarray(picked, dtype=np.int64), add)

    def point_of(self, sample: int) -> QPointF:
        return QPointF(float(self.x[sample]), float(self.y[sample]))


class CartographyView(ViewBase):
    """A view for the main window's registry (views.py)."""

    def __init__(self, services: ViewServices) -> None:
        super().__init__()
        self.services = services
        self.selection = selection_for(services)
        self.selection.changed.connect(self._on_shared_selection)
        self.latest: SampleHistory | None = None
        self.history: SampleHistory | None = None  # the one drawn
        self.carto: Cartography | None = None
        self.dataset: Dataset | None = None
        self._due = 0.0
        self._first = True  # the first map after a reset pays for pyqtgraph's set-up: not paced by it
        self._pending_view: Any = None

        self.plot = CartographyPlot(self.select)
        self.task_view = TaskView()
        self.task_view.setObjectName("cartographyTaskPlot")
        self.task_view.setMinimumWidth(240)
        self.summary = QLabel()
        self.summary.setObjectName("cartographySummary")
        self.summary.setWordWrap(True)
        self.summary.setFixedHeight(2 * self.summary.fontMetrics().lineSpacing() + 4)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(6, 0, 6, 2)
        buttons.addWidget(QLabel("Select:"))
        self.region_buttons: dict[str, QToolButton] = {}
        for i, name in enumerate(REGIONS):
            button = QToolButton()
            button.setText(name)
            button.setObjectName(f"select_{name}")
            button.setToolTip(f"Select every sample in the {name} region")
            button.clicked.connect(lambda _=False, i=i: self.select_region(i))
            buttons.addWidget(button)
            self.region_buttons[name] = button
        clear = QToolButton()
        clear.setText("clear")
        clear.setObjectName("clearCartography")
        clear.clicked.connect(lambda: self.select(np.empty(0, dtype=np.int64), False))
        buttons.addWidget(clear)
        buttons.addStretch(1)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.plot, 1)
        column.addLayout(buttons)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.task_view)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([600, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary.setContentsMargins(6, 4, 6, 0)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.reset(services.state.dataset)

    # -- the view protocol --------------------------------------------------------------------
    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return sample_history_probes(trainer)

    def reset(self, dataset: Dataset | None) -> None:
        self.dataset = dataset
        self._first = True
        self.latest = self.history = self.carto = None
        self.task_view.reset_for_run(dataset)
        self.plot.points.setData(x=[], y=[])
        self.plot.x = self.plot.y = np.empty(0)
        self.plot.set_selected([])
        gan = dataset is not None and dataset.task == "gan"
        self.summary.setText(
            "A GAN has no per-sample history: its samples are new every step."
            if gan
            else "Train to map every training sample by how its prediction behaves over the epochs."
        )

    def on_event(self, event: object) -> None:
        if isinstance(event, SampleHistoryUpdate):
            self.latest = event.history

    def on_finished(self, result: Finished | None) -> None:
        probe = history_probe(self.services.trainer)
        if probe is not None:  # the run's thread has ended: the last epochs, even of a stopped run
            snap = probe.snapshot()
            if snap is not None:
                self.latest = snap

    def on_predictions(self, payload: Any) -> None:
        self._pending_view = payload
        if self.task_view.isVisible():
            self._draw_pending_view()

    def apply_theme(self, dark: bool) -> None:
        self.plot.apply_theme()
        self.task_view.apply_theme()

    def redraw(self) -> None:
        if not self.isVisible():
            return
        if self._pending_view is not None:
            self._draw_pending_view()
        h = self.latest = current_history(self.services, self.latest)
        now = time.perf_counter()
        if h is None or h is self.history or (self.services.running and now < self._due):
            return
        self.show_history(h)
        spent = 0.0 if self._first else time.perf_counter() - now
        self._first = False
        self._due = now + max(REFRESH_SECONDS, spent / GUI_BUDGET)

    def show_history(self, h: SampleHistory) -> None:
        self.history = h
        self.carto = h.cartography()
        self.plot.set_map(self.carto, h.masks)
        self.plot.repaint()
        self._update_summary()

    def _update_summary(self) -> None:
        h, carto = self.history, self.carto
        if h is None or carto is None or h.count == 0:
            return
        counts = carto.counts()
        text = (
            f"Epoch {int(h.epochs[-1])} ({h.count} recorded"
            + (f", one every {h.stride} epochs" if h.stride > 1 else "")
            + "): "
            + ", ".join(f"{counts[name]} {name}" for name in REGIONS)
            + "."
        )
        ds = self.dataset
        if ds is not None and ds.n_train == h.n and np.any(ds.outliers_train):
            noted = np.asarray(ds.outliers_train, dtype=bool)
            word = "outliers" if h.regression else "flipped labels"
            hard = int(np.sum(carto.region[noted] == 2))
            text += f" Of the {int(noted.sum())} {word}, {hard} are in the hard region."
        sel = len(self.selection.samples)
        if sel:
            text += f" {sel} selected."
        self.summary.setText(text)

    def _draw_pending_view(self) -> None:
        payload, self._pending_view = self._pending_view, None
        if payload is not None:
            self.task_view.set_view(payload)

    # -- selection ----------------------------------------------------------------------------
    def select(self, samples: Any, add: bool = False) -> None:
        picked = [int(s) for s in np.asarray(samples).ravel()]
        if add:
            picked = sorted(set(self.selection.samples) | set(picked))
        self._ring(picked)
        self.selection.select(picked, self)

    def select_region(self, region: int) -> None:
        if self.carto is not None:
            self.select(np.flatnonzero(self.carto.region == region))

    def _ring(self, samples: list[int]) -> None:
        self.plot.set_selected(samples)
        self.task_view.highlight(samples)
        main = self.services.training_task_view
        if main is not None:
            main.highlight(samples)
        self._update_summary()

    @Slot(object, list)
    def _on_shared_selection(self, source: object, samples: list[int]) -> None:
        if source is not self:
            self._ring(samples)
