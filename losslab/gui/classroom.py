"""Classroom mode: a file's locked and hidden panels, the presenter zoom, and stepping by epochs.

* Locks follow the experiment (its ``classroom`` section, core/classroom.py): each time one is
  opened, the named sections' editors are disabled ("lock") or hidden ("hide"), the named tabs are
  hidden, and everything else is put back. View > Lift Classroom Locks frees them for the instructor.
* The presenter zoom (View > Presenter Zoom) scales every font of the window and the line width of
  every plot curve and axis, including curves made later (re-applied once a second while zoomed).
* Train > Step One Epoch runs the batches left in the current epoch, then stays paused.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QFont
from PySide6.QtWidgets import QApplication, QGroupBox, QStyle, QWidget

from losslab.core.classroom import SECTIONS

if TYPE_CHECKING:
    from losslab.gui.main_window import MainWindow

ZOOMS = (1.0, 1.25, 1.5, 2.0)
KEY_ZOOM = "classroom/zoom"
LOCKED_TIP = "Locked by this lesson (View > Lift Classroom Locks)"
# The group boxes of a panel that hold one section (by title); a section without one is its dock.
SECTION_BOXES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dataset": (("datasetPanel",), ()),
    "model": (("layerPanel", "discriminatorPanel"), ()),  # a GAN's discriminator is network too
    "loss": (("lossPanel",), ("Loss function",)),  # and the chosen loss's details box (section_widgets)
    "regularization": (("lossPanel",), ("Regularization",)),
    "optimizer": (("optimizerPanel",), ("Optimizer", "Learning-rate schedule")),
    "training": (("optimizerPanel",), ("Training",)),
}
_BASE_WIDTH, _ZOOM = "_losslab_base_width", "_losslab_zoom"


class ClassroomUI(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.lifted = False
        self.unknown_tabs: list[str] = []
        self._locked: list[QWidget] = []  # what the current file locked or hid, to put back
        self._hidden: list[QWidget] = []
        self.step_epoch_action = QAction("Step One &Epoch", window)
        self.step_epoch_action.setObjectName("actionStepEpoch")
        self.step_epoch_action.setShortcut("Ctrl+Shift+.")
        self.step_epoch_action.setStatusTip(
            "Run the rest of this epoch, then pause (the run stays inspectable)"
        )
        self.step_epoch_action.setIcon(window.style().standardIcon(QStyle.StandardPixmap.SP_ArrowForward))
        self.step_epoch_action.setToolTip("Run the rest of this epoch, then pause (Ctrl+Shift+.)")
        self.step_epoch_action.triggered.connect(window.run.step_epoch)
        self.lift_action = QAction("Lift Classroom &Locks", window)
        self.lift_action.setObjectName("actionLiftLocks")
        self.lift_action.setCheckable(True)
        self.lift_action.setStatusTip("Unlock and show the panels this experiment locks or hides")
        self.lift_action.toggled.connect(self._on_lift)
        self.zoom_actions: dict[float, QAction] = {}
        group = QActionGroup(window)
        for factor in ZOOMS:
            action = QAction(f"{factor:.0%}", window, checkable=True)
            action.setObjectName(f"actionZoom{int(factor * 100)}")
            action.triggered.connect(lambda checked=False, f=factor: self.set_zoom(f))
            group.addAction(action)
            self.zoom_actions[factor] = action
        self.zoom = 1.0
        self._base_font: QFont | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._scale_plots)
        window.state.changed.connect(self._on_state_changed)
        saved = window.settings.value(KEY_ZOOM, 1.0)
        try:
            start = float(saved)
        except (TypeError, ValueError):
            start = 1.0
        self.set_zoom(start if start in ZOOMS else 1.0)

    def add_menu(self, view_menu: Any) -> None:
        zoom = view_menu.addMenu("Presenter &Zoom")
        zoom.addActions(list(self.zoom_actions.values()))
        view_menu.addAction(self.lift_action)

    # -- locks ------------------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section == "all":
            self.lifted = False
            blocked = self.lift_action.blockSignals(True)
            self.lift_action.setChecked(False)
            self.lift_action.blockSignals(blocked)
            self.apply()

    @Slot(bool)
    def _on_lift(self, lifted: bool) -> None:
        self.lifted = lifted
        self.apply()

    def section_widgets(self, section: str) -> list[QWidget]:
        """The editors of one experiment section: its group boxes, or its whole panel(s)."""
        dock_names, titles = SECTION_BOXES[section]
        panels = [self.window.docks[name].widget() for name in dock_names if name in self.window.docks]
        if not titles:
            return panels
        boxes = [box for panel in panels for box in panel.findChildren(QGroupBox) if box.title() in titles]
        details = getattr(panels[0], "details", None) if panels else None  # titled after the chosen loss
        if section == "loss" and isinstance(details, QGroupBox):
            boxes.append(details)
        return boxes

    def apply(self) -> None:
        """Lock and hide what the experiment asks for; put back only what an earlier file locked or hid
        (a dock the user closed stays closed)."""
        classroom = {} if self.lifted else self.window.state.experiment.classroom
        lock, hide = set(classroom.get("lock", ())), set(classroom.get("hide", ()))
        for widget in self._locked:
            widget.setEnabled(True)
            widget.setToolTip("")
        for widget in self._hidden:
            widget.setVisible(True)
        self._locked, self._hidden = [], []
        for section in SECTIONS:
            dock_names, titles = SECTION_BOXES[section]
            if section in lock:
                for widget in self.section_widgets(section):
                    widget.setEnabled(False)
                    widget.setToolTip(LOCKED_TIP)
                    self._locked.append(widget)
            if section in hide:
                targets = (
                    self.section_widgets(section)
                    if titles
                    else [self.window.docks[n] for n in dock_names if n in self.window.docks]
                )
                for widget in targets:
                    if widget.isVisibleTo(self.window) or not titles:
                        widget.setVisible(False)
                        self._hidden.append(widget)
        tabs = set(classroom.get("hide_tabs", ()))
        views = self.window.views
        found = set()
        for i in range(views.count()):
            name = views.widget(i).objectName()
            hidden = name in tabs or name.removesuffix("View") in tabs
            if hidden:
                found.add(name if name in tabs else name.removesuffix("View"))
            views.setTabVisible(i, not hidden)
        self.unknown_tabs = sorted(tabs - found)
        if self.unknown_tabs and views.count() > 1:  # the extra tabs may not be built yet
            self.window.show_message(
                f"This file hides tabs this LossLab lacks: {', '.join(self.unknown_tabs)}", 8000
            )

    # -- presenter zoom ---------------------------------------------------------------------
    def set_zoom(self, factor: float) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        if self._base_font is None:
            self._base_font = QFont(app.font())
        self.zoom = factor
        self.zoom_actions[factor].setChecked(True)
        self.window.settings.setValue(KEY_ZOOM, factor)
        font = QFont(self._base_font)
        font.setPointSizeF(self._base_font.pointSizeF() * factor)
        app.setFont(font)
        self._scale_plots()
        if factor != 1.0:
            self._timer.start()
        else:
            self._timer.stop()

    @Slot()
    def _scale_plots(self) -> None:
        """Curves and axes of every plot in every window at the zoom's line width and tick size."""
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        for top in app.topLevelWidgets():
            for plot in top.findChildren(pg.PlotWidget):
                self._scale_plot_item(plot.getPlotItem())
            for layout in top.findChildren(pg.GraphicsLayoutWidget):
                for item in layout.ci.items:
                    if isinstance(item, pg.PlotItem):
                        self._scale_plot_item(item)

    def _scale_plot_item(self, item: pg.PlotItem) -> None:
        for curve in item.listDataItems():
            if isinstance(curve, pg.PlotDataItem) and curve.opts.get("pen") is not None:
                pen = pg.mkPen(curve.opts["pen"])
                if _scaled_width(curve, pen, self.zoom):
                    curve.setPen(pen)
            if isinstance(curve, pg.PlotDataItem) and curve.opts.get("symbol") is not None:
                size = _scaled(curve, "_losslab_symbol", float(curve.opts.get("symbolSize") or 0), self.zoom)
                if size is not None:
                    curve.setSymbolSize(size)
        font = QFont(QApplication.font())
        for name in ("left", "bottom", "right", "top"):
            axis = item.getAxis(name)
            if getattr(axis, _ZOOM, None) == self.zoom:
                continue  # re-laying out an axis every second would flicker
            setattr(axis, _ZOOM, self.zoom)
            axis.setTickFont(font)
            axis.label.setFont(font)


def _scaled(owner: Any, key: str, value: float, zoom: float) -> float | None:
    """``value`` (a symbol size) at ``zoom`` times its own size; None when it is that already. A value
    other than the one last applied was set by the plot since and is its new own size."""
    base, applied = getattr(owner, key, None), getattr(owner, key + "_zoom", 1.0)
    if base is None or not math.isclose(value, base * applied):
        base = value
    setattr(owner, key, base)
    setattr(owner, key + "_zoom", zoom)
    return None if math.isclose(value, base * zoom) else base * zoom


def _scaled_width(owner: Any, pen: Any, zoom: float) -> bool:
    """Set ``pen``'s width to the owner's own width times ``zoom``; True when it changed. A width
    other than the one last applied was set by the plot since (a fresh pen) and is its new own width."""
    base = getattr(owner, _BASE_WIDTH, None)
    applied = getattr(owner, _ZOOM, 1.0)
    width = pen.widthF() or 1.0  # 0 is Qt's one-pixel cosmetic pen
    if base is None or not math.isclose(width, base * applied):
        base = width
    setattr(owner, _BASE_WIDTH, base)
    setattr(owner, _ZOOM, zoom)
    if math.isclose(width, base * zoom):
        return False
    pen.setWidthF(base * zoom)
    return True
