"""QApplication set-up and the `losslab` window entry point.

The window is shown before torch is imported (torch takes ~1.8 s to import); torch then loads on a
background thread (gui/background.py's Engine) while the user looks at the window, which says
"Starting engine…" meanwhile. The tabs that need torch, a file given on the command line and a
Train pressed early all wait for the engine, never the GUI thread.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

APP_NAME = "LossLab"
ORG_NAME = "LossLab"


def _ensure_streams() -> None:
    # A frozen windowed app has no stdout/stderr; anything that prints would raise.
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def _show_unexpected(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """Last-resort handler: an unexpected error becomes a dialog, and the app keeps running."""
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    print(details, file=sys.stderr)
    from PySide6.QtWidgets import QApplication, QMessageBox

    if QApplication.instance() is None or threading.current_thread() is not threading.main_thread():
        return
    box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", f"{exc_type.__name__}: {exc}")
    box.setInformativeText("LossLab kept running; your experiment is still open. Please report this.")
    box.setDetailedText(details)
    box.exec()


def create_app(argv: list[str] | None = None):  # -> QApplication
    from PySide6.QtWidgets import QApplication

    from losslab.gui.pyside_imports import lighten_import_check

    lighten_import_check()  # before torch's ~1,100 modules are imported (44 MB, see there)
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationDisplayName(APP_NAME)
    from losslab.gui.gc_guard import collect_on_gui_thread

    collect_on_gui_thread(app)  # a Qt object freed by gc on a worker thread deadlocks or crashes
    return app


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    _ensure_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    from losslab.gui.display_check import display_problem

    problem = display_problem()  # Qt would abort with a cryptic message instead
    if problem is not None:
        print(f"losslab: {problem}", file=sys.stderr)
        return 2
    app = create_app()
    sys.excepthook = _show_unexpected
    threading.excepthook = lambda args: _show_unexpected(args.exc_type, args.exc_value, args.exc_traceback)

    from PySide6.QtCore import QTimer

    from losslab.gui.background import start_engine
    from losslab.gui.main_window import MainWindow

    window = MainWindow(defer_views=True)
    window.show()
    # Paint now; torch loads behind the window, and what needs it waits for it there.
    app.processEvents()
    engine = start_engine()
    # In the status bar's device label: a temporary message is cleared by any status tip.
    device = window.status_labels["device"]
    idle_text = device.text()
    device.setText("device: starting engine…")
    device.setToolTip("torch is loading in the background; Train waits for it")
    engine.when_ready(lambda: window.add_views(in_turns=True))
    files = [a for a in argv if not a.startswith("-")]
    if files:
        engine.when_ready(lambda: window.open_file(Path(files[0])))

    def engine_ready() -> None:
        if device.text() == "device: starting engine…":  # a run may have named its device already
            device.setText(idle_text)
        device.setToolTip("")

    engine.when_ready(engine_ready)
    if os.environ.get("LOSSLAB_QUIT_AFTER_MS"):  # used by tests and screenshots
        QTimer.singleShot(int(os.environ["LOSSLAB_QUIT_AFTER_MS"]), window.close)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
