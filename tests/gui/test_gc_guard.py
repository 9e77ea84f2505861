"""Cyclic garbage holding Qt objects is freed on the GUI thread, never on a worker thread (a CSV
import thread collecting a dead dialog deadlocked the GUI tests)."""

import gc
import itertools
import threading
import weakref

from PySide6.QtWidgets import QWidget

from losslab.gui.app import create_app
from losslab.gui.gc_guard import GcOnGuiThread, collect_on_gui_thread


def test_the_app_collects_on_the_gui_thread_only(qapp):
    app = create_app()
    guard = collect_on_gui_thread(app)
    assert isinstance(guard, GcOnGuiThread) and collect_on_gui_thread(app) is guard  # once per app
    assert not gc.isenabled() and guard.timer.isActive()


def test_a_widget_in_a_cycle_dies_on_the_gui_thread_not_on_the_thread_that_allocates(qapp):
    guard = collect_on_gui_thread(qapp)
    died_on: list[str] = []

    class Holder:
        pass

    holder = Holder()
    holder.widget = QWidget()
    holder.me = holder  # a reference cycle: only the cyclic collector frees it
    weakref.finalize(holder, lambda: died_on.append(threading.current_thread().name))
    del holder

    def allocate() -> None:  # far past every generation's threshold
        for _ in range(50):
            junk = [[] for _ in range(10_000)]
            for a, b in itertools.pairwise(junk):
                a.append(b)
                b.append(a)

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert died_on == []
    while not died_on:
        assert guard.collect_due() > 0 or gc.collect() > 0
    assert died_on == [threading.main_thread().name]
