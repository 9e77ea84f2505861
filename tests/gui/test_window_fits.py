"""The window fits a 1280x720 projector with every dock and tab: no part forces it wider or taller."""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QWidget

PROJECTOR = (1280, 720)


def test_the_window_fits_1280x720_with_every_tab(window, qtbot) -> None:
    window.resize(*PROJECTOR)
    window.show()
    qtbot.waitExposed(window)
    tabs = window.findChild(QTabWidget, "views")
    assert tabs is not None and tabs.count() >= 6
    hint = window.minimumSizeHint()
    too_wide = {
        tabs.widget(i).objectName(): tabs.widget(i).minimumSizeHint().width()
        for i in range(tabs.count())
        if tabs.widget(i).minimumSizeHint().width() > 660
    }
    assert hint.width() <= PROJECTOR[0], f"the window needs {hint.width()} px; too wide: {too_wide}"
    assert hint.height() <= PROJECTOR[1], f"the window needs {hint.height()} px of height"
    assert window.width() <= PROJECTOR[0]


def test_each_tab_leaves_room_for_both_docks(window) -> None:
    """Two 300-px docks leave a 1280-px screen about 660 px for the tabs."""
    tabs = window.findChild(QTabWidget, "views")
    for i in range(tabs.count()):
        view: QWidget = tabs.widget(i)
        assert view.minimumSizeHint().width() <= 660, (tabs.tabText(i), view.minimumSizeHint().width())


def test_the_task_view_keeps_its_share_of_the_training_tab(window, qtbot) -> None:
    """At 1280x720 the decision surface must not be squeezed to a strip by the loss plot's controls."""
    from PySide6.QtWidgets import QSplitter

    window.resize(*PROJECTOR)
    window.show()
    qtbot.waitExposed(window)
    sizes = window.findChild(QSplitter, "trainingSplitter").sizes()
    assert sizes[0] >= 0.4 * sum(sizes), sizes


def test_the_window_class_is_importable_from_the_package() -> None:
    import losslab.gui
    from losslab.gui.main_window import MainWindow

    assert losslab.gui.MainWindow is MainWindow
