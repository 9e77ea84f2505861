"""The Discriminator panel: a GAN's second network, built like the first.

It reuses the Layers and Optimizer panels unchanged: they edit "the model" and "the optimizer" of
the state they are given, so they get a ``DiscriminatorState``, a stand-in for the experiment state
in which the discriminator's layers and optimizer take the place of the generator's. Every edit goes
to ``state.update("discriminator", ...)`` (validation and undo as for any edit), after the edit
guard: the discriminator is part of the trainer, so changing it during a run needs a fresh run.
The optimizer has no schedule of its own (the generator's is the run's), so that box is hidden, and
so are the training settings, which the Optimizer dock shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QGroupBox, QTabWidget, QVBoxLayout, QWidget

from losslab.core.data import Dataset
from losslab.core.discriminator import LOSS, NO_SCHEDULE, SECTION, STEPS
from losslab.core.experiment import Experiment
from losslab.core.tasks import BINARY, GAN
from losslab.gui.panels.layers import LayerPanel
from losslab.gui.panels.optimizer import OptimizerPanel
from losslab.gui.param_form import ParamForm
from losslab.gui.state import ExperimentState
from losslab.gui.widgets import ErrorLabel, hint_label, try_update

# The loss the layer table sizes the output layer for: the discriminator's own, one logit.
OUTPUT_LOSS = {"id": LOSS, "params": {}}
HINT_GAN = (
    "Judges real against generated samples; LossLab adds its one-logit output. It always minimises "
    "the GAN discriminator loss; the Loss panel picks the generator's."
)
HINT_OTHER = "Only GAN datasets (Ring of Gaussians, Bimodal 1-D) have a discriminator."


class DiscriminatorExperiment:
    """An experiment seen from the discriminator: ``model`` and ``optimizer`` are its own."""

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment

    @property
    def section(self) -> dict[str, Any]:
        return self.experiment.discriminator

    @property
    def model(self) -> dict[str, Any]:
        return {"layers": self.section["layers"], "init": self.section["init"]}

    @property
    def optimizer(self) -> dict[str, Any]:
        return {**self.section["optimizer"], "schedule": dict(NO_SCHEDULE)}

    @property
    def training(self) -> dict[str, Any]:
        return self.experiment.training

    @property
    def loss(self) -> dict[str, Any]:
        return dict(OUTPUT_LOSS)

    def changes(self, section: str, changes: dict[str, Any]) -> dict[str, Any]:
        """``changes`` to this view's ``section``, as changes to the discriminator section."""
        if section == "model":
            return {k: v for k, v in changes.items() if k in ("layers", "init")}
        if section == "optimizer":
            opt = dict(self.section["optimizer"])
            opt.update({k: v for k, v in changes.items() if k != "schedule"})
            if changes.get("id", opt["id"]) != self.section["optimizer"]["id"] and "params" not in changes:
                opt["params"] = {}
            return {"optimizer": opt}
        if section == STEPS.name:
            return dict(changes)
        return {}

    def replace(self, section: str, **changes: Any) -> DiscriminatorExperiment:
        """Validated, as Experiment.replace (raises LossLabError naming ``discriminator.<field>``)."""
        return DiscriminatorExperiment(self.experiment.replace(SECTION, **self.changes(section, changes)))


class DiscriminatorState(QObject):
    """What LayerPanel and OptimizerPanel need of an ExperimentState, for the discriminator."""

    changed = Signal(str)

    def __init__(self, state: ExperimentState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.undo_stack = state.undo_stack
        self._dataset: tuple[Dataset, Dataset] | None = None
        state.changed.connect(self._forward)

    @property
    def experiment(self) -> DiscriminatorExperiment:
        return DiscriminatorExperiment(self.state.experiment)

    @property
    def dataset(self) -> Dataset:
        """The data, as a binary classification (real or fake) of its points."""
        data = self.state.dataset
        if self._dataset is None or self._dataset[0] is not data:
            self._dataset = (data, dataclasses.replace(data, task=BINARY, n_classes=1))
        return self._dataset[1]

    @contextmanager
    def replaying(self) -> Iterator[None]:
        with self.state.replaying():
            yield

    def update(self, section: str, **changes: Any) -> bool:
        if section == "training":
            return self.state.update(section, **changes)
        view = self.experiment
        new = view.changes(section, changes)
        current = view.section
        if not new or all(current.get(k) == v for k, v in new.items()):
            return True
        view.replace(section, **changes)  # invalid: raise before asking to stop a run
        if not self.state.edit_guard(SECTION):
            return False
        return self.state.update(SECTION, **new)

    @Slot(str)
    def _forward(self, section: str) -> None:
        if section == SECTION:
            for name in ("model", "optimizer"):
                self.changed.emit(name)
        elif section in ("dataset", "training", "all"):
            self.changed.emit(section)


class DiscriminatorPanel(QWidget):
    """Edits ``state.experiment.discriminator``: its steps, network and optimizer."""

    def __init__(self, state: ExperimentState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.proxy = DiscriminatorState(state, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.hint = hint_label(HINT_GAN, self)
        layout.addWidget(self.hint)
        box = QGroupBox("Game", self)
        box_layout = QVBoxLayout(box)
        self.steps_form = ParamForm((STEPS,), {STEPS.name: state.experiment.discriminator["steps"]}, box)
        box_layout.addWidget(self.steps_form)
        self.steps_error = ErrorLabel(box)
        box_layout.addWidget(self.steps_error)
        layout.addWidget(box)
        self.tabs = QTabWidget(self)
        self.layers = LayerPanel(self.proxy, self.tabs)  # type: ignore[arg-type]
        self.optimizer = OptimizerPanel(self.proxy, self.tabs)  # type: ignore[arg-type]
        # Its own schedule and training settings would not be the run's: hidden, not faked.
        for widget in (self.optimizer.sched_form, self.optimizer.train_form):
            box_of = widget.parentWidget()
            while box_of is not None and not isinstance(box_of, QGroupBox):
                box_of = box_of.parentWidget()
            if box_of is not None:
                box_of.hide()
        self.tabs.addTab(self.layers, "Network")
        self.tabs.addTab(self.optimizer, "Optimizer")
        layout.addWidget(self.tabs, 1)
        self.steps_form.valueChanged.connect(self._on_steps_changed)
        state.changed.connect(self._on_state_changed)
        self._on_state_changed("all")

    @Slot(str, object)
    def _on_steps_changed(self, name: str, value: Any) -> None:
        if try_update(self.proxy, name, {name: value}, self.steps_form, self.steps_error) is not True:  # type: ignore[arg-type]
            self._sync()

    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in (SECTION, "dataset", "all"):
            self._sync()

    def _sync(self) -> None:
        self.steps_form.set_values({STEPS.name: self.state.experiment.discriminator["steps"]})
        gan = self.state.dataset.task == GAN
        self.hint.setText(HINT_GAN if gan else HINT_OTHER)
        for widget in (self.steps_form, self.tabs):
            widget.setEnabled(gan)
