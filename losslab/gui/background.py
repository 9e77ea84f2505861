"""Run one long computation (loss landscape, learning-rate range test) in a QThread.

The GUI thread stays free and a training run in its own thread is not touched: the computation
works on its own copies. ``BackgroundTask(fn)`` calls ``fn(progress, cancelled)`` on a new thread;
``progress(done, total)`` may be called from there as often as it likes (the GUI hears of it at
most ~20 times a second) and ``cancelled()`` says whether the user pressed Cancel. Results come back
as signals on the GUI thread: ``succeeded(result)``, ``failed(message, details)`` (details empty for
a LossLabError the user can fix), ``cancelled()``; ``finished()`` always follows.

Running tasks are kept in a module-level set until their thread has ended, so a view that goes away
mid-computation never destroys a running QThread (which aborts the process); the application's
``aboutToQuit`` cancels them all and waits.

A view uses :class:`TaskRunner`, the one lifecycle the Landscape and LR-finder views share: one task
at a time, its Run/Cancel buttons, progress bar and status line kept in step, ``succeeded(result)``
on the GUI thread, "Cannot …: message" or "Cancelled." in the status line otherwise. A view calls
``cancel()`` where its computation stops making sense (the Landscape view on a new run).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QAbstractButton, QLabel, QProgressBar

from losslab.core.errors import Cancelled, LossLabError

PROGRESS_SECONDS = 0.05
_RUNNING: set[BackgroundTask] = set()


class _Worker(QObject):
    progressed = Signal(int, int)
    done = Signal(str, object)  # ("ok" | "failed" | "cancelled", payload)

    def __init__(self, fn: Callable[..., Any], stop: threading.Event) -> None:
        super().__init__()
        self.fn, self.stop = fn, stop
        self._last = 0.0

    def _progress(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self._last >= PROGRESS_SECONDS or done >= total:
            self._last = now
            self.progressed.emit(int(done), int(total))

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(self._progress, self.stop.is_set)
        except Cancelled:
            self.done.emit("cancelled", None)
        except LossLabError as exc:
            self.done.emit("failed", (str(exc), ""))
        except Exception as exc:  # a bug must reach a dialog, not kill the app
            self.done.emit("failed", (f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        else:
            self.done.emit("ok", result)
        finally:
            QThread.currentThread().quit()


class BackgroundTask(QObject):
    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        fn: Callable[[Callable[[int, int], None], Callable[[], bool]], Any],
        name: str = "LossLabBackground",
    ) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker(fn, self._stop)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progressed.connect(self.progressed)
        self._worker.done.connect(self._on_done)
        self._outcome: tuple[str, Any] | None = None

    @property
    def running(self) -> bool:
        return self in _RUNNING

    def start(self) -> None:
        _RUNNING.add(self)
        self._thread.start()

    def cancel(self) -> None:
        self._stop.set()

    def wait(self, ms: int = 10_000) -> bool:
        """Block until the thread has ended (cancel first to make it quick); True when it has."""
        if not self._thread.isRunning():
            return True
        return self._thread.wait(ms)

    @Slot(str, object)
    def _on_done(self, kind: str, payload: Any) -> None:
        self._thread.wait()  # the worker quit the thread's loop as it finished
        _RUNNING.discard(self)
        if kind == "ok":
            self.succeeded.emit(payload)
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(*payload)
        self.finished.emit()


def cancel_all(wait_ms: int = 10_000) -> None:
    """Cancel every running task and wait for its thread (application exit)."""
    tasks = list(_RUNNING)
    for task in tasks:
        task.cancel()
    for task in tasks:
        task.wait(wait_ms)


def _install_exit_hook() -> None:
    app = QCoreApplication.instance()
    if app is not None and not getattr(app, "_losslab_background_hook", False):
        app.aboutToQuit.connect(cancel_all)
        app._losslab_background_hook = True  # type: ignore[attr-defined]


def run_in_background(fn: Callable[..., Any], name: str = "LossLabBackground") -> BackgroundTask:
    """Create a task for ``fn(progress, cancelled)``; connect its signals, then call ``start()``."""
    _install_exit_hook()
    return BackgroundTask(fn, name)


class TaskRunner(QObject):
    """One background computation at a time for a view, with the controls that show it.

    ``start(fn, message, total)`` runs ``fn(progress, cancelled)`` (see run_in_background): the
    start button is disabled and Cancel enabled, the progress bar shows (busy until the first
    progress report when ``total`` is 0) and ``status`` says ``message``. The result arrives as
    ``succeeded(result)`` on the GUI thread; a failure shows as "<failure>: message" and a cancel
    as "Cancelled." in ``status``. ``finished()`` follows every outcome, the controls back at rest.
    """

    succeeded = Signal(object)
    finished = Signal()

    def __init__(
        self,
        name: str,
        start_button: QAbstractButton,
        cancel_button: QAbstractButton,
        progress: QProgressBar,
        status: QLabel,
        failure: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.name, self.failure = name, failure
        self.start_button, self.cancel_button = start_button, cancel_button
        self.progress, self.status = progress, status
        self.task: BackgroundTask | None = None
        cancel_button.setEnabled(False)
        progress.setTextVisible(False)
        progress.hide()
        cancel_button.clicked.connect(self.cancel)

    @property
    def busy(self) -> bool:
        return self.task is not None

    def start(
        self,
        fn: Callable[[Callable[[int, int], None], Callable[[], bool]], Any],
        message: str,
        total: int = 0,
    ) -> bool:
        """Run ``fn`` in the background; False (nothing started) while another task is running."""
        if self.task is not None:
            return False
        self.task = run_in_background(fn, self.name)
        self.task.progressed.connect(self._on_progress)
        self.task.succeeded.connect(self.succeeded)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(self._on_cancelled)
        self.task.finished.connect(self._on_finished)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.show()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(message)
        self.task.start()
        return True

    @Slot()
    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.status.setText(f"{self.failure}: {message}")

    @Slot()
    def _on_cancelled(self) -> None:
        self.status.setText("Cancelled.")

    @Slot()
    def _on_finished(self) -> None:
        self.task = None
        self.progress.hide()
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.finished.emit()
