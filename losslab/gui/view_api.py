"""What a view is: the tabs of the central area ("Training" and the registered ones in views.py).

A view is a QWidget that implements :class:`View`. It is built by its factory with one
:class:`ViewServices` argument, the only part of the window it may use, and the window then calls
exactly these methods, on the GUI thread, on every view in tab order (Training first), then on the
views attached without a tab (views.ViewHost.attach: a dock panel that follows the runs):

========================  =====================================================================
``reset(dataset)``        new data, a new experiment or fresh weights: clear everything
``set_trainer(trainer)``  the trainer in use, None after a reset (read it on the GUI thread only)
``make_probes(trainer)``  a new trainer is about to run: the core Probes to attach to it
``on_steps(batch)``       a StepBatch arrived (the steps since the last frame, merged)
``on_epoch(event)``       an EpochEnd arrived
``on_predictions(p)``     the task view's predictions, computed on the training thread
``on_event(event)``       what a probe found (a core Probe's event, e.g. PerSampleLosses)
``on_finished(result)``   the run's thread ended (its Finished; None after a failure)
``redraw()``              once per frame (pacing.py): redraw only what changed, only when visible
``apply_theme(dark)``     the light/dark scheme changed (colours: theme.palette_colors)
========================  =====================================================================

:class:`ViewBase` implements every method as a no-op: a view subclasses it and overrides what it
needs. :class:`DrawnWhenDue` adds the usual frame lifecycle: draw only what changed, only when
shown. A view never reaches into the window, its controller or another view; what it needs is in
:class:`ViewServices`. Long computations go through ``background.TaskRunner``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QWidget

from losslab.gui.state import ExperimentState

if TYPE_CHECKING:  # core.trainer imports torch, which loads after the window is up
    from losslab.core.data import Dataset
    from losslab.core.events import EpochEnd, Finished, StepBatch
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer
    from losslab.gui.plots.task_view import TaskView


@runtime_checkable
class View(Protocol):
    """What the window calls on every view (see the module docstring for when)."""

    def reset(self, dataset: Dataset) -> None: ...
    def set_trainer(self, trainer: Trainer | None) -> None: ...
    def make_probes(self, trainer: Trainer) -> list[Probe]: ...
    def on_steps(self, batch: StepBatch) -> None: ...
    def on_epoch(self, event: EpochEnd) -> None: ...
    def on_predictions(self, payload: Any) -> None: ...
    def on_event(self, event: object) -> None: ...
    def on_finished(self, result: Finished | None) -> None: ...
    def redraw(self) -> None: ...
    def apply_theme(self, dark: bool) -> None: ...


class ViewBase(QWidget):
    """A :class:`View` that ignores everything: subclass it and override what the view needs."""

    def reset(self, dataset: Dataset) -> None:
        pass

    def set_trainer(self, trainer: Trainer | None) -> None:
        pass

    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return []

    def on_steps(self, batch: StepBatch) -> None:
        pass

    def on_epoch(self, event: EpochEnd) -> None:
        pass

    def on_predictions(self, payload: Any) -> None:
        pass

    def on_event(self, event: object) -> None:
        pass

    def on_finished(self, result: Finished | None) -> None:
        pass

    def redraw(self) -> None:
        pass

    def apply_theme(self, dark: bool) -> None:
        pass


class ViewServices:
    """The part of the window a view may use; the window builds one and passes it to every factory.

    - ``state``: the ExperimentState (read ``experiment`` / ``dataset``; edit through ``update``,
      which asks before it stops a run, like a panel's edit)
    - ``trainer``: the trainer in use or None (read-only, GUI thread)
    - ``running``: whether a run's thread is going (paused included)
    - ``show_message(text, ms)``: a line in the status bar
    - ``training_task_view``: the Training tab's task view, which the Samples view links to
      (highlighted samples, points by loss); None until the Training tab exists
    """

    def __init__(
        self,
        state: ExperimentState,
        trainer: Callable[[], Trainer | None] = lambda: None,
        running: Callable[[], bool] = lambda: False,
        show_message: Callable[[str, int], None] = lambda text, ms: None,
    ) -> None:
        self.state = state
        self._trainer = trainer
        self._running = running
        self._show_message = show_message
        self.training_task_view: TaskView | None = None

    @property
    def trainer(self) -> Trainer | None:
        return self._trainer()

    @property
    def running(self) -> bool:
        return self._running()

    def show_message(self, text: str, ms: int = 6000) -> None:
        self._show_message(text, ms)


class DrawnWhenDue(ViewBase):
    """A view that draws only when something changed and it is shown: set ``_dirty`` when new data
    arrives; a frame's ``redraw`` then calls ``draw()`` while the view is visible (and ``can_draw()``),
    and showing the tab draws what came while it was hidden."""

    def __init__(self) -> None:
        super().__init__()
        self._dirty = False

    def can_draw(self) -> bool:
        """Whether there is anything to draw from (e.g. a dataset); True unless overridden."""
        return True

    def draw(self) -> None:
        """Draw what changed (called only when due)."""

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._dirty = True
        self.redraw()

    def redraw(self) -> None:
        if not self._dirty or not self.isVisible() or not self.can_draw():
            return
        self._dirty = False
        self.draw()
