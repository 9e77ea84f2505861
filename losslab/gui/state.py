"""The one Experiment the panels edit, as a QObject that tells everyone when a section changes.

Panels never talk to each other: they call ``update`` and listen to ``changed``. Invalid edits
raise LossLabError (the panel shows the message next to the field) and leave the state as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from losslab.core.data import Dataset, make_dataset
from losslab.core.experiment import Experiment

# Sections whose change invalidates a trainer: it was built from them (data, network, loss, L1/L2,
# optimizer and its schedule, batch size...). Only the learning rate reaches a run in progress.
STRUCTURAL = ("dataset", "model", "loss", "regularization", "optimizer", "training")
LIVE = {"optimizer": frozenset({"lr"})}  # per section, the keys a running trainer takes at once


def needs_fresh_run(section: str, changes: dict[str, Any] | None = None) -> bool:
    """Whether changing ``changes`` of ``section`` (None: unknown keys) needs a new trainer, so that
    Train never goes on with settings other than the ones the panels show."""
    if section not in STRUCTURAL:
        return False
    live = LIVE.get(section, frozenset())
    return changes is None or not set(changes) <= live


class ExperimentState(QObject):
    changed = Signal(str)  # section name, or "all" after a new experiment was loaded
    datasetChanged = Signal(object)  # the regenerated Dataset
    modifiedChanged = Signal(bool)

    def __init__(self, experiment: Experiment | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.experiment = experiment or Experiment.default()
        self.undo_stack = QUndoStack(self)
        self._dataset: Dataset | None = None
        self._modified = False
        # Set by the main window: called before a structural edit; False cancels the edit
        # (it asks whether to stop a run in progress).
        self.edit_guard: Callable[[str], bool] = lambda section: True

    # -- reading ----------------------------------------------------------------------------
    @property
    def dataset(self) -> Dataset:
        """The generated dataset for the current settings (cached until the dataset section changes)."""
        if self._dataset is None:
            self._dataset = make_dataset(self.experiment.dataset)
        return self._dataset

    @property
    def task(self) -> str:
        return self.dataset.task

    @property
    def modified(self) -> bool:
        return self._modified

    # -- writing ----------------------------------------------------------------------------
    def update(self, section: str, **changes: Any) -> bool:
        """Apply ``changes`` to one section. Raises LossLabError when invalid; False if the guard said no."""
        current = getattr(self.experiment, section)
        if all(current.get(k) == v for k, v in changes.items()):
            return True
        if needs_fresh_run(section, changes) and not self.edit_guard(section):
            return False
        new = self.experiment.replace(section, **changes)
        if section == "dataset":
            dataset = make_dataset(new.dataset)  # may raise (a bad CSV): keep the old state then
            self._dataset = dataset
        self.experiment = new
        self._set_modified(True)
        self.changed.emit(section)
        if section == "dataset":
            self.datasetChanged.emit(self._dataset)
        return True

    def set_experiment_sections(self, new: Experiment, sections: tuple[str, ...]) -> bool:
        """Swap in ``new``, which differs from the current experiment in ``sections`` (e.g. a dataset
        change that also needs a loss that fits the new task). False if the edit guard said no."""
        if any(needs_fresh_run(s) for s in sections) and not self.edit_guard(sections[0]):
            return False
        if "dataset" in sections:
            self._dataset = make_dataset(new.dataset)
        self.experiment = new
        self._set_modified(True)
        for section in sections:
            self.changed.emit(section)
        if "dataset" in sections:
            self.datasetChanged.emit(self._dataset)
        return True

    def replace_experiment(self, experiment: Experiment, modified: bool = False) -> None:
        """Load a whole new experiment (File > Open, an example, New)."""
        dataset = make_dataset(experiment.dataset)
        self.experiment = experiment
        self._dataset = dataset
        self.undo_stack.clear()
        self._set_modified(modified)
        self.changed.emit("all")
        self.datasetChanged.emit(dataset)

    def mark_saved(self) -> None:
        self._set_modified(False)

    def _set_modified(self, value: bool) -> None:
        if value != self._modified:
            self._modified = value
            self.modifiedChanged.emit(value)
