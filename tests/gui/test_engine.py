"""The start-up engine (gui/background.py): torch warms on a thread, and what needs it waits there."""

from __future__ import annotations

import threading
import time

from losslab.gui import background


def test_work_waits_for_the_engine_and_runs_on_the_gui_thread_in_order(qtbot, monkeypatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(background, "warm_engine", lambda: release.wait(10))
    engine = background.Engine()
    engine.start()
    ran: list[tuple[str, bool]] = []

    def note(name: str) -> None:
        ran.append((name, threading.current_thread() is threading.main_thread()))

    engine.when_ready(lambda: note("tabs"))
    engine.when_ready(lambda: note("file"))
    time.sleep(0.05)
    assert not engine.is_ready and ran == []
    with qtbot.waitSignal(engine.ready, timeout=5000):
        release.set()
    assert ran == [("tabs", True), ("file", True)]
    engine.when_ready(lambda: note("later"))  # once ready: at once
    assert ran[-1] == ("later", True)


def test_train_pressed_while_the_engine_warms_trains_once_it_is_ready(qtbot, window, monkeypatch) -> None:
    release = threading.Event()
    monkeypatch.setattr(background, "warm_engine", lambda: release.wait(10))
    engine = background.Engine()
    monkeypatch.setattr(background, "_ENGINE", engine)
    engine.start()
    window.state.update("training", epochs=2)
    started = time.perf_counter()
    window.train()
    assert time.perf_counter() - started < 0.1  # the press answers at once
    assert "Starting engine" in window.statusBar().currentMessage()
    assert window.trainer is None or not window.controller.running
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        release.set()
    assert window.trainer is not None and window.trainer.epoch == 2
