"""The ONE bridge between core.trainer and Qt: a QObject living in a QThread.

The trainer calls back on the worker thread; the worker puts each event in a queue (a deque:
appending is thread-safe and costs well under a microsecond) and the GUI thread takes them out
once per frame (``TrainingController.deliver``), merged, and hands them on as signals. A signal per
event would cost the training thread a lock and a wake-up of the GUI thread every time, and
every wake-up takes the GIL from the training. Controls (pause, step, stop, learning rate) go
straight to the trainer's thread-safe ``Controls`` object, so they act within a batch.
"""

from __future__ import annotations

import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from losslab.core.errors import LossLabError
from losslab.core.events import Diverged, EpochEnd, Finished, Notice, StepBatch, merge_step_batches
from losslab.gui.pacing import PAINT_HOLD_MS, VIEW_BUDGET


@dataclass
class ViewPayload:
    """What the task view's function returned (its predictions), computed on the training thread."""

    payload: Any


class TrainingWorker(QObject):
    finished = Signal(object)  # Finished, or None after a failure
    failed = Signal(str, str)  # message, traceback ("" for a LossLabError the user can fix)

    def __init__(
        self,
        trainer: Any,
        epochs: int | None = None,
        view_fn: Any = None,
        outbox: deque | None = None,
        wrap: Any = None,
    ) -> None:
        super().__init__()
        self.trainer = trainer
        self.epochs = epochs
        # Wraps the callback (a run-history Recorder's ``wrap``): it sees each event first, on this thread.
        self.wrap = wrap
        self.view_fn = view_fn  # called on the worker thread with the trainer, when the GUI asks
        self.outbox: deque[Any] = outbox if outbox is not None else deque()
        # Set by the GUI thread when it has drawn the last predictions (a bool: assignment is atomic).
        self.view_wanted = True
        self._view_due = 0.0  # perf_counter time before which predictions wait (VIEW_BUDGET)
        self.result: Finished | None = None
        self.ended = False  # set just before ``finished`` is sent (the controller checks whose it is)

    @Slot()
    def run(self) -> None:
        import torch

        # Small nets are dispatch-bound: one intra-op thread ran 3x faster here, and it leaves a
        # core for the GUI thread.
        torch.set_num_threads(1)
        try:
            callback = self._on_event if self.wrap is None else self.wrap(self._on_event)
            self.trainer.run(callback, self.epochs)
        except LossLabError as exc:
            self.failed.emit(str(exc), "")
            self.ended = True
            self.finished.emit(None)
        except Exception as exc:  # any bug must reach a dialog, not kill the app
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            self.ended = True
            self.finished.emit(None)
        finally:
            # Back to the GUI thread, where the controller drops it: a QObject is deleted in its own
            # thread, and this one's thread is about to end.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())
            # End the thread's event loop as soon as the run is over, so QThread.wait() returns.
            QThread.currentThread().quit()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, Finished):
            self._view(force=True)
            self.result = event
            self.ended = True
            self.finished.emit(event)  # queued to the GUI thread, which then takes the rest
            return
        self.outbox.append(event)
        if isinstance(event, StepBatch):
            self._view(force=False)

    def _view(self, force: bool) -> None:
        """Predictions for the task view, at the rate the GUI draws them: only when it asked."""
        if self.view_fn is not None and (force or self.view_wanted):
            start = time.perf_counter()
            if not force and start < self._view_due:
                return  # still wanted: the next step report asks again
            self.view_wanted = False
            self.outbox.append(ViewPayload(self.view_fn(self.trainer)))
            self._view_due = start + (time.perf_counter() - start) / VIEW_BUDGET


class TrainingController(QObject):
    """Owns the thread and the worker for one run at a time; what the main window talks to.

    The run's events wait in a queue until ``deliver()``, which the window calls once per frame;
    ``finished`` always comes after every event of the run has been delivered.
    """

    stepBatch = Signal(object)  # StepBatch: all the steps since the last delivery, merged
    epochEnded = Signal(object)  # EpochEnd, one signal per epoch
    diverged = Signal(object)  # Diverged
    notice = Signal(str)
    view = Signal(object)  # the newest task-view predictions
    probe = Signal(object)  # any other event: what a probe (core/probe.py) returned
    finished = Signal(object)  # Finished, or None after a failure
    failed = Signal(str, str)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.trainer: Any = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._events: deque[Any] = deque()
        self._paint_hold: Any = None  # the Controls held by hold_until_painted

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def paused(self) -> bool:
        return self.running and self.trainer.controls.paused

    def start(
        self,
        trainer: Any,
        epochs: int | None = None,
        view_fn: Any = None,
        paused: bool = False,
        wrap: Any = None,
    ) -> None:
        if self.running:
            raise RuntimeError("a run is already in progress")
        self._events.clear()  # a run's events are all delivered when it ends; none may leak into this one
        self.trainer = trainer
        if paused:
            trainer.controls.pause()
        else:
            trainer.controls.resume()  # a run stopped while paused left its trainer paused
        thread = QThread(self)
        thread.setObjectName("LossLabTraining")
        worker = TrainingWorker(trainer, epochs, view_fn, self._events, wrap)
        worker.moveToThread(thread)
        worker.failed.connect(self.failed)
        worker.finished.connect(self._on_finished)
        thread.started.connect(worker.run)
        self._thread, self._worker = thread, worker
        thread.start()
        self.runningChanged.emit(True)

    def deliver(self) -> int:
        """Hand the queued events on as signals, on the calling (GUI) thread; returns how many.

        All the step reports go out first, merged into one StepBatch, then the other events in
        order (each epoch's steps were reported before it), then only the newest predictions.
        """
        events = []
        while self._events:
            events.append(self._events.popleft())
        if not events:
            return 0
        batches = [e for e in events if isinstance(e, StepBatch)]
        if batches:
            self.stepBatch.emit(merge_step_batches(batches))
        view = None
        for event in events:
            if isinstance(event, StepBatch):
                continue
            if isinstance(event, ViewPayload):
                view = event
            elif isinstance(event, EpochEnd):
                self.epochEnded.emit(event)
            elif isinstance(event, Diverged):
                self.diverged.emit(event)
            elif isinstance(event, Notice):
                self.notice.emit(event.message)
            else:
                self.probe.emit(event)
        if view is not None:
            self.view.emit(view.payload)
        return len(events)

    def request_view(self) -> None:
        """Ask for fresh task-view predictions with the next step report (the last ones are drawn)."""
        if self._worker is not None:
            self._worker.view_wanted = True

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

    def step_epoch(self) -> bool:
        """Let the batches left in the current epoch run, then stay paused. False (and a pause asked
        for) while the training thread is not waiting yet: only then is its step count settled."""
        if not self.running:
            return False
        controls = self.trainer.controls
        if not controls.waiting:
            controls.pause()
            return False
        per_epoch = max(self.trainer.steps_per_epoch, 1)
        for _ in range(per_epoch - self.trainer.step % per_epoch):
            controls.step_once()
        return True

    def hold_until_painted(self) -> None:
        """Hold the training thread (Controls.hold) until the window's next paint is done, which
        the window reports with ``end_paint_hold``: GUI work and its paint done while a small network
        trains took 2-3 times as long (both threads taking turns on the interpreter) and cost the
        training as much. A paint that never comes ends the hold after PAINT_HOLD_MS."""
        if not self.running or self._paint_hold is not None:
            return
        self._paint_hold = self.trainer.controls
        self._paint_hold.hold()
        QTimer.singleShot(PAINT_HOLD_MS, self.end_paint_hold)

    def end_paint_hold(self) -> None:
        held, self._paint_hold = self._paint_hold, None
        if held is not None:
            held.release()

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
        # Only the current run's own end: a run that stop() settled still has its finished queued, and
        # when Train has started the next run by then, cleaning up would wait for that whole run (the
        # window froze after Stop then Train).
        worker = self._worker
        if worker is None or not worker.ended or result is not worker.result:
            return
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
        self.deliver()
        self.runningChanged.emit(False)
        self.finished.emit(result)
