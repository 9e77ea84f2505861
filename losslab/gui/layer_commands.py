"""Undoable edits of the network (the ``model`` section): each holds the section's keys before and after.

A command applies itself through ``state.update("model", ...)``, so validation and the edit guard
run exactly as for any other edit. A command whose first ``redo`` is refused (the guard said no or
the value was invalid) marks itself obsolete, and QUndoStack.push then drops it instead of keeping
an entry that never happened. Consecutive edits of the same field of the same layer (spin-box
clicks on "units", say) merge into one entry.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from losslab.core.errors import LossLabError
from losslab.gui.state import ExperimentState

MODEL_SECTION = "model"
MERGE_ID = 0x4C4C  # "LL": every mergeable command shares it; mergeWith compares merge keys


class ModelCommand(QUndoCommand):
    """Set keys of the model section (``layers`` and/or ``init``) from ``before`` to ``after``."""

    def __init__(
        self,
        state: ExperimentState,
        before: dict[str, Any],
        after: dict[str, Any],
        text: str,
        merge_key: tuple[Any, ...] | None = None,
    ) -> None:
        super().__init__(text)
        self.state = state
        self.before = copy.deepcopy(before)
        self.after = copy.deepcopy(after)
        self.merge_key = merge_key
        self.error: LossLabError | None = None
        self._first = True

    def _apply(self, values: dict[str, Any]) -> bool:
        try:
            with self.state.replaying():  # this command is the undo entry: no snapshot of it
                applied = self.state.update(MODEL_SECTION, **copy.deepcopy(values))
        except LossLabError as exc:
            self.error = exc
            return False
        return applied

    def redo(self) -> None:
        first, self._first = self._first, False
        if not self._apply(self.after):
            # First time: the edit never happened, so push() drops the command. Later (a redo the
            # guard refused): the state still holds ``before``, so this entry can no longer be redone.
            self.setObsolete(True)
            if not first:
                self.state.changed.emit(MODEL_SECTION)  # let the panels resync to the unchanged state

    def undo(self) -> None:
        if not self._apply(self.before):
            # The guard refused the undo: the state keeps ``after``. Dropping the entry keeps the stack
            # and the state consistent (the edit simply stays).
            self.setObsolete(True)
            self.state.changed.emit(MODEL_SECTION)

    def id(self) -> int:
        return MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (
            not isinstance(other, ModelCommand)
            or other.merge_key is None
            or other.merge_key != self.merge_key
            or other.isObsolete()
        ):
            return False
        self.after = copy.deepcopy(other.after)
        if self.after == self.before:
            self.setObsolete(True)  # back where it started: QUndoStack removes the entry
        return True


class SetLayersCommand(ModelCommand):
    """Replace the hidden-layer list (add, remove, move, duplicate, edit one layer)."""

    def __init__(
        self,
        state: ExperimentState,
        before: list[dict[str, Any]],
        after: list[dict[str, Any]],
        text: str,
        merge_key: tuple[Any, ...] | None = None,
    ) -> None:
        super().__init__(state, {"layers": before}, {"layers": after}, text, merge_key)


class InitCommand(ModelCommand):
    """Change the weight initialisation scheme."""

    def __init__(self, state: ExperimentState, before: str, after: str, text: str) -> None:
        super().__init__(state, {"init": before}, {"init": after}, text)
