"""`losslab --self-test`: prove in seconds that LossLab works on this machine.

It builds the real window (offscreen when there is no display), opens a shipped example, trains it
for one epoch through the real worker thread, exports the loss plot as PNG and the curves as CSV to
a temporary folder, checks both files, closes the window, and exits 0. Any failure exits 1 and
names the check that failed. A watchdog ends the process if anything hangs, so the self-test never
blocks a workshop. The user's settings are never touched (the window gets a temporary QSettings).

Qt and torch are imported inside the checks, so ``import losslab.selftest`` stays light.
"""

from __future__ import annotations

import csv
import math
import os
import platform
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

DEFAULT_TIMEOUT_S = 60.0  # the whole self-test; LOSSLAB_SELFTEST_TIMEOUT overrides it (slow laptops)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPORT_NAME = "losslab-self-test.txt"  # written to the temp folder when there is no console to print to


class CheckFailed(Exception):
    """A check did not pass; the message says what was wrong."""


class Report:
    """One line per check, to the console when there is one (and kept for a file or a dialog)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self.current = "start-up"
        self._lock = threading.Lock()

    def say(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)
            if self.stream is not None:
                try:
                    print(line, file=self.stream, flush=True)
                except (OSError, ValueError):  # a closed console must not fail the self-test
                    self.stream = None

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _timeout_s() -> float:
    raw = os.environ.get("LOSSLAB_SELFTEST_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


def choose_platform() -> str:
    """Use Qt's offscreen platform where there is no display to show the window on.

    Windows and macOS always have one for a logged-in user; elsewhere (Linux, BSD) a display means
    DISPLAY or WAYLAND_DISPLAY. An explicit QT_QPA_PLATFORM is respected.
    """
    explicit = os.environ.get("QT_QPA_PLATFORM")
    if explicit:
        return explicit
    if sys.platform in ("win32", "darwin"):
        return "native"
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return "native"
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return "offscreen (no DISPLAY or WAYLAND_DISPLAY)"


def pick_example(examples: list[Path]) -> Path:
    """A quick, representative example: two moons when shipped (classification, decision surface)."""
    for path in examples:
        if "moons" in path.stem:
            return path
    return examples[0]


def check_png(path: Path) -> str:
    data = path.read_bytes() if path.exists() else b""
    if not data.startswith(PNG_MAGIC):
        raise CheckFailed(f"{path.name} is not a PNG ({len(data)} bytes, starts {data[:8]!r})")
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    if image.isNull() or image.width() < 50 or image.height() < 50:
        size = f"{image.width()}x{image.height()}"
        raise CheckFailed(f"{path.name} does not load as an image of a plot ({size})")
    # A plot has axes, text and a curve on a background: more than a couple of colours.
    colours = {
        image.pixel(x * (image.width() - 1) // 31, y * (image.height() - 1) // 31)
        for x in range(32)
        for y in range(32)
    }
    if len(colours) < 3:
        raise CheckFailed(f"{path.name} is blank ({len(colours)} colours)")
    return f"{image.width()}x{image.height()} px, {len(data):,} bytes"


def check_csv(path: Path, min_rows: int = 1) -> str:
    if not path.exists():
        raise CheckFailed(f"{path.name} was not written")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if len(rows) < 1 + min_rows or not any(cell.strip() for cell in rows[0]):
        raise CheckFailed(f"{path.name} has {max(len(rows) - 1, 0)} data rows, expected at least {min_rows}")
    numbers = 0
    for row in rows[1:]:
        for cell in row:
            try:
                value = float(cell)
            except ValueError:
                continue
            numbers += math.isfinite(value)
    if numbers == 0:
        raise CheckFailed(f"{path.name} holds no finite numbers")
    header = ", ".join(rows[0][:4]) + (", ..." if len(rows[0]) > 4 else "")
    return f"{len(rows) - 1} rows, {len(rows[0])} columns ({header})"


class SelfTest:
    def __init__(self, report: Report, timeout_s: float) -> None:
        self.report = report
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.app: Any = None
        self.window: Any = None
        self.problems: list[str] = []  # dialogs that popped up, exceptions raised in slots
        self.result: Any = None
        self.finished = False

    # -- running checks ---------------------------------------------------------------------
    def check(self, name: str, fn: Callable[[], str]) -> None:
        self.report.current = name
        start = time.perf_counter()
        try:
            detail = fn()
            if self.problems:
                raise CheckFailed("; ".join(self.problems))
        except CheckFailed as exc:
            extra = [p for p in self.problems if p not in str(exc)]  # e.g. the exception behind it
            raise CheckFailed("; ".join([f"{name}: {exc}", *extra])) from None
        except Exception as exc:
            details = traceback.format_exc()
            raise CheckFailed(f"{name}: {type(exc).__name__}: {exc}\n{details}") from None
        self.report.say(f"  ok    {name:<13} {detail} ({time.perf_counter() - start:.1f} s)")

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def wait_until(self, done: Callable[[], bool], what: str, seconds: float | None = None) -> None:
        """Run the Qt event loop until ``done()`` (or a problem, or the time is up)."""
        from PySide6.QtCore import QEventLoop, QTimer

        limit = time.monotonic() + (self.remaining() if seconds is None else min(seconds, self.remaining()))
        loop = QEventLoop()
        poll = QTimer()
        poll.setInterval(10)
        poll.timeout.connect(lambda: (done() or self.problems or time.monotonic() > limit) and loop.quit())
        poll.start()
        if not (done() or self.problems):
            loop.exec()
        poll.stop()
        if self.problems:
            raise CheckFailed("; ".join(self.problems))
        if not done():
            raise CheckFailed(f"timed out waiting for {what}")

    # -- watching for things a user would see ------------------------------------------------
    def _watch_dialogs(self) -> None:
        """A modal dialog means something went wrong (a warning, a failed run): note it, close it."""
        from PySide6.QtWidgets import QApplication, QMessageBox

        dialog = QApplication.activeModalWidget()
        if dialog is None:
            return
        text = dialog.windowTitle()
        if isinstance(dialog, QMessageBox):
            text = f"{text}: {dialog.text()}"
            if dialog.detailedText():
                text += "\n" + dialog.detailedText()
        self.problems.append(f"a dialog appeared ({text})")
        dialog.reject()

    def _excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        self.problems.append(f"unexpected {exc_type.__name__}: {exc}\n{details}")

    # -- the checks ---------------------------------------------------------------------------
    def run(self, tmp: Path) -> None:
        shown = choose_platform()
        self.check("platform", lambda: shown)
        self.check("resources", lambda: self._resources(tmp))
        self.check("qt", self._qt)
        self.check("window", lambda: self._window(tmp))
        self.check("open", self._open)
        self.check("train", self._train)
        self.check("export plot", lambda: check_png(self._export_plot(tmp / "loss.png")))
        self.check("export csv", lambda: check_csv(self._export_csv(tmp / "curves.csv")))
        self.check("close", lambda: self._close(tmp))

    def _resources(self, tmp: Path) -> str:
        from losslab.core.experiment import load_experiment
        from losslab.core.resources import list_examples, resource_dir

        examples = list_examples()
        if not examples:
            raise CheckFailed(f"no examples found in {resource_dir()}")
        for path in examples:
            load_experiment(path)  # every shipped example must load; raises LossLabError naming the field
        source = pick_example(examples)
        experiment = load_experiment(source).replace("training", epochs=1)
        self.example = tmp / f"selftest-{source.name}"
        experiment.save(self.example)
        self.example_name = source.name
        return f"{len(examples)} examples load, in {resource_dir()}; training {source.name} for 1 epoch"

    def _qt(self) -> str:
        import pyqtgraph
        import PySide6
        from PySide6.QtCore import QTimer, qVersion

        from losslab.gui.app import create_app

        self.app = create_app()
        sys.excepthook = self._excepthook
        threading.excepthook = lambda a: self._excepthook(a.exc_type, a.exc_value, a.exc_traceback)
        self._dialog_timer = QTimer()
        self._dialog_timer.setInterval(50)
        self._dialog_timer.timeout.connect(self._watch_dialogs)
        self._dialog_timer.start()
        return (
            f"Qt {qVersion()} (PySide6 {PySide6.__version__}), pyqtgraph {pyqtgraph.__version__}, "
            f"platform plugin {self.app.platformName()}"
        )

    def _window(self, tmp: Path) -> str:
        from PySide6.QtCore import QSettings

        from losslab.gui.main_window import MainWindow

        self.settings_path = tmp / "settings.ini"
        settings = QSettings(str(self.settings_path), QSettings.Format.IniFormat)
        self.window = MainWindow(settings=settings)
        self.window.show()
        self.wait_until(lambda: self.window.isVisible(), "the window to show", 10)
        self.app.processEvents()
        size = self.window.size()
        return f"{size.width()}x{size.height()}, title {self.window.windowTitle()!r}"

    def _open(self) -> str:
        if not self.window.open_file(self.example):
            raise CheckFailed(f"the window did not open {self.example.name}")
        self.app.processEvents()
        epochs = self.window.state.experiment.training["epochs"]
        if epochs != 1:
            raise CheckFailed(f"the opened experiment has {epochs} epochs, expected 1")
        return self.example_name

    def _train(self) -> str:
        import torch

        controller = self.window.controller

        def on_finished(result: Any) -> None:
            self.result, self.finished = result, True

        controller.finished.connect(on_finished)
        self.window.actionTrain.trigger()  # the user's path: the Train action
        if not controller.running and not self.finished:
            raise CheckFailed("pressing Train did not start a run")
        started_on_worker = controller.running  # a QThread is running the trainer; the GUI thread waits below
        self.wait_until(lambda: self.finished, "training to finish")
        result = self.result
        if result is None:
            raise CheckFailed("the run ended without a result (the worker failed)")
        if result.diverged is not None:
            raise CheckFailed(f"training diverged: {result.diverged.message}")
        if result.stopped:
            raise CheckFailed("the run was stopped before its epoch ended")
        if len(result.history) != 1:
            raise CheckFailed(f"expected 1 epoch in the history, got {len(result.history)}")
        if controller.running:
            raise CheckFailed("the worker thread is still running after finished")
        loss = result.history.last("train_loss")
        if not math.isfinite(loss):
            raise CheckFailed(f"train loss is {loss}")
        self.app.processEvents()
        trainer = self.window.trainer
        where = "in a worker thread" if started_on_worker else "(thread already done when checked)"
        return (
            f"1 epoch, {trainer.step} steps {where} on {trainer.device}, train loss {loss:.4g} "
            f"(torch {torch.__version__})"
        )

    def _export_plot(self, path: Path) -> Path:
        from losslab.gui.export import export_plot

        self.app.processEvents()
        export_plot(self.window.loss_plot, path)
        return path

    def _export_csv(self, path: Path) -> Path:
        from losslab.gui.export import export_curves_csv

        curves = dict(self.window.loss_view.curves())
        metric = getattr(self.window, "metric_plot", None)
        if metric is not None and hasattr(metric, "curves"):
            curves.update(metric.curves())
        if not curves:
            raise CheckFailed("the loss plot has no curves after training")
        export_curves_csv(curves, path)
        return path

    def _close(self, tmp: Path) -> str:
        window = self.window
        if not window.close():
            raise CheckFailed("the window refused to close")
        self.app.processEvents()
        if window.controller.running:
            raise CheckFailed("the training thread is still running after close")
        window.deleteLater()
        self.window = None
        self.app.processEvents()
        note = "settings went to the temporary file" if self.settings_path.exists() else "no settings written"
        return note

    def cleanup(self) -> None:
        timer = getattr(self, "_dialog_timer", None)
        if timer is not None:
            timer.stop()
        if self.window is not None:  # a failed check left it open: close it without asking
            try:
                self.window.controller.stop(wait_ms=5000)
                self.window.state.mark_saved()
                self.window.close()
                self.window.deleteLater()
            except Exception:  # cleanup after a failure must not hide the failure
                pass
            self.window = None


def _hard_timeout(report: Report, timeout_s: float) -> None:
    report.say(f"FAIL  {report.current}: timed out after {timeout_s:.0f} s (set LOSSLAB_SELFTEST_TIMEOUT)")
    report.say("LossLab self-test FAILED")
    _save_report_if_no_console(report)
    os._exit(1)


def _console() -> TextIO | None:
    stream = sys.stdout
    if stream is None or getattr(stream, "name", "") == os.devnull:
        return None
    return stream


def _save_report_if_no_console(report: Report) -> Path | None:
    if report.stream is not None:
        return None
    path = Path(tempfile.gettempdir()) / REPORT_NAME
    try:
        path.write_text(report.text(), encoding="utf-8")
    except OSError:
        return None
    return path


def _show_result_dialog(report: Report, passed: bool, saved: Path | None) -> None:
    """No console (a windowed app started from a shortcut): show the result, closing by itself."""
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMessageBox

        app = QApplication.instance()
        if app is None or app.platformName() in ("offscreen", "minimal"):
            return  # nobody could see it
        title = "LossLab self-test passed" if passed else "LossLab self-test FAILED"
        box = QMessageBox(QMessageBox.Icon.Information if passed else QMessageBox.Icon.Critical, title, title)
        box.setDetailedText(report.text())
        if saved is not None:
            box.setInformativeText(f"The report is in {saved}")
        QTimer.singleShot(30_000, box.accept)
        box.exec()
    except Exception:
        pass


def run_self_test(stream: TextIO | None = None, timeout_s: float | None = None) -> int:
    """Run every check; 0 when all pass, 1 (with the failed check named) otherwise."""
    from losslab import __version__

    report = Report(stream if stream is not None else _console())
    timeout_s = _timeout_s() if timeout_s is None else timeout_s
    import losslab

    where = "frozen bundle" if getattr(sys, "frozen", False) else f"from {Path(losslab.__file__).parent}"
    report.say(
        f"LossLab {__version__} self-test ({where}): Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()} ({platform.machine()})"
    )
    watchdog = threading.Timer(timeout_s + 5.0, _hard_timeout, (report, timeout_s))  # if the event loop hangs
    watchdog.daemon = True
    watchdog.start()
    test = SelfTest(report, timeout_s)
    passed = False
    start = time.perf_counter()
    old_hooks = sys.excepthook, threading.excepthook
    try:
        with tempfile.TemporaryDirectory(prefix="losslab-selftest-") as tmp:
            try:
                test.run(Path(tmp))
                passed = True
            finally:
                test.cleanup()
    except CheckFailed as exc:
        report.say(f"FAIL  {exc}")
    except Exception as exc:  # a bug in the self-test itself still names where it happened
        report.say(f"FAIL  {report.current}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    finally:
        watchdog.cancel()
        sys.excepthook, threading.excepthook = old_hooks
    elapsed = time.perf_counter() - start
    report.say(f"LossLab self-test {'passed' if passed else 'FAILED'} in {elapsed:.1f} s")
    saved = _save_report_if_no_console(report)
    if report.stream is None:
        _show_result_dialog(report, passed, saved)
    return 0 if passed else 1


def main(argv: list[str] | None = None) -> int:
    return run_self_test()


if __name__ == "__main__":
    sys.exit(main())
