"""Light and dark: View > Theme overrides the desktop's scheme, is remembered, and the widgets and
plots follow; with "System" the window follows the desktop when it switches."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from losslab.gui.theme import palette_colors


def _window_colour() -> int:
    return QApplication.palette().color(QPalette.ColorRole.Window).lightness()


def _plot_background(window) -> str:
    return window.loss_plot.backgroundBrush().color().name().upper()


@pytest.fixture
def themed(window):
    yield window
    window.theme.set_choice("system")  # the application is shared with the next tests


def test_view_menu_theme_choice_recolours_widgets_and_plots_and_is_remembered(qtbot, themed, settings):
    window = themed
    menu = window.menuBar().findChild(type(window.recent_menu), "themeMenu")
    assert [a.text().replace("&", "") for a in menu.actions()] == ["System", "Light", "Dark"]
    menu.actions()[2].trigger()
    assert window.theme.dark and _window_colour() < 100
    assert _plot_background(window) == palette_colors(True)["background"].upper()
    assert settings.value("view/theme") == "dark"
    window.theme.actions["light"].trigger()
    assert not window.theme.dark and _window_colour() > 180
    assert _plot_background(window) == palette_colors(False)["background"].upper()
    assert [n for n, a in window.theme.actions.items() if a.isChecked()] == ["light"]


def test_a_remembered_choice_applies_at_start(qtbot, settings, dialogs):
    from losslab.gui.main_window import MainWindow

    settings.setValue("view/theme", "dark")
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    try:
        assert window.theme.dark and window.theme.actions["dark"].isChecked()
        assert _plot_background(window) == palette_colors(True)["background"].upper()
    finally:
        window.theme.set_choice("system")


def test_system_choice_follows_the_desktop(qtbot, themed, monkeypatch):
    window = themed
    assert window.theme.choice == "system" and not window.theme.dark
    # The offscreen platform cannot switch schemes: fake the desktop, then send Qt's signal.
    monkeypatch.setattr("losslab.gui.theme_choice.system_is_dark", lambda: True)
    with qtbot.waitSignal(window.theme.changed, timeout=2000) as blocker:
        QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert blocker.args == [True]
    assert _plot_background(window) == palette_colors(True)["background"].upper()


def test_a_plot_with_data_recolours_its_legend_and_keeps_its_tick_values(qtbot):
    import numpy as np

    from losslab.core.events import StepBatch
    from losslab.gui.plots.loss_plot import LossView
    from losslab.gui.theme import apply_plot_theme

    view = LossView()
    qtbot.addWidget(view)
    view.resize(420, 320)
    view.show()
    values = np.array([0.8, 0.6, 0.5, 0.4])
    view.add_steps(StepBatch(0, np.arange(1, 5), values, values, None, None, 0.01, 0.0, 100.0))
    view.redraw()
    qtbot.wait(20)
    try:
        apply_plot_theme(True)
        view.apply_theme()
        axis = view.plot_item.getAxis("left")
        assert axis.autoSIPrefixScale == 1.0  # a re-style once labelled 0.8 as 800
        fg = palette_colors(True)["foreground"].lower()
        assert all(fg in label.item.toHtml().lower() for _, label in view.legend.items)
    finally:
        apply_plot_theme(False)


def test_an_images_tab_made_under_the_dark_scheme_draws_its_confusion_matrix_dark(qtbot):
    from PySide6.QtGui import QColor

    from losslab.core.data import make_dataset
    from losslab.gui.plots.image_views import ClassificationPage
    from losslab.gui.theme import apply_plot_theme

    try:
        apply_plot_theme(True)
        page = ClassificationPage()  # no theme change follows: it must start from the scheme in use
        qtbot.addWidget(page)
        page.set_dataset(make_dataset({"kind": "shapes", "n_samples": 80}))
        page.show_predictions(None)
        off_diagonal = page.confusion.item(0, 1).background().color()
        assert off_diagonal == QColor(palette_colors(True)["background"])
    finally:
        apply_plot_theme(False)
