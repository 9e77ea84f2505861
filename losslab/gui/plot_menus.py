"""pyqtgraph's right-click menus are deleted by Qt with the plot they belong to, never by Python's
garbage collector.

A ViewBox and a PlotItem build their context menus as parentless QMenus (windows of their own)
that only a Python attribute holds. When Qt deletes a plot, those menus live on in a reference
cycle until the cyclic collector frees them, in an order of its choosing, widget by widget: in the
GUI tests this crashed the process (SIGSEGV in QWidget::~QWidget inside gc.collect, on CI). So
each menu is handed to Qt's deleteLater the moment its item is destroyed: Qt deletes the menu and
its children in its own order, and the collector later frees only wrappers whose objects are gone.

A ViewBox's menu is also built only when first asked for (a right click, ``getMenu``): building
it was a fifth of a plot's construction, ~2 ms each for ~50 plots, paid by the GUI thread while
the first training ran (#17).
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

# The parentless widgets each item class makes in __init__ and keeps in an attribute (a ViewBox's
# menu is made later, by getMenu, which ties it there).
MENU_ATTRIBUTES: dict[type, tuple[str, ...]] = {
    pg.PlotItem: ("ctrlMenu", "ctrlWidget"),
}


def tie_menus_to(item: Any, names: tuple[str, ...]) -> None:
    """Delete the item's parentless widgets ``names`` when Qt destroys the item."""
    for name in names:
        widget = getattr(item, name, None)
        if isinstance(widget, QWidget) and widget.parent() is None:
            item.destroyed.connect(widget.deleteLater)  # a Qt connection: no Python reference cycle


def _lazy_view_box_menus() -> None:
    """ViewBoxes build their menu on first use instead of in __init__ (see the module's docstring)."""
    from pyqtgraph.graphicsItems.ViewBox.ViewBoxMenu import ViewBoxMenu

    vb = pg.ViewBox
    if getattr(vb, "_lazy_menu", False):
        return
    original_init, original_apply = vb.__init__, vb._applyMenuEnabled

    def __init__(self: Any, *args: Any, enableMenu: bool = True, **kwargs: Any) -> None:
        original_init(self, *args, enableMenu=False, **kwargs)
        self.state["enableMenu"] = enableMenu  # wanted, built by getMenu

    def getMenu(self: Any, ev: Any = None) -> Any:
        if self.menu is None and self.menuEnabled():
            self.menu = ViewBoxMenu(self)
            self.updateViewLists()  # the link-axis lists, as pyqtgraph fills them after building
            tie_menus_to(self, ("menu",))
        return self.menu

    def getContextMenus(self: Any, event: Any) -> list[Any]:
        menu = self.getMenu(event) if self.menuEnabled() else None
        return menu.actions() if menu is not None else []

    def _applyMenuEnabled(self: Any) -> None:
        if self.menu is not None or not self.menuEnabled():  # enabling waits for the first use
            original_apply(self)

    vb.__init__ = __init__  # type: ignore[method-assign]
    vb.getMenu = getMenu  # type: ignore[method-assign]
    vb.getContextMenus = getContextMenus  # type: ignore[method-assign]
    vb._applyMenuEnabled = _applyMenuEnabled  # type: ignore[method-assign]
    vb._lazy_menu = True  # type: ignore[attr-defined]


def install() -> None:
    """Wrap the item classes' __init__ once per process (idempotent)."""
    _lazy_view_box_menus()
    for cls, names in MENU_ATTRIBUTES.items():
        original = cls.__init__
        if getattr(original, "_menus_tied", False):
            continue

        def __init__(
            self: Any, *args: Any, _original: Any = original, _names: tuple[str, ...] = names, **kwargs: Any
        ) -> None:
            _original(self, *args, **kwargs)
            tie_menus_to(self, _names)

        __init__._menus_tied = True  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[method-assign]


install()
