"""Light or dark: the desktop's scheme unless View > Theme says otherwise (remembered in QSettings).

``ThemeChoice`` owns the choice ("system", "light", "dark"), applies it to the application (the
widgets' palette) and to the plots' defaults (theme.apply_plot_theme), and emits ``changed(dark)``
whenever the scheme in effect changes: the user picked another, or the desktop switched while the
choice is "system". The window re-colours its plots from that signal.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QMenu, QWidget

from losslab.gui.theme import apply_plot_theme

SETTING = "view/theme"
CHOICES = (("system", "&System"), ("light", "&Light"), ("dark", "&Dark"))

# (role, light, dark): enough roles for Fusion and the palette(...) colours our style sheets use.
_ROLES = (
    (QPalette.ColorRole.Window, "#EFEFEF", "#2B2B2B"),
    (QPalette.ColorRole.WindowText, "#1E1E1E", "#DCDCDC"),
    # Dark Base a little lighter than Window: Fusion outlines check boxes in item views with a darker
    # Window colour, which vanished on a darker Base.
    (QPalette.ColorRole.Base, "#FFFFFF", "#333333"),
    (QPalette.ColorRole.AlternateBase, "#F3F3F3", "#3B3B3B"),
    (QPalette.ColorRole.ToolTipBase, "#FFFFDC", "#3C3C3C"),
    (QPalette.ColorRole.ToolTipText, "#1E1E1E", "#DCDCDC"),
    (QPalette.ColorRole.PlaceholderText, "#808080", "#8A8A8A"),
    (QPalette.ColorRole.Text, "#1E1E1E", "#DCDCDC"),
    (QPalette.ColorRole.Button, "#E6E6E6", "#3A3A3A"),
    (QPalette.ColorRole.ButtonText, "#1E1E1E", "#DCDCDC"),
    (QPalette.ColorRole.BrightText, "#D00000", "#FF6B6B"),
    (QPalette.ColorRole.Light, "#FFFFFF", "#4A4A4A"),
    (QPalette.ColorRole.Midlight, "#D8D8D8", "#404040"),
    (QPalette.ColorRole.Mid, "#B4B4B4", "#303030"),
    (QPalette.ColorRole.Dark, "#9A9A9A", "#202020"),
    (QPalette.ColorRole.Shadow, "#505050", "#101010"),
    (QPalette.ColorRole.Highlight, "#2A6FB8", "#3D7CC9"),
    (QPalette.ColorRole.HighlightedText, "#FFFFFF", "#FFFFFF"),
    (QPalette.ColorRole.Link, "#0B5CAD", "#6CB2FF"),
    (QPalette.ColorRole.LinkVisited, "#6A3DA8", "#C39BFF"),
)
_DISABLED = (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText)


def scheme_palette(dark: bool) -> QPalette:
    palette = QPalette()
    for role, light_color, dark_color in _ROLES:
        palette.setColor(role, QColor(dark_color if dark else light_color))
    for role in _DISABLED:
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7A7A7A" if dark else "#A0A0A0"))
    return palette


def system_is_dark() -> bool:
    """The desktop's scheme (Qt's colorScheme; where it is unknown, the platform palette's window colour)."""
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme != Qt.ColorScheme.Unknown:
        return scheme == Qt.ColorScheme.Dark
    return _platform_palette().color(QPalette.ColorRole.Window).lightness() < 128


_platform: QPalette | None = None


def _platform_palette() -> QPalette:
    """The palette the platform gave the application at start, before any choice replaced it (only
    consulted where the desktop does not say its scheme)."""
    global _platform
    if _platform is None:
        _platform = QPalette(QGuiApplication.palette())
    return _platform


def _restyle(root: QObject | None) -> None:
    """Style sheets resolve palette(...) colours once: set them again under ``root`` (the window) so
    they take the new palette (the lesson bar kept a white background in the dark scheme)."""
    if not isinstance(root, QWidget):
        return
    for widget in [root, *root.findChildren(QWidget)]:
        sheet = widget.styleSheet()
        if sheet and "palette(" in sheet:
            widget.setStyleSheet(sheet + " ")  # a different string: Qt skips an equal one
            widget.setStyleSheet(sheet)


class ThemeChoice(QObject):
    changed = Signal(bool)  # the scheme in effect: dark?

    def __init__(self, settings: QSettings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        stored = str(settings.value(SETTING, "system"))
        self.choice = stored if stored in dict(CHOICES) else "system"
        self.actions: dict[str, QAction] = {}
        _platform_palette()
        self.dark = self._effective()
        self._apply()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_scheme)

    def _effective(self) -> bool:
        return system_is_dark() if self.choice == "system" else self.choice == "dark"

    def _apply(self) -> None:
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            # "system": an empty palette gives the platform's back (and Qt follows it as the desktop
            # changes); a forced scheme sets ours.
            app.setPalette(QPalette() if self.choice == "system" else scheme_palette(self.dark))
        apply_plot_theme(self.dark)

    def set_choice(self, choice: str) -> None:
        """Use ``choice`` ("system", "light" or "dark") from now on and remember it."""
        if choice not in dict(CHOICES):
            raise ValueError(f"unknown theme {choice!r}: use one of {', '.join(c for c, _ in CHOICES)}")
        self.choice = choice
        self.settings.setValue(SETTING, choice)
        for name, action in self.actions.items():
            action.setChecked(name == choice)
        self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        dark = self._effective()
        if dark == self.dark and not force:
            return
        self.dark = dark
        self._apply()
        _restyle(self.parent())  # at start nothing is styled yet: only a switch needs it
        self.changed.emit(dark)

    @Slot()
    def _on_system_scheme(self, *_: object) -> None:
        if self.choice == "system":
            self._refresh()

    def add_menu(self, parent: QMenu) -> QMenu:
        """View > Theme: System / Light / Dark, one checked."""
        menu = parent.addMenu("&Theme")
        menu.setObjectName("themeMenu")
        group = QActionGroup(menu)
        for name, text in CHOICES:
            action = QAction(text, menu)
            action.setObjectName(f"actionTheme{name.capitalize()}")
            action.setCheckable(True)
            action.setChecked(name == self.choice)
            action.setStatusTip(
                "Follow the desktop's light or dark scheme" if name == "system" else f"Always {name}"
            )
            action.triggered.connect(lambda _checked=False, name=name: self.set_choice(name))
            group.addAction(action)
            menu.addAction(action)
            self.actions[name] = action
        return menu
