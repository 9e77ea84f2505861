"""The ONE bridge between core.trainer and Qt: a QObject living in a QThread.

The trainer calls back on the worker thread; the worker turns events into signals, which Qt queues
to the GUI thread. Values are already coalesced by the trainer (~every 50 ms), so the GUI thread
is never flooded. Controls (pause, step, stop, learning rate) go straight to the trainer's
thread-safe ``Controls`` object, never through the worker's event queue, so they act within a batch.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from losslab.core.errors import LossLabError
from losslab.core.events import Diverged, EpochEnd, Finished, Notice, StepBatch

VIEW_SECONDS = 0.08  # task-view predictions ~12 times a second, never per step: the paint is the cost


class TrainingWorker(QObject):
    stepBatch = Signal(object)  # StepBatch
    epochEnded = Signal(object)  # EpochEnd
    diverged = Signal(object)  # Diverged
    notice = Signal(str)
    view = Signal(object)  # whatever the view function returned (task-view predictions)
    probe = Signal(object)  # any other event: what a probe (core/probe.py) returned
    finished = Signal(object)  # Finished
    failed = Signal(str, str)  # message, traceback ("" for a LossLabError the user can fix)

    def __init__(self, trainer: Any, epochs: int | None = None, view_fn: Any = None) -> None:
        super().__init__()
        self.trainer = trainer
        self.epochs = epochs
        self.view_fn = view_fn  # called on the worker thread with the trainer, ~20 Hz at most
        self._last_view = 0.0
        self.result: Finished | None = None

    @Slot()
    def run(self) -> None:
        import torch

        # Small nets are dispatch-bound: one intra-op thread ran 3x faster here, and it leaves a
        # core for the GUI thread.
        torch.set_num_threads(1)
        try:
            self.trainer.run(self._on_event, self.epochs)
        except LossLabError as exc:
            self.failed.emit(str(exc), "")
            self.finished.emit(None)
        except Exception as exc:  # any bug must reach a dialog, not kill the app
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            self.finished.emit(None)
        finally:
            # End the thread's event loop as soon as the run is over, so QThread.wait() returns.
            QThread.currentThread().quit()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, StepBatch):
            self.stepBatch.emit(event)
            self._maybe_view(force=False)
        elif isinstance(event, EpochEnd):
            self.epochEnded.emit(event)
        elif isinstance(event, Diverged):
            self.diverged.emit(event)
        elif isinstance(event, Notice):
            self.notice.emit(event.message)
        elif isinstance(event, Finished):
            self._maybe_view(force=True)
            self.result = event
            self.finished.emit(event)
        else:
            self.probe.emit(event)

    def _maybe_view(self, force: bool) -> None:
        now = time.perf_counter()
        if self.view_fn is not None and (force or now - self._last_view >= VIEW_SECONDS):
            self._last_view = now
            self.view.emit(self.view_fn(self.trainer))


class TrainingController(QObject):
    """Owns the thread and the worker for one run at a time; what the main window talks to."""

    stepBatch = Signal(object)
    epochEnded = Signal(object)
    diverged = Signal(object)
    notice = Signal(str)
    view = Signal(object)
    probe = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer: Any = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def paused(self) -> bool:
        return self.running and self.trainer.controls.paused

    def start(
        self, trainer: Any, epochs: int | None = None, view_fn: Any = None, paused: bool = False
    ) -> None:
        if self.running:
            raise RuntimeError("a run is already in progress")
        self.trainer = trainer
        if paused:
            trainer.controls.pause()
        thread = QThread(self)
        thread.setObjectName("LossLabTraining")
        worker = TrainingWorker(trainer, epochs, view_fn)
        worker.moveToThread(thread)
        for name in ("stepBatch", "epochEnded", "diverged", "notice", "view", "probe", "failed"):
            getattr(worker, name).connect(getattr(self, name))
        worker.finished.connect(self._on_finished)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        thread.start()
        self.runningChanged.emit(True)

    # Controls act on the trainer directly; they are thread-safe and take effect within a batch.
    def pause(self) -> None:
        if self.running:
            self.trainer.controls.pause()

    def resume(self) -> None:
        if self.running:
            self.trainer.controls.resume()

    def step_once(self) -> None:
        if self.running:
            self.trainer.controls.step_once()

    def set_learning_rate(self, lr: float) -> None:
        if self.running:
            self.trainer.controls.set_lr(lr)

    def stop(self, wait_ms: int = 5000) -> bool:
        """Ask the run to stop and wait for its thread; True when it has ended."""
        if not self.running:
            return True
        self.trainer.controls.stop()
        ended = self._thread.wait(wait_ms)
        # The worker's own finished signal is still queued to us; settle the state now instead.
        if ended and self._worker is not None:
            self._cleanup(self._worker.result)
        return ended

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        self._cleanup(result)

    def _cleanup(self, result: Any) -> None:
        thread = self._thread
        if thread is None:
            return
        # The worker quit its thread's loop when the run ended, so this returns at once; with the
        # thread over, dropping our reference to the worker deletes it safely.
        thread.wait()
        self._thread = self._worker = None
        thread.deleteLater()
        self.runningChanged.emit(False)
        self.finished.emit(result)
