import gc

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from losslab.gui.gc_guard import collect_on_gui_thread


@pytest.fixture(scope="package", autouse=True)
def _gc_on_gui_thread(qapp):
    """As in the app (create_app): garbage is collected on the GUI thread only, while these run."""
    guard = collect_on_gui_thread(qapp)
    yield guard
    guard.remove()


@pytest.fixture(autouse=True)
def _widgets_live_until_teardown(monkeypatch):
    """Widgets given to qtbot live until the test's teardown, and are then closed and deleted by Qt.

    qtbot.addWidget keeps only a weak reference, so a panel a test shows was garbage (a reference
    cycle) the moment the test returned, still on screen, and the collector destroyed it in the
    middle of pytest-qt's event processing (SIGSEGV in QWidget::~QWidget, CI). Closing uses Qt's own
    close (the close event), not pyqtgraph's GraphicsView.close, which tears the scene down by hand
    and crashed in setViewport(None) once the views lived that long. The test's garbage is then
    freed at a quiet point, after its widgets are gone."""
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QWidget
    from pytestqt.qtbot import QtBot

    held = []

    def add_and_hold(self, widget, *, before_close_func=None):
        held.append((widget, before_close_func))

    monkeypatch.setattr(QtBot, "addWidget", add_and_hold)
    yield
    for widget, before_close in reversed(held):
        if shiboken6.isValid(widget):
            if before_close is not None:
                before_close(widget)
            QWidget.close(widget)
            widget.deleteLater()
    for _ in range(3):  # deleting an item can post its menus' deleteLater (gui/plot_menus.py)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    held.clear()
    gc.collect()


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def dialogs(monkeypatch):
    """Records modal message boxes instead of blocking on them; answers questions with `answer`."""
    seen = []

    class Recorder:
        answer = QMessageBox.StandardButton.Yes

    def record(kind):
        def show(parent, title, text, *args, **kwargs):
            seen.append((kind, title, text))
            return Recorder.answer if kind == "question" else QMessageBox.StandardButton.Ok

        return show

    for kind in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(record(kind)))
    monkeypatch.setattr(
        QMessageBox, "exec", lambda self: seen.append(("exec", self.windowTitle(), self.text()))
    )
    Recorder.seen = seen
    return Recorder


@pytest.fixture
def window(qtbot, settings, dialogs):
    from losslab.gui.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.state.mark_saved()
    win.controller.stop()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A history of this test's own (the session's shared one holds other tests' runs)."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(folder))
    return folder
