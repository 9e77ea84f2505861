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

:class:`Engine` is the start-up's one background job: torch imported and warmed on a plain thread
after the window's first paint, so neither the first frame nor the first Train press waits for it.

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


# -- the engine: torch, imported off the GUI thread -------------------------------------------------
# The core modules the tabs and the trainer import (each imports torch): loaded by the engine's
# thread too, so building the tabs afterwards costs the GUI thread only their own Qt code.
ENGINE_MODULES = (
    "losslab.core.trainer",
    "losslab.core.gan",
    "losslab.core.per_sample",
    "losslab.core.sample_history",
    "losslab.core.diagnostics",
    "losslab.core.network_probe",
    "losslab.core.image_probe",
    "losslab.core.inspector",
    "losslab.core.landscape",
    "losslab.core.lr_finder",
    "losslab.core.trajectory",
    "losslab.core.calibration",
    "losslab.core.race",
)
_LINUX_LIBS = ("libc10.so", "libtorch_cpu.so", "libtorch.so", "libtorch_python.so")


def _preload_torch_libraries() -> None:
    """Load torch's shared libraries through libc's dlopen, a foreign call that runs without the GIL.

    ``import torch`` loads them holding the GIL: ~0.5 s here during which the GUI thread could not
    run a line of Python. Loaded first this way, the import finds them in place. Linux only (other
    systems simply import)."""
    import ctypes
    import importlib.util
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return
    folder = os.path.join(os.path.dirname(spec.origin), "lib")
    try:
        dlopen = ctypes.CDLL(None).dlopen
    except (OSError, AttributeError):
        return
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
    for name in _LINUX_LIBS:
        path = os.path.join(folder, name)
        if os.path.exists(path) and not dlopen(path.encode(), 2):  # RTLD_NOW, local: as torch loads them
            return  # the import will say what is wrong


def warm_engine() -> None:
    """Import torch and the core, and take one optimizer step as training takes it (a first step
    still loads kernels and Adam's code), so that a first Train press does not pay for it."""
    import importlib

    _preload_torch_libraries()
    import torch

    torch.set_num_threads(1)  # as the training worker: small nets run fastest on one thread here
    for name in ENGINE_MODULES:
        importlib.import_module(name)
    from losslab.core.optim import get_optimizer_spec
    from losslab.core.params import validate_params

    layer = torch.nn.Linear(2, 1)
    adam = get_optimizer_spec("adam")
    optimizer = adam.create(layer.parameters(), 1e-3, validate_params(adam.params, {}, "optimizer"), "cpu")
    layer(torch.zeros(2, 2)).sum().backward()
    optimizer.step()


class Engine(QObject):
    """Warms the engine (``warm_engine``) on a daemon thread; ``ready`` fires on the GUI thread.

    ``when_ready(fn)`` runs ``fn`` now if it is ready, else once it is (in order). A failed warm-up
    still counts as ready: what failed fails again where it is used, with the usual dialog."""

    ready = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._done = threading.Event()
        self._waiting: list[Callable[[], Any]] = []
        self.seconds = 0.0
        self.error = ""
        self.ready.connect(self._run_waiting)

    def start(self) -> None:
        thread = threading.Thread(target=self._warm, name="LossLabEngine", daemon=True)
        thread.start()
        app = QCoreApplication.instance()
        if app is not None:  # an interpreter that exits mid-import may crash: let the import end first
            app.aboutToQuit.connect(lambda: thread.join(30))

    def _warm(self) -> None:
        started = time.perf_counter()
        try:
            warm_engine()
        except Exception as exc:  # reported again where torch is used next, with the usual dialog
            self.error = f"{type(exc).__name__}: {exc}"
        self.seconds = time.perf_counter() - started
        self._done.set()
        self.ready.emit()  # queued: this object lives on the GUI thread

    @property
    def is_ready(self) -> bool:
        return self._done.is_set()

    def when_ready(self, fn: Callable[[], Any]) -> None:
        if self.is_ready and not self._waiting:
            fn()
        else:
            self._waiting.append(fn)

    @Slot()
    def _run_waiting(self) -> None:
        waiting, self._waiting = self._waiting, []
        for fn in waiting:
            fn()


_ENGINE: Engine | None = None


def engine() -> Engine | None:
    """The application's engine, once the window's start-up made one (tests build windows without)."""
    return _ENGINE


def start_engine() -> Engine:
    global _ENGINE
    _ENGINE = Engine()
    _ENGINE.start()
    return _ENGINE
