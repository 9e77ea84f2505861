"""THE registry of extra views (tabs beside "Training"), and the host that feeds every view.

A view implements view_api.View (subclass view_api.ViewBase) and is built by
``factory(services)`` with the window's view_api.ViewServices. :class:`ViewHost` holds the tabs
in order (Training first, then VIEWS) and forwards each call of the View interface to every one
of them; the window calls nothing else on a view.

Adding a view (a new tab):

1. a module in plots/ (or its own package) with a class that subclasses view_api.ViewBase and
   overrides the View methods it needs; its ``__init__`` takes the ViewServices (keep what it uses,
   e.g. ``self.services = services``; read ``services.state`` / ``.trainer`` / ``.running``, edit
   through ``services.state.update``, report through ``services.show_message``);
2. long computations through background.TaskRunner (one task at a time, Cancel, progress, the
   result on the GUI thread); cancel it in ``reset`` if a new run makes its result stale;
3. one entry in VIEWS below: (tab title, objectName, factory). The factory imports the module when
   called, so views that need torch load after the window has painted
   (MainWindow(defer_views=True) and add_views()); the tab order is the list's order.

A dock panel that wants the run's events (a Runs panel) subclasses ViewBase too, is built by the
window with ``window.services`` in ``_build_docks`` and handed to ``window.host.attach(panel)``.

The main window hard-codes none of them; tests/gui/test_main_window.py checks that every tab is a
View in this order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QGraphicsView, QTabWidget

from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import EpochEnd, Finished, StepBatch
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer


@dataclass(frozen=True)
class ViewDef:
    title: str
    object_name: str
    factory: Callable[[ViewServices], ViewBase]


def _loss_inspector(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.loss_inspector import LossInspector

    return LossInspector(services)


def _samples(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.samples_view import SamplesView

    return SamplesView(services)


def _gradients(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.gradient_view import GradientView

    return GradientView(services)


def _landscape(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.landscape_view import LandscapeView

    return LandscapeView(services)


def _lr_finder(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.lr_finder_view import LRFinderView

    return LRFinderView(services)


def _network(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.network_view import NetworkView

    return NetworkView(services)


def _images(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.image_views import ImagesView

    return ImagesView(services)


def _gan(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.gan_view import GanView

    return GanView(services)


def _calibration(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.calibration_view import CalibrationView

    return CalibrationView(services)


def _cartography(services: ViewServices) -> ViewBase:
    from losslab.gui.plots.cartography_view import CartographyView

    return CartographyView(services)


VIEWS: list[ViewDef] = [
    ViewDef("Loss inspector", "lossInspector", _loss_inspector),
    ViewDef("Samples", "samplesView", _samples),
    ViewDef("Gradients", "gradientView", _gradients),
    ViewDef("Landscape", "landscapeView", _landscape),
    ViewDef("LR finder", "lrFinderView", _lr_finder),
    ViewDef("Network", "networkView", _network),
    ViewDef("Cartography", "cartographyView", _cartography),
    ViewDef("GAN", "ganView", _gan),
    ViewDef("Calibration", "calibrationView", _calibration),
    ViewDef("Images", "imagesView", _images),
]


class ViewHost:
    """The central area's tabs: adds views and forwards the View interface to each, in tab order,
    then to the attached views (a View shown elsewhere, e.g. a dock panel that follows the runs)."""

    def __init__(self, tabs: QTabWidget) -> None:
        self.tabs = tabs
        self._views: list[ViewBase] = []
        self._attached: list[ViewBase] = []

    def add(self, view: ViewBase, title: str, object_name: str) -> ViewBase:
        view.setObjectName(object_name)
        self.tabs.addTab(view, title)
        self._views.append(view)
        return view

    def attach(self, view: ViewBase) -> ViewBase:
        """Feed ``view`` the View interface too, without making it a tab (the caller places it)."""
        self._attached.append(view)
        return view

    def add_registered(self, services: ViewServices) -> list[ViewBase]:
        """Build every view of VIEWS as a tab; returns the new views."""
        return [self.add(d.factory(services), d.title, d.object_name) for d in VIEWS]

    def add_registered_in_turns(
        self,
        services: ViewServices,
        each: Callable[[ViewBase], None],
        done: Callable[[], None],
        hold: Callable[[], None] = lambda: None,
    ) -> None:
        """As ``add_registered``, a view per two turns of the event loop: one builds it, the next
        calls ``each(view)`` (the window fills it with the dataset); ``done()`` follows the last. A tab
        with plots takes ~50 ms to build: ten at once froze the window for a second at start-up.
        Each turn first calls ``hold()``: the window's holds a training pressed early until the turn
        is painted (built, filled and painted while training, one turn took over 100 ms)."""
        from PySide6.QtCore import QTimer

        pending = list(VIEWS)

        # 10 ms apart: a processEvents() meanwhile runs only the turn that is due, not the whole chain
        def build() -> None:
            d = pending.pop(0)
            hold()
            view = self.add(d.factory(services), d.title, d.object_name)
            QTimer.singleShot(10, lambda: fill(view))

        def fill(view: ViewBase) -> None:
            hold()
            each(view)
            QTimer.singleShot(10, build if pending else done)

        QTimer.singleShot(10, build)

    @property
    def tab_views(self) -> list[ViewBase]:
        return list(self._views)

    def __iter__(self) -> Iterator[ViewBase]:
        return iter([*self._views, *self._attached])

    # -- the View interface, to every view ----------------------------------------------------
    def reset(self, dataset: Dataset) -> None:
        for view in self:
            view.reset(dataset)

    def set_trainer(self, trainer: Trainer | None) -> None:
        for view in self:
            view.set_trainer(trainer)

    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return [probe for view in self for probe in view.make_probes(trainer)]

    def on_steps(self, batch: StepBatch) -> None:
        for view in self:
            view.on_steps(batch)

    def on_epoch(self, event: EpochEnd) -> None:
        for view in self:
            view.on_epoch(event)

    def on_predictions(self, payload: Any) -> None:
        for view in self:
            view.on_predictions(payload)

    def on_event(self, event: object) -> None:
        for view in self:
            view.on_event(event)

    def on_finished(self, result: Finished | None) -> None:
        for view in self:
            view.on_finished(result)

    def redraw(self) -> None:
        """Every attached view and only the tab on show: a frame paid ~40 ms for all tabs, and a tab
        brought forward draws at the next frame (its data came meanwhile through on_steps etc.)."""
        current = self.tabs.currentWidget()
        drawn = [view for view in self._views if view is current] + self._attached
        for view in drawn:
            view.redraw()
        # A plot's scene hands its changes to its view in a queued call of its own, so each plot
        # came to be painted in an update of its own, one after another, after the frame: the
        # training thread, held for the frame's paint, went on after the first one and shared the
        # interpreter with the rest (~25 ms a frame). Handing them over now lets the window paint
        # them all while the training is held.
        for view in drawn:
            for graphics in view.findChildren(QGraphicsView):
                QCoreApplication.sendPostedEvents(graphics.scene(), QEvent.Type.MetaCall)

    def apply_theme(self, dark: bool) -> None:
        for view in self:
            view.apply_theme(dark)
