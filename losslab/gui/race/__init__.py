"""Races in the window: N variants that differ in one setting, trained fairly, live, side by side.

* race_dialog.py: RaceDialog, the setting and its values from the current experiment, checked
  by ``losslab.core.race.plan_race`` as they are edited (refusals show there, before anything trains);
* race_worker.py: RaceJob / RaceController, ``run_race`` through gui/worker.py's training bridge,
  its events delivered once per frame (each variant's steps merged), stored as a group of runs;
* race_view.py: RaceView, a loss curve per variant (training solid, validation dashed), the
  headline metric, the table of variants and the fairness line;
* race_window.py: RaceWindow, the view in a window of its own with Stop, paced like the main one;
* launch.py: ``open_race(window)`` (Train > Race…) and ``stop_races(window)`` (closing).

Importing this package imports torch (through losslab.core.race): import it when a race is asked for.
"""

from losslab.gui.race.launch import open_race, race_window, stop_races
from losslab.gui.race.race_dialog import Choice, RaceDialog, race_choices
from losslab.gui.race.race_view import RaceView
from losslab.gui.race.race_window import RaceWindow
from losslab.gui.race.race_worker import RaceController, RaceJob

__all__ = [
    "Choice",
    "RaceController",
    "RaceDialog",
    "RaceJob",
    "RaceView",
    "RaceWindow",
    "open_race",
    "race_choices",
    "race_window",
    "stop_races",
]
