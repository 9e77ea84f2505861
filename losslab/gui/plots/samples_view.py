"""The Samples view: error vs loss for every training sample, as a table sorted worst first, the data
with the selected samples ringed, and the histogram of per-sample losses with the cost marked.

Data comes from the per-sample probe (core/per_sample.py, on the training thread, at most ~10 times a
second); each part redraws on the window's 30 Hz timer only when it is visible and has not drawn the
latest measurement yet. Selecting rows rings those samples here and in the Training tab's task view,
and (through the window's shared sample selection) on the Cartography map, whose selections select
rows here; the task views can also show every training point's loss as ring size or colour. The
table's history columns (confidence, variability, region, the loss's sparkline) come from the
sample-history probe (core/sample_history.py) at most every REFRESH_SECONDS. For image data the
table shows each sample as a thumbnail, and the selected samples' images take the task view's place.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
)

from losslab.core.per_sample import PerSampleLosses, latest_probe, per_sample_probes
from losslab.core.sample_history import (
    SampleHistory,
    SampleHistoryUpdate,
    history_probe,
    sample_history_probes,
)
from losslab.core.tasks import GAN
from losslab.gui.plots.cartography_view import current_history
from losslab.gui.plots.loss_histogram import LossHistogram
from losslab.gui.plots.sample_images import SampleImages
from losslab.gui.plots.sample_selection import selection_for
from losslab.gui.plots.sample_table import THUMB_ROW_PX, CellDelegate, SampleTableModel
from losslab.gui.plots.still_weights import current_losses, is_still
from losslab.gui.plots.task_overlays import LOSS_DISPLAY
from losslab.gui.plots.task_view import TaskView
from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer

# While training runs, the table, histogram and point overlays redraw at most this often (they are read,
# not watched like a curve) and take at most this share of the time: every redraw holds the GIL and a
# core the training thread needs.
REFRESH_SECONDS = 0.5
GUI_BUDGET = 0.015


class SamplesView(ViewBase):
    """A view for the main window's registry (views.py)."""

    def __init__(self, services: ViewServices) -> None:
        super().__init__()
        self.services = services
        self.latest: PerSampleLosses | None = None
        self.history: SampleHistory | None = None  # the newest history over the epochs
        self._history_drawn: SampleHistory | None = None
        self._history_due = 0.0
        self.selection = selection_for(services)
        self.selection.changed.connect(self._on_shared_selection)
        self._drawn: dict[str, int] = {}  # part -> step of the measurement it shows
        self._due: dict[str, float] = {}  # part -> when it may redraw next while training runs

        self.model = SampleTableModel()
        self.table = QTableView()
        self.table.setObjectName("sampleTable")
        self.table.setModel(self.model)
        self.table.setItemDelegate(CellDelegate(self.model, self.table))
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self._row_px = self.fontMetrics().height() + 6
        self.table.verticalHeader().setDefaultSectionSize(self._row_px)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

        self.task_view = TaskView()
        self.task_view.setObjectName("samplesTaskPlot")
        self.images = SampleImages()
        self.pictures = QStackedWidget()  # the task view, or for image data the selected images
        self.pictures.addWidget(self.task_view)
        self.pictures.addWidget(self.images)
        self.histogram = LossHistogram()

        self.summary = QLabel("Train to see each training sample's loss.")
        self.summary.setObjectName("samplesSummary")
        self.summary.setWordWrap(True)
        # Two lines, always: a label whose height follows its text re-lays out the whole view.
        self.summary.setFixedHeight(2 * self.summary.fontMetrics().lineSpacing() + 4)
        self.freeze_check = QCheckBox("Freeze")
        self.freeze_check.setObjectName("freezeSamples")
        self.freeze_check.setToolTip("Stop updating the table and histogram (training goes on), to read them")
        self.log_check = QCheckBox("Log counts")
        self.log_check.setObjectName("histogramLogCounts")
        self.log_check.setToolTip(
            "A logarithmic count axis in the histogram: a few samples with huge losses "
            "(outliers) stay visible next to hundreds of small ones"
        )
        self.points_combo = QComboBox()
        self.points_combo.setObjectName("pointsByLoss")
        for mode, text in LOSS_DISPLAY.items():
            self.points_combo.addItem(text, mode)
        self.points_combo.setToolTip(
            "Show each training point's loss in the task views (also in their right-click menu)"
        )
        top = QHBoxLayout()
        top.setContentsMargins(6, 4, 6, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(QLabel("Points by loss:"))
        top.addWidget(self.points_combo)
        top.addWidget(self.log_check)
        top.addWidget(self.freeze_check)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.pictures)
        right.addWidget(self.histogram)
        right.setSizes([520, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 520])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(split, 1)

        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.points_combo.currentIndexChanged.connect(self._on_points_combo)
        self.freeze_check.toggled.connect(self._on_freeze)
        self.log_check.toggled.connect(self.histogram.set_log_counts)
        # The task views that show the selected samples and the points by loss: this tab's own and
        # the Training tab's ("mini" and "main").
        self.linked: dict[str, TaskView] = {"mini": self.task_view}
        if services.training_task_view is not None:
            self.linked["main"] = services.training_task_view
        for view in self.linked.values():
            view.pointWeightModeChanged.connect(self._on_point_mode)
        self._pending_view: Any = None
        self.reset(services.state.dataset)

    # -- the main window's view protocol ----------------------------------------------------------
    def make_probes(self, trainer: Trainer) -> list[Probe]:
        if trainer.dataset.masks:  # segmentation: a sample's target is a mask, not a row's value
            return []
        return per_sample_probes(trainer) + sample_history_probes(trainer)

    def reset(self, dataset: Dataset | None) -> None:
        masks = dataset is not None and dataset.masks
        if masks:
            dataset = None  # nothing to list: see the summary
        self.latest = None
        self.history = self._history_drawn = None
        self._drawn.clear()
        self._due.clear()
        self.model.set_dataset(dataset)
        image = self.model.images.size > 0
        self.table.verticalHeader().setDefaultSectionSize(
            max(self._row_px, THUMB_ROW_PX) if image else self._row_px
        )
        self.pictures.setCurrentWidget(self.images if image else self.task_view)
        self.images.show_images([], [], [])
        self.table.sortByColumn(
            self.model.column_of("loss") if dataset is not None else 0, Qt.SortOrder.DescendingOrder
        )
        self.task_view.reset_for_run(dataset)
        self.histogram.clear_data()
        gan = dataset is not None and dataset.task == GAN
        self.summary.setText(
            "GAN training has no per-sample losses to list: the generator's samples are new every step."
            if gan
            else "The per-sample table is not available for segmentation (image) data: the Images tab "
            "shows the predicted masks."
            if masks
            else "Train to see each training sample's loss."
        )
        self._resize_columns()

    def on_event(self, event: object) -> None:
        if isinstance(event, PerSampleLosses):
            self.latest = event
        elif isinstance(event, SampleHistoryUpdate):
            self.history = event.history

    def on_finished(self, result: Any) -> None:
        probe = history_probe(self.services.trainer)
        snap = probe.snapshot() if probe is not None else None
        if snap is not None:  # the thread has ended: the last epochs, even of a stopped run
            self.history = snap

    def on_predictions(self, payload: Any) -> None:
        # The same predictions the Training tab draws; a hidden tab keeps only the newest for later.
        self._pending_view = payload
        if self.task_view.isVisible():
            self._draw_pending_view()

    def _watching(self) -> bool:
        if self.isVisible() and not self.freeze_check.isChecked():
            return True
        return any(view.isVisible() and view.point_weight_mode != "off" for view in self.linked.values())

    def redraw(self) -> None:
        probe = latest_probe(self.services.trainer)
        if probe is not None:
            probe.watch(self, self._watching())
        if self._pending_view is not None and self.task_view.isVisible():
            self._draw_pending_view()
        ev = self.latest = current_losses(self.services, self.latest)  # paused/stopped: the weights now
        if ev is None:
            return
        trainer = self.services.trainer  # paused (the trainer waits): draw at once, not at the running pace
        live = trainer is not None and not is_still(trainer, self.services.running)
        if self.isVisible() and not self.freeze_check.isChecked():
            self._refresh("table", ev, live, self._draw_table)
            self._refresh_history(live)
            self._refresh("histogram", ev, live, self._draw_histogram)
        for name, view in self.linked.items():
            if view.isVisible() and view.point_weight_mode != "off":
                self._refresh(name, ev, live, lambda ev, view=view: self._draw_weights(view, ev))

    def _refresh(self, part: str, ev: PerSampleLosses, live: bool, draw: Any) -> None:
        """Draw ``part`` if it is behind and its time has come. While training runs, each part waits at
        least REFRESH_SECONDS, and longer when its last redraw (painting included) was expensive, so
        it never takes more than GUI_BUDGET of the time: this machine's speed sets the pace."""
        now = time.perf_counter()
        if self._drawn.get(part) == ev.step or (live and now < self._due.get(part, 0.0)):
            return
        first = part not in self._drawn  # the first redraw pays for set-up: it does not set the pace
        draw(ev)
        spent = 0.0 if first else time.perf_counter() - now
        self._drawn[part] = ev.step
        self._due[part] = now + max(REFRESH_SECONDS, spent / GUI_BUDGET)

    def _refresh_history(self, live: bool) -> None:
        h = self.history = current_history(self.services, self.history)
        now = time.perf_counter()
        if h is None or h is self._history_drawn or (live and now < self._history_due):
            return
        self._history_drawn = h
        if self.model.update_history(h):
            self.table.viewport().repaint()
        self._history_due = now + max(REFRESH_SECONDS, (time.perf_counter() - now) / GUI_BUDGET)

    def _draw_table(self, ev: PerSampleLosses) -> None:
        if self.model.update(ev):
            self._update_summary(ev)
            if self.model.images.size:  # the selected images' predictions, as the table's
                self._show_images(self.selected_samples())
            self.table.viewport().repaint()  # paint now, so the cost measured includes it

    def _draw_histogram(self, ev: PerSampleLosses) -> None:
        self.histogram.update_from(ev)
        self.histogram.viewport().repaint()

    @staticmethod
    def _draw_weights(view: TaskView, ev: PerSampleLosses) -> None:
        view.set_point_weights(ev.loss)
        view.viewport().repaint()

    def apply_theme(self, dark: bool) -> None:
        self.task_view.apply_theme()
        self.histogram.apply_theme()

    # -- parts ------------------------------------------------------------------------------------
    def _resize_columns(self) -> None:
        """Wide enough for the header and for the longest text the column holds (labels, notes)."""
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        for c in range(self.model.columnCount()):
            if self.model.key_of(c) == "image":
                header.resizeSection(c, max(metrics.horizontalAdvance("image") + 20, THUMB_ROW_PX + 12))
                continue
            texts = [str(self.model.headerData(c, Qt.Orientation.Horizontal)), *self.model.sample_texts(c)]
            width = max(metrics.horizontalAdvance(t) for t in texts) + 28
            header.resizeSection(c, min(max(70, width), 180))

    def _update_summary(self, ev: PerSampleLosses) -> None:
        loss = ev.loss[np.isfinite(ev.loss)]
        if loss.size == 0:
            return
        total = float(loss.sum())
        top = np.sort(loss)[::-1]
        k = max(1, len(loss) // 10)
        share = float(top[:k].sum()) / total if total > 0 else 0.0
        self.summary.setText(
            f"Epoch {ev.epoch}, step {ev.step}: the worst 10% of the {len(loss)} training samples carry "
            f"{share:.0%} of the total loss. Select rows to find them in the data."
        )

    def _draw_pending_view(self) -> None:
        payload, self._pending_view = self._pending_view, None
        if payload is not None:
            self.task_view.set_view(payload)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, *_: Any) -> None:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        samples = [self.model.sample_at(r) for r in rows]
        for view in self.linked.values():
            view.highlight(samples)
        self._show_images(samples)
        self.selection.select(samples, self)

    def _show_images(self, samples: list[int]) -> None:
        if not self.model.images.size:
            return
        shown = [s for s in samples if self.model.image_of(s) is not None]
        pictures = [p for p in (self.model.image_of(s) for s in shown) if p is not None]
        self.images.show_images(pictures, [str(s) for s in shown], [self.model.describe(s) for s in shown])

    @Slot(object, list)
    def _on_shared_selection(self, source: object, samples: list[int]) -> None:
        """Another view (the Cartography map) selected samples: select their rows."""
        if source is self or self.model.rowCount() == 0:
            return
        chosen = QItemSelection()
        last = self.model.columnCount() - 1
        for s in samples:
            if 0 <= s < self.model.rowCount():
                row = self.model.row_of(s)
                chosen.select(self.model.index(row, 0), self.model.index(row, last))
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(chosen, flags)
        if samples:
            self.table.scrollTo(self.model.index(self.model.row_of(samples[0]), 0))

    def selected_samples(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.sample_at(r) for r in rows]

    @Slot(int)
    def _on_points_combo(self, _index: int) -> None:
        mode = self.points_combo.currentData()
        for view in self.linked.values():
            view.set_point_weight_mode(mode)
        for part in self.linked:
            self._drawn.pop(part, None)
            self._due.pop(part, None)
        self.redraw()

    @Slot(str)
    def _on_point_mode(self, mode: str) -> None:
        """A task view's menu changed the mode: follow it everywhere."""
        index = self.points_combo.findData(mode)
        if index >= 0 and index != self.points_combo.currentIndex():
            self.points_combo.setCurrentIndex(index)

    @Slot(bool)
    def _on_freeze(self, on: bool) -> None:
        if not on:
            self.redraw()
