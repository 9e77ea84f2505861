"""How the main window reaches a race: Train > Race… opens the dialog, Start opens the race window.

``open_race(window)`` is the action's slot; ``stop_races(window)`` is what closing the main window
calls so that no race thread outlives it. The main window knows nothing else of races.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMessageBox, QWidget

from losslab.gui.race.race_dialog import RaceDialog
from losslab.gui.race.race_window import RaceWindow

if TYPE_CHECKING:
    from losslab.gui.main_window import MainWindow


def race_window(window: QWidget, create: bool = True) -> RaceWindow | None:
    """The main window's race window (one; made on first use unless ``create`` is False)."""
    found = window.findChild(RaceWindow, "raceWindow")
    if found is None and create:
        found = RaceWindow(window)
        win: Any = window
        found.new_race = lambda: open_race(win)
        found.raceEnded.connect(lambda result: _tell(win, found, result))
    return found


def _tell(window: Any, races: RaceWindow, result: Any) -> None:
    if result is not None and hasattr(window, "show_message"):
        window.show_message(races.kept.text() or "Race over.", 10_000)


def open_race(window: MainWindow, setting: str | None = None) -> RaceDialog | None:
    """Open the Race dialog for the current experiment (window-modal; returns it, or None)."""
    races = race_window(window)
    assert races is not None
    if races.running:
        races.show()
        races.raise_()
        races.activateWindow()
        window.show_message("A race is running: stop it before starting another.", 6000)
        return None
    if window.controller.running:
        answer = QMessageBox.question(
            window,
            "Stop training?",
            "Training is in progress. A race trains its variants on the same processor.\n\n"
            "Stop the current run and set up a race?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return None
        window.run.stop()
    dialog = RaceDialog(window.state.experiment, window.state.task, parent=window, setting=setting)

    def start() -> None:
        if dialog.plan is not None:
            races.show()
            races.raise_()
            races.start(dialog.plan)
        dialog.deleteLater()

    dialog.accepted.connect(start)
    dialog.rejected.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def stop_races(window: QWidget, wait_ms: int = 10_000) -> bool:
    """Stop the window's race, if any, and wait for its thread; True when none is left running."""
    races = race_window(window, create=False)
    return races is None or races.stop_and_wait(wait_ms)
