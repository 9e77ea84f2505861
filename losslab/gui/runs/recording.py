"""Every window run kept in the run history (core/runs): the Recorder around the worker's callback.

``RunRecording`` belongs to the window's RunControl. ``begin(trainer)`` makes a Recorder for a new
trainer and returns the callback wrapper the worker uses (``TrainingController.start(wrap=...)``);
``resume()`` continues the same run when Train goes on with the same trainer (after Pause/Stop or a
divergence rolled back); ``ended(result)`` closes a run that ended without a Finished event (a
failure). The recorder writes through a store of its own, so the Runs panel's reads never wait for
its writes. When the history cannot be opened (a damaged or locked file) training goes on unrecorded
and ``error`` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from losslab.core.errors import LossLabError
from losslab.core.runs import INTERRUPTED, Recorder, RunStore, open_store

StoreOpener = Callable[[], RunStore]


def run_name(experiment: Any) -> str:
    """A readable default name: the experiment's name, else dataset · loss · optimizer."""
    if getattr(experiment, "name", ""):
        return str(experiment.name)
    return f"{experiment.dataset.get('kind', '?')} · {experiment.loss.get('id', '?')} · " + str(
        experiment.optimizer.get("id", "?")
    )


class RunRecording(QObject):
    runStarted = Signal(int)  # run id: a run row now exists (status "running")
    runEnded = Signal(int)  # run id: its status is final

    def __init__(self, parent: QObject | None = None, opener: StoreOpener = open_store) -> None:
        super().__init__(parent)
        self.opener = opener
        self.store: RunStore | None = None
        self.recorder: Recorder | None = None
        self.error: str | None = None  # why runs are not recorded, when they are not
        self.enabled = True

    def _store(self) -> RunStore | None:
        if self.store is None and self.error is None:
            try:
                self.store = self.opener()
            except LossLabError as exc:
                self.error = str(exc)
        return self.store

    def begin(
        self, trainer: Any, name: str = "", group_id: str | None = None, tags: tuple[str, ...] = ()
    ) -> Callable[[Callable[[Any], None]], Callable[[Any], None]] | None:
        """A new trainer starts: its run row, and the wrapper for the worker's callback (None: unrecorded)."""
        self.recorder = None
        store = self._store() if self.enabled else None
        if store is None:
            return None
        try:
            recorder = Recorder(
                store,
                trainer,
                name=name or run_name(trainer.experiment),
                tags=tags,
                group_id=group_id,
                source="window",
            )
        except LossLabError as exc:
            self.error = str(exc)
            return None
        self.recorder = recorder
        self.runStarted.emit(recorder.run_id)
        return recorder.wrap

    def resume(self) -> Callable[[Callable[[Any], None]], Callable[[Any], None]] | None:
        """The same trainer trains on: the same run goes on (status back to running)."""
        recorder = self.recorder
        if recorder is None:
            return None
        recorder.resume()
        if recorder.error is None:
            self.runStarted.emit(recorder.run_id)
        return recorder.wrap

    def ended(self, result: Any, message: str = "") -> None:
        """The run's thread is over; a run that ended without Finished (a failure) is closed."""
        recorder = self.recorder
        if recorder is None:
            return
        if result is None:
            recorder.close(INTERRUPTED, message or "Training failed.")
        self.runEnded.emit(recorder.run_id)

    @property
    def run_id(self) -> int | None:
        return None if self.recorder is None else self.recorder.run_id

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
