"""The one Experiment the panels edit, as a QObject that tells everyone when a section changes.

Panels never talk to each other: they call ``update`` and listen to ``changed``. Invalid edits
raise LossLabError (the panel shows the message next to the field) and leave the state as it was.

Undo works on the whole experiment: every committed edit pushes a snapshot pair (before, after) onto
``undo_stack``, so any panel's edit is undoable without per-widget code, and undo goes through the same
edit guard and emits the same ``changed`` signals, so panels, views and the trainer follow it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from losslab.core.data import Dataset, make_dataset
from losslab.core.experiment import Experiment

# Sections whose change invalidates a trainer: it was built from them (data, network, a GAN's
# discriminator, loss, L1/L2, optimizer and its schedule, batch size...). Only the learning rate
# reaches a run in progress.
STRUCTURAL = ("dataset", "model", "discriminator", "loss", "regularization", "optimizer", "training")
LIVE = {"optimizer": frozenset({"lr"})}  # per section, the keys a running trainer takes at once
SECTION_NAMES = {"model": "network", "training": "training settings"}
# Edits of the same keys closer together than this are one undo step (spin-box clicks, typing).
COALESCE_S = 1.0
SNAPSHOT_MERGE_ID = 0x534E  # "SN"


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
        # Modified = the undo stack left the point where the experiment was opened or saved (undoing
        # every edit clears the title's mark), or it was opened as modified (a recovered copy).
        self._base_modified = False
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._replaying = 0  # >0 while an undo command applies itself: nothing more is recorded
        # The experiment as opened (an example, a file, New): what the lesson banner describes.
        self.loaded = self.experiment
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
        self._commit(new, (section,), (section, frozenset(changes)))
        return True

    def set_experiment_sections(self, new: Experiment, sections: tuple[str, ...]) -> bool:
        """Swap in ``new``, which differs from the current experiment in ``sections`` (e.g. a dataset
        change that also needs a loss that fits the new task). False if the edit guard said no."""
        if any(needs_fresh_run(s) for s in sections) and not self.edit_guard(sections[0]):
            return False
        if "dataset" in sections:
            self._dataset = make_dataset(new.dataset)
        self._commit(new, sections, None)
        return True

    def replace_experiment(self, experiment: Experiment, modified: bool = False) -> None:
        """Load a whole new experiment (File > Open, an example, New)."""
        dataset = make_dataset(experiment.dataset)
        self.experiment = experiment
        self.loaded = experiment
        self._dataset = dataset
        self._base_modified = modified
        self.undo_stack.clear()
        self._set_modified(modified)
        self.changed.emit("all")
        self.datasetChanged.emit(dataset)

    def edited_sections(self) -> list[str]:
        """The sections in which the experiment now differs from the one opened, in file order."""
        now, then = self.experiment.to_dict(), self.loaded.to_dict()
        return [s for s in STRUCTURAL if now.get(s) != then.get(s)]

    def edited_note(self) -> str:
        """A line for the lesson banner once the experiment left the one opened ("" while it has not)."""
        edited = [SECTION_NAMES.get(s, s) for s in self.edited_sections()]
        if not edited:
            return ""
        what = edited[0] if len(edited) == 1 else f"{', '.join(edited[:-1])} and {edited[-1]}"
        return f"Edited since it was opened ({what}): what it describes may no longer hold. Undo goes back."

    # -- undo -------------------------------------------------------------------------------
    @contextmanager
    def replaying(self) -> Iterator[None]:
        """Edits made inside are not recorded (an undo command re-applying a state it holds)."""
        self._replaying += 1
        try:
            yield
        finally:
            self._replaying -= 1

    def _commit(self, new: Experiment, sections: tuple[str, ...], merge_key: Any) -> None:
        before = self.experiment
        self._apply(new, sections)
        if not self._replaying:
            self.undo_stack.push(SnapshotCommand(self, before, new, sections, merge_key))

    def _apply(self, new: Experiment, sections: tuple[str, ...]) -> None:
        self.experiment = new
        self._set_modified(True)
        for section in sections:
            self.changed.emit(section)
        if "dataset" in sections:
            self.datasetChanged.emit(self._dataset)

    def restore(self, target: Experiment, sections: tuple[str, ...]) -> bool:
        """Go back (or forward) to ``target``, which differs from now in ``sections``: through the edit
        guard, as an edit would. False if the guard said no (nothing changes)."""
        now, then = self.experiment.to_dict(), target.to_dict()
        fresh = any(
            needs_fresh_run(s, {k: 0 for k in {*now[s], *then[s]} if now[s].get(k) != then[s].get(k)})
            for s in sections
        )
        if fresh and not self.edit_guard(sections[0]):
            return False
        if "dataset" in sections:
            self._dataset = make_dataset(target.dataset)
        self._apply(target, sections)
        return True

    def mark_saved(self) -> None:
        self._base_modified = False
        self.undo_stack.setClean()
        self._set_modified(False)

    def _on_clean_changed(self, clean: bool) -> None:
        self._set_modified(not clean or self._base_modified)

    def _set_modified(self, value: bool) -> None:
        if value != self._modified:
            self._modified = value
            self.modifiedChanged.emit(value)


def describe_edit(sections: tuple[str, ...], keys: frozenset[str] | None) -> str:
    """The undo entry's text: "optimizer (lr)", "dataset and loss"."""
    names = " and ".join(SECTION_NAMES.get(s, s) for s in sections)
    shown = sorted(k for k in (keys or ()) if k != "params")
    return f"{names} ({', '.join(shown)})" if shown and len(shown) <= 2 else names


class SnapshotCommand(QUndoCommand):
    """One committed edit as the experiment before and after it. Pushed once the edit is applied, so
    its first redo does nothing; later undo/redo restore a snapshot through ``state.restore``. Edits of
    the same keys within COALESCE_S of each other merge into one entry."""

    def __init__(
        self,
        state: ExperimentState,
        before: Experiment,
        after: Experiment,
        sections: tuple[str, ...],
        merge_key: tuple[str, frozenset[str]] | None,
    ) -> None:
        super().__init__(describe_edit(sections, merge_key[1] if merge_key else None))
        self.state = state
        self.before, self.after, self.sections = before, after, sections
        self.merge_key = merge_key
        self.last_edit = time.monotonic()
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            return
        self._replay(self.after)

    def undo(self) -> None:
        self._replay(self.before)

    def _replay(self, target: Experiment) -> None:
        with self.state.replaying():
            done = self.state.restore(target, self.sections)
        if done:
            self._applied = target is self.after
        else:
            # The guard kept the run (and the state): this entry can no longer be replayed; panels
            # resync to the state as it is.
            self.setObsolete(True)
            for section in self.sections:
                self.state.changed.emit(section)

    def id(self) -> int:
        return SNAPSHOT_MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (
            not isinstance(other, SnapshotCommand)
            or other.merge_key != self.merge_key
            or other.last_edit - self.last_edit > COALESCE_S
        ):
            return False
        self.after, self.last_edit = other.after, other.last_edit
        if self.after.to_dict() == self.before.to_dict():
            self.setObsolete(True)  # back where it started: the stack drops the entry
        return True
