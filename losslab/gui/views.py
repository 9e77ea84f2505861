"""THE registry of extra views: tabs beside "Training" in the central area.

A view is a QWidget built by ``factory(window)``. The main window calls whichever of these
methods the view defines (all optional):

- ``reset(dataset)``           new data or fresh weights: clear everything
- ``make_probes(trainer)``     -> list of core Probe objects to attach to a new trainer
- ``on_steps(batch)``          a StepBatch arrived (GUI thread)
- ``on_epoch(event)``          an EpochEnd arrived
- ``on_event(event)``          any other event, e.g. what a probe returned
- ``on_finished(result)``      a run ended (Finished, or None after a failure)
- ``redraw()``                 called once per frame (pacing.py); redraw only if something changed
- ``set_trainer(trainer)``     the trainer in use (None after a reset); read-only use on the GUI thread
- ``apply_theme()``            the light/dark scheme changed (colours from theme.py)

Adding a view is one entry here; the main window hard-codes none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import QWidget


@dataclass(frozen=True)
class ViewDef:
    title: str
    object_name: str
    factory: Callable[[Any], QWidget]  # (main window) -> widget


def _loss_inspector(window: Any) -> QWidget:
    from losslab.gui.plots.loss_inspector import LossInspector

    return LossInspector(window)


def _samples(window: Any) -> QWidget:
    from losslab.gui.plots.samples_view import SamplesView

    return SamplesView(window)


def _gradients(window: Any) -> QWidget:
    from losslab.gui.plots.gradient_view import GradientView

    return GradientView(window)


def _landscape(window: Any) -> QWidget:
    from losslab.gui.plots.landscape_view import LandscapeView

    return LandscapeView(window)


def _lr_finder(window: Any) -> QWidget:
    from losslab.gui.plots.lr_finder_view import LRFinderView

    return LRFinderView(window)


VIEWS: list[ViewDef] = [
    ViewDef("Loss inspector", "lossInspector", _loss_inspector),
    ViewDef("Samples", "samplesView", _samples),
    ViewDef("Gradients", "gradientView", _gradients),
    ViewDef("Landscape", "landscapeView", _landscape),
    ViewDef("LR finder", "lrFinderView", _lr_finder),
]
