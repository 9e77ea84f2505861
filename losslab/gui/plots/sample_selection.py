"""Which training samples the user selected, shared by the views of one window (Samples, Cartography).

A view never reaches into another view; both ask ``selection_for(services)`` for their window's one
:class:`SampleSelection` (kept beside the window's ViewServices, gone with it), call ``select`` when the
user selects, and follow ``changed`` to ring the samples that another view selected.
"""

from __future__ import annotations

import weakref

from PySide6.QtCore import QObject, Signal

from losslab.gui.view_api import ViewServices


class SampleSelection(QObject):
    changed = Signal(object, list)  # (who selected, training-sample indices)

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[int] = []

    def select(self, samples: list[int], source: object) -> None:
        samples = sorted({int(s) for s in samples})
        if samples == self.samples:
            return
        self.samples = samples
        self.changed.emit(source, samples)


_BY_SERVICES: weakref.WeakKeyDictionary[ViewServices, SampleSelection] = weakref.WeakKeyDictionary()


def selection_for(services: ViewServices) -> SampleSelection:
    """The selection of the window these services belong to (made on first use)."""
    found = _BY_SERVICES.get(services)
    if found is None:
        found = _BY_SERVICES[services] = SampleSelection()
    return found
