"""Start-up: process start -> first painted window -> ready to train (torch imported), and peak memory.

``losslab bench`` runs this module as a child with ``LOSSLAB_BENCH_T0`` set to its own ``time.time()``
taken just before starting the process, so interpreter start-up counts. The child runs the real
``losslab.gui.app.main`` (which shows the window before importing torch) with hooks installed
from outside: an application event filter notes the window's first paint, a 10 ms poll notes when
the engine (torch, imported and warmed on a background thread) is ready, and then the moons example
is opened and, 50 ms later (a person opening a file and then pressing Train), trained once; peak
memory (ru_maxrss) is read after it. A 5 ms timer measures how late the GUI thread answers from the
first paint to the end of that training, and the file opening's and Train press's own times are noted.
Settings go to a temporary folder, never the user's. Run as
``python -m losslab.bench.startup RESULT.json EXAMPLE.losslab`` (or ``--torch-only RESULT.json`` for the
memory of torch alone).
"""

from __future__ import annotations

import time

T_IMPORTED = time.time()  # before anything heavy: nearly the moment the interpreter ran this file

import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

TIMEOUT_S = 120.0


def peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


class TorchImportWatch:
    """A meta-path finder that only notes where in LossLab ``import torch`` first came from."""

    def __init__(self) -> None:
        self.importer: str | None = None
        self.started: float | None = None

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" and self.importer is None:
            import traceback

            self.started = time.time()
            ours = [
                f
                for f in traceback.extract_stack()
                if "losslab" in f.filename and "bench" not in f.filename and f.name != "<module>"
            ]
            self.importer = " <- ".join(f"{Path(f.filename).name}:{f.name}" for f in reversed(ours[-5:]))
        return None  # the normal finders do the import


def run(result_path: Path, example: Path) -> int:
    t0 = float(os.environ.get("LOSSLAB_BENCH_T0", T_IMPORTED))
    marks: dict[str, Any] = {"python_started_s": T_IMPORTED - t0}
    watch = TorchImportWatch()
    sys.meta_path.insert(0, watch)

    def mark(name: str) -> None:
        marks[name] = time.time() - t0
        marks[name.removesuffix("_s") + "_peak_rss_mb"] = peak_rss_mb()
        if "torch" in sys.modules and "torch_loaded_by" not in marks:
            marks["torch_loaded_by"] = name  # the first mark reached with torch already imported

    from PySide6.QtCore import QEvent, QObject, QSettings, QTimer

    # The user's settings are never touched: QSettings() writes under a temporary folder.
    settings_dir = tempfile.mkdtemp(prefix="losslab-bench-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)

    from losslab.gui import app as gui_app

    app = gui_app.create_app()

    def window() -> Any:
        from losslab.gui.main_window import MainWindow

        return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))

    def finish() -> None:
        mark("trained_s")
        beat.stop()
        ordered = sorted(late)
        marks["gui_late_max_ms"] = ordered[-1] if ordered else math.nan
        marks["gui_late_p99_ms"] = ordered[int(0.99 * (len(ordered) - 1))] if ordered else math.nan
        marks["peak_rss_mb"] = peak_rss_mb()
        marks["steps"] = window().trainer.step
        marks["torch_imported_from"] = watch.importer
        if watch.started is not None:
            marks["torch_import_started_s"] = watch.started - t0
        result_path.write_text(json.dumps(marks), encoding="utf-8")
        window().close()  # the app quits with its last window

    def train() -> None:
        mark("ready_s")
        w = window()
        t = time.perf_counter()
        if not w.open_file(example):
            raise RuntimeError(f"cannot open {example}")
        marks["open_file_ms"] = 1000 * (time.perf_counter() - t)
        w.controller.finished.connect(lambda _result: QTimer.singleShot(0, finish))
        QTimer.singleShot(50, press)  # a person opens the file, then presses Train: two turns

    def press() -> None:
        t = time.perf_counter()
        window().train()  # the Train press: how long the GUI thread is held by it
        marks["train_press_ms"] = 1000 * (time.perf_counter() - t)

    poll = QTimer()
    poll.setInterval(10)

    def check_torch() -> None:
        from losslab.gui.background import engine

        warming = engine()
        if warming is None or warming.is_ready:  # torch imported and warmed on the engine's thread
            poll.stop()
            marks["engine_s"] = warming.seconds if warming is not None else math.nan
            train()

    # GUI-thread lateness from the first paint to the end of the first training (5 ms timer).
    beat, late, last = QTimer(), [], [0.0]
    beat.setInterval(5)

    def on_beat() -> None:
        now = time.perf_counter()
        if last[0]:
            late.append(max(0.0, 1000 * (now - last[0]) - 5))
            if late[-1] >= max(late):
                marks["gui_late_max_at_s"] = time.time() - t0  # when the longest wait ended
        last[0] = now

    beat.timeout.connect(on_beat)

    poll.timeout.connect(check_torch)

    class FirstPaint(QObject):
        def eventFilter(self, obj: Any, event: Any) -> bool:
            kind = event.type()
            if kind in (QEvent.Type.Show, QEvent.Type.Paint) and "losslab.gui.main_window" in sys.modules:
                from losslab.gui.main_window import MainWindow

                if isinstance(obj, MainWindow) and kind == QEvent.Type.Show:
                    mark("window_shown_s")
                elif (
                    kind == QEvent.Type.Paint
                    and hasattr(obj, "window")
                    and isinstance(obj.window(), MainWindow)
                ):
                    app.removeEventFilter(self)
                    # The whole first paint pass is done when the event loop turns again.
                    QTimer.singleShot(0, lambda: (mark("first_paint_s"), poll.start(), beat.start()))
            return False

    first_paint = FirstPaint()
    app.installEventFilter(first_paint)
    mark("qt_app_s")
    return gui_app.main([])


def torch_baseline(result_path: Path) -> int:
    """Peak memory of a bare ``import torch``, then with one optimizer step: what any torch program pays."""
    import torch

    marks = {"torch_only_peak_rss_mb": peak_rss_mb()}
    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.Adam(layer.parameters(), fused=True)  # imports torch._dynamo (and sympy)
    layer(torch.zeros(4, 2)).sum().backward()
    optimizer.step()
    marks["torch_optimizer_peak_rss_mb"] = peak_rss_mb()
    result_path.write_text(json.dumps(marks), encoding="utf-8")
    return 0


def main(argv: list[str]) -> int:
    if argv[0] == "--torch-only":
        return torch_baseline(Path(argv[1]))

    def bail() -> None:
        print(f"losslab bench: start-up measurement hung for {TIMEOUT_S:.0f} s", file=sys.stderr, flush=True)
        os._exit(3)

    timer = threading.Timer(TIMEOUT_S, bail)
    timer.daemon = True
    timer.start()
    return run(Path(argv[0]), Path(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
