"""Python's cyclic garbage collector runs only on the GUI thread while the window is open.

Automatic collection runs in whichever thread happens to allocate when a threshold is passed: the
training thread, a CSV import, a landscape computation. If that collection frees a Qt object caught
in a reference cycle (a closed dialog, a view from an earlier run), the object is destroyed off the
GUI thread, which Qt does not allow: measured in the GUI tests as a deadlock between a CSV-import
thread (in ~QObject, waiting for the GIL) and the GUI thread. So automatic collection is switched
off once the application exists, and a timer on the GUI thread collects, as gc would have, the
oldest generation whose threshold has been passed.

The collector must never be the one to delete a live widget: it frees a cycle in an order of its
own, which crashed the GUI tests on CI (SIGSEGV in QWidget::~QWidget inside gc.collect). Widgets
get a Qt parent or deleteLater instead (gui/plot_menus.py does it for pyqtgraph's parentless menus).
As a precaution, what was already handed to deleteLater (and may go at this event-loop level) is
deleted before each collection, so Qt, not the collector, ends those objects.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

INTERVAL_MS = 250  # young garbage is collected about as often as automatic collection would


class GcOnGuiThread(QObject):
    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start(INTERVAL_MS)
        app.aboutToQuit.connect(self.remove)  # the interpreter's own shutdown collects as usual

    def remove(self) -> None:
        """Back to automatic collection (at quit; after the GUI tests)."""
        self.timer.stop()
        gc.enable()
        self.setParent(None)

    def collect_due(self) -> int:
        """Collect the generations gc would have collected by now; returns the objects freed."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for gen in range(3):
            if counts[gen] > thresholds[gen]:
                generation = gen
        if generation < 0:
            return 0
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return gc.collect(generation)


def collect_on_gui_thread(app: QCoreApplication) -> GcOnGuiThread:
    """Install the guard once per application (idempotent) and return it."""
    existing = app.findChild(GcOnGuiThread)
    return existing if isinstance(existing, GcOnGuiThread) else GcOnGuiThread(app)
