"""The Training tab: the task view (data and predictions) beside the loss and metric plots.

A view like the registered ones (view_api.View), built first by the main window: it draws the
run's steps, epochs and predictions, marks on the loss plot what probes report (overfitting began,
early stopping restored an epoch) and puts their notices in the status bar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout

from losslab.gui.plots.loss_plot import LossView
from losslab.gui.plots.metric_plot import MetricPlot
from losslab.gui.plots.task_view import TaskView
from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import EpochEnd, StepBatch
    from losslab.core.trainer import Trainer

NOTICE_MS = 12_000


class TrainingView(ViewBase):
    def __init__(self, services: ViewServices) -> None:
        super().__init__()
        self.services = services
        self.loss_view = LossView()
        self.metric_plot = MetricPlot()
        self.task_view = TaskView()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_view)
        right.addWidget(self.metric_plot)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("trainingSplitter")
        split.addWidget(self.task_view)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        services.training_task_view = self.task_view

    def mark(self, step: float, text: str) -> None:
        """A labelled line on the loss plot at ``step`` ("diverged", "restored", ...)."""
        self.loss_view.mark(step, text)

    def curves(self) -> dict[str, tuple[Any, Any]]:
        """Every curve of the loss and metric plots, for Export Curves as CSV."""
        return {**self.loss_view.curves(), **self.metric_plot.curves()}

    # -- the View interface -------------------------------------------------------------------
    def reset(self, dataset: Dataset) -> None:
        self.loss_view.reset()
        self.loss_view.set_units(dataset)
        self.metric_plot.reset(dataset.task, dataset.masks)
        self.task_view.reset_for_run(dataset)

    def set_trainer(self, trainer: Trainer | None) -> None:
        self.loss_view.set_units(self.services.state.dataset, trainer)  # the loss axis's units

    def on_steps(self, batch: StepBatch) -> None:
        self.loss_view.add_steps(batch)

    def on_epoch(self, event: EpochEnd) -> None:
        self.loss_view.add_epoch(event)
        self.metric_plot.add_epoch(event)

    def on_predictions(self, payload: Any) -> None:
        self.task_view.set_view(payload)

    def on_event(self, event: object) -> None:
        # A probe's finding may carry a mark for the loss plot (overfitting began, the epoch early
        # stopping restored) and a line for the status bar (a gradient warning).
        mark = getattr(event, "loss_mark", None)
        if mark is not None:
            self.loss_view.mark(*mark)
        notice = getattr(event, "notice", "")
        if notice:
            self.services.show_message(notice, NOTICE_MS)

    def redraw(self) -> None:
        self.loss_view.redraw()
        self.metric_plot.redraw()

    def apply_theme(self, dark: bool) -> None:
        for plot in (self.loss_view, self.metric_plot, self.task_view):
            plot.set_theme(dark)
