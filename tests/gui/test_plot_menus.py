"""No live Qt window is left for Python's cyclic garbage collector to delete: it frees objects in an
order of its own, and freeing pyqtgraph's parentless context menus that way crashed the GUI tests
(SIGSEGV in QWidget::~QWidget inside gc.collect)."""

from __future__ import annotations

import gc

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QSettings
from PySide6.QtWidgets import QWidget

import losslab.gui.plot_menus  # noqa: F401  (what the window's plots import through gui.theme)


def _flush_deletes() -> None:
    for _ in range(3):  # a deleted item posts its menus' deleteLater: flush until nothing is left
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _live_python_owned_widgets_in_garbage() -> list[str]:
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
    finally:
        gc.set_debug(0)
    found = [
        type(o).__name__
        for o in gc.garbage
        if isinstance(o, QWidget) and shiboken6.isValid(o) and shiboken6.ownedByPython(o)
    ]
    gc.garbage.clear()
    return found


def test_a_deleted_plot_takes_its_context_menus_with_it(qapp):
    plot = pg.PlotWidget()
    layout = pg.GraphicsLayoutWidget()
    item = layout.addPlot()
    menus = [plot.getPlotItem().ctrlMenu, plot.getPlotItem().getViewBox().getMenu(None)]
    menus += [item.ctrlMenu, item.getViewBox().getMenu(None)]
    assert all(shiboken6.isValid(m) and m.parent() is None for m in menus)
    plot.deleteLater()
    layout.deleteLater()
    _flush_deletes()
    assert [shiboken6.isValid(m) for m in menus] == [False] * 4


def test_a_closed_window_leaves_no_live_widget_to_the_garbage_collector(qapp, tmp_path, monkeypatch):
    from losslab.gui.main_window import MainWindow

    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path))
    _live_python_owned_widgets_in_garbage()  # what earlier tests left is not this test's business
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    win.show()
    QCoreApplication.processEvents()
    win.state.mark_saved()
    win.close()
    win.deleteLater()
    del win
    _flush_deletes()
    assert _live_python_owned_widgets_in_garbage() == []


def test_a_view_box_builds_its_menu_only_when_first_asked_for(qapp):
    """Building every ViewBox's menu up front was a fifth of a plot's construction (#17)."""
    plot = pg.PlotWidget()
    vb = plot.getPlotItem().getViewBox()
    assert vb.menu is None and vb.menuEnabled()
    menu = vb.getMenu(None)  # a right click asks for it so
    assert menu is vb.menu and "View All" in [a.text() for a in menu.actions()]
    assert vb.getContextMenus(None) == menu.actions()
    plot.getPlotItem().setMenuEnabled(False)
    assert vb.menu is None and vb.getContextMenus(None) == []
    plot.getPlotItem().setMenuEnabled(True)
    assert vb.getMenu(None) is not None
    plot.deleteLater()
    _flush_deletes()
