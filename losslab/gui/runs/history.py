"""The window's read side of the run history: the store the Runs panel lists and edits.

``RunHistory`` opens the user's history (``losslab.core.runs.open_store``, which honours
``$LOSSLAB_DATA_DIR``) when the window starts. When it cannot (a damaged, locked or newer file: a
LossLabError), the window still opens and trains; ``error`` holds the message (what is wrong, how
to fix it), the Runs panel shows it, and nothing is deleted. ``retry()`` tries again.

Runs are written by the recorders of run_control (recording.py), on the training thread, through a
store of their own: WAL lets the panel read while they write. The panel re-lists when a run starts,
when it ends and (at most once a second) while it runs: no polling.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal

from losslab.core.errors import LossLabError
from losslab.core.runs import RunRecord, RunStore, RunSummary, open_store

GUI_TIMEOUT_S = 2.0  # how long the window waits for another program's write before calling it locked


class RunHistory(QObject):
    changed = Signal()  # runs were added, edited, deleted or undeleted: list them again
    errorChanged = Signal(str)  # "" once the history works again

    def __init__(self, parent: QObject | None = None, path: Any = None) -> None:
        super().__init__(parent)
        self.path = path  # None: the user's history
        self.store: RunStore | None = None
        self.error = ""
        self._open()

    def _open(self) -> bool:
        try:
            self.store = open_store(self.path, timeout=GUI_TIMEOUT_S)
        except LossLabError as exc:
            self.store = None
            self._set_error(f"The run history cannot be opened, so runs are not kept: {exc}.")
            return False
        self._set_error("")
        return True

    def retry(self) -> bool:
        """Open the history again (after the user moved a damaged file aside, say)."""
        ok = self.store is not None or self._open()
        self.changed.emit()
        return ok

    def _set_error(self, text: str) -> None:
        if text != self.error:
            self.error = text
            self.errorChanged.emit(text)

    def report(self, exc: LossLabError) -> None:
        """An operation failed (the file went away, a lock): say so in the panel."""
        self._set_error(str(exc))

    @property
    def available(self) -> bool:
        return self.store is not None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- reading (errors become the panel's message, an empty answer) -----------------------------
    def list_runs(self, text: str = "", status: str | None = None) -> list[RunSummary]:
        if self.store is None:
            return []
        try:
            runs = self.store.list_runs(text=text, status=status)
        except LossLabError as exc:
            self.report(exc)
            return []
        return runs

    def get_runs(self, ids: Iterable[int]) -> list[RunRecord]:
        if self.store is None:
            return []
        out = []
        for rid in ids:
            try:
                out.append(self.store.get_run(rid))
            except LossLabError as exc:
                self.report(exc)
        return out

    # -- editing ----------------------------------------------------------------------------------
    def _edit(self, method: str, *args: Any) -> bool:
        if self.store is None:
            return False
        try:
            getattr(self.store, method)(*args)
        except LossLabError as exc:
            self.report(exc)
            return False
        self.changed.emit()
        return True

    def rename(self, run_id: int, name: str) -> bool:
        return self._edit("rename", run_id, name)

    def set_tags(self, run_id: int, tags: Iterable[str]) -> bool:
        return self._edit("set_tags", run_id, list(tags))

    def delete(self, ids: Iterable[int]) -> bool:
        return all([self._edit("delete", rid) for rid in ids])

    def undelete(self, ids: Iterable[int]) -> bool:
        return all([self._edit("undelete", rid) for rid in ids])
