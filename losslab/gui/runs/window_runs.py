"""The run history in the main window: the Runs dock, the Compare window, Repeat over K seeds.

``RunsUI(window)`` is built with the window's docks: it opens the panel's store (history.py), puts
the Runs panel in a dock under the plots (View > Runs toggles it), follows the runs that
run_control's recording starts and ends (the panel re-lists then, and re-reads the running row at
most once a second), reopens a run's experiment through the window's normal open path
(files.open_experiment: the unsaved-changes and trust questions apply), opens the Compare window
for the selected runs, and runs Repeat over K seeds (seeds.py). Its actions go in the Train menu.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMessageBox, QStyle

from losslab.core.errors import LossLabError
from losslab.gui.runs.compare_view import CompareWindow
from losslab.gui.runs.history import RunHistory
from losslab.gui.runs.runs_panel import MAX_SEEDS, RunsPanel
from losslab.gui.runs.seeds import SeedRepeater

if TYPE_CHECKING:
    from losslab.core.experiment import Experiment
    from losslab.gui.main_window import MainWindow

PROGRESS_EVERY_S = 1.0
DOCK_HEIGHT = 190


class RunsUI(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.history = RunHistory(self)
        self.panel = RunsPanel(self.history)
        self.compare: CompareWindow | None = None
        self._last_progress = 0.0

        dock = QDockWidget("Runs", window)
        dock.setObjectName("runsDock")
        dock.setWidget(self.panel)
        toggle = dock.toggleViewAction()
        toggle.setText("&Runs")
        toggle.setShortcut(QKeySequence("Ctrl+Shift+H"))
        toggle.setToolTip("Show or hide the run history: every run kept, to reopen or compare (Ctrl+Shift+H)")
        toggle.setStatusTip(toggle.toolTip())
        toggle.setIcon(window.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView))
        # Under the plots only: the side panels keep their full height.
        window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        window.resizeDocks([dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)
        window.docks["runsDock"] = dock
        # Hidden at first: at 1280x720 the plots need the height. The toolbar's Runs button, View > Runs
        # and Ctrl+Shift+H show it; the window remembers the layout the user leaves it in.
        dock.hide()
        self.dock = dock

        run = window.run
        self.seeds = SeedRepeater(run, self.history, self._run_name, self._seed_trainer, self)
        self.seeds.progress.connect(self._on_seed_progress)
        self.seeds.done.connect(self._on_seeds_done)
        self.seeds.cancelled.connect(self._on_seeds_cancelled)
        recording = getattr(run, "recording", None)  # run_control's RunRecording (recording.py)
        if recording is not None:
            recording.runStarted.connect(self._on_run_started)
            recording.runEnded.connect(self._on_run_ended)
        run.controller.epochEnded.connect(self._on_epoch)
        self.panel.openRequested.connect(self.open_run)
        self.panel.compareRequested.connect(self.compare_runs)
        self.panel.repeatRequested.connect(self.repeat_over_seeds)

        self.actionRepeatSeeds = QAction("Repeat over &Seeds…", window)
        self.actionRepeatSeeds.setObjectName("actionRepeatSeeds")
        self.actionRepeatSeeds.setToolTip(
            "Train the current experiment K times (seeds s, s+1, …) as one group, then show mean ± std"
        )
        self.actionRepeatSeeds.setStatusTip(self.actionRepeatSeeds.toolTip())
        self.actionRepeatSeeds.triggered.connect(self.ask_repeat)
        self.actionCompare = QAction("&Compare Selected Runs", window)
        self.actionCompare.setObjectName("actionCompareRuns")
        self.actionCompare.setToolTip("Overlay the curves of the runs selected in the Runs panel")
        self.actionCompare.setStatusTip(self.actionCompare.toolTip())
        self.actionCompare.triggered.connect(self._compare_from_menu)
        self.actions = [self.actionRepeatSeeds, self.actionCompare]

    # -- following the runs -----------------------------------------------------------------
    def _run_name(self) -> str:
        path = self.window.files.path
        exp = self.window.state.experiment
        return exp.name or (path.stem if path else "") or "Untitled"

    def _seed_trainer(self, experiment: Experiment) -> Any:
        from losslab.core.trainer import make_trainer
        from losslab.gui.pacing import PROBE_BUDGET

        return make_trainer(experiment, self.window.state.dataset, diagnostics_budget=PROBE_BUDGET)

    @Slot(int)
    def _on_run_started(self, run_id: int) -> None:
        self.panel.add_run(run_id)

    @Slot(int)
    def _on_run_ended(self, run_id: int) -> None:
        error = getattr(self.window.run, "recording", None) and self.window.run.recording.error
        if error and not self.history.error:
            self.history.report(LossLabError(f"Runs are not being kept: {error}"))
        self.panel.refresh()

    @Slot(object)
    def _on_epoch(self, _event: Any) -> None:
        recording = getattr(self.window.run, "recording", None)
        run_id = recording.run_id if recording is not None else None
        now = time.monotonic()
        if run_id is not None and now - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = now
            self.panel.update_run(run_id)

    # -- what the panel asks ----------------------------------------------------------------
    @Slot(int)
    def open_run(self, run_id: int) -> bool:
        store = self.history.store
        if store is None:
            return False
        try:
            experiment = store.experiment_of(run_id)
            name = store.summary(run_id).name
        except LossLabError as exc:
            QMessageBox.warning(self.window, "Cannot open the run", str(exc))
            return False
        return self.window.files.open_experiment(experiment, f"run {run_id} ({name})")

    @Slot(list)
    def compare_runs(self, ids: list[int], band: bool | None = None) -> CompareWindow | None:
        records = self.history.get_runs(ids)
        if not records:
            return None
        if self.compare is None:
            self.compare = CompareWindow(self.window)
        self.compare.set_runs(records, band=band)
        self.compare.show()
        self.compare.raise_()
        self.compare.activateWindow()
        return self.compare

    @Slot()
    def _compare_from_menu(self) -> None:
        if self.panel.selected_ids():
            self.panel.compare_selected()
            return
        self.dock.show()
        self.panel.table.setFocus()
        self.window.show_message(
            "Select the runs to compare in the Runs panel (Ctrl+click, Shift+click)", 6000
        )

    @Slot()
    def ask_repeat(self) -> None:
        k, ok = QInputDialog.getInt(
            self.window,
            "Repeat over seeds",
            "Train the current experiment with seeds s, s+1, … (K runs, one group):\nK =",
            self.panel.seeds.value(),
            2,
            MAX_SEEDS,
        )
        if ok:
            self.panel.seeds.setValue(k)
            self.repeat_over_seeds(k)

    @Slot(int)
    def repeat_over_seeds(self, k: int) -> bool:
        try:
            self.seeds.start(k)
        except LossLabError as exc:
            QMessageBox.warning(self.window, "Cannot repeat over seeds", str(exc))
            return False
        self.dock.show()
        return self.seeds.active or bool(self.seeds.run_ids)

    @Slot(int, int)
    def _on_seed_progress(self, i: int, k: int) -> None:
        seed = self.seeds.seeds[i - 1]
        self.window.show_message(f"Repeat over seeds: seed {seed} ({i} of {k}); Stop ends the series", 0)

    @Slot(str)
    def _on_seeds_done(self, group: str) -> None:
        self.window.show_message(f"Repeat over seeds done: {len(self.seeds.run_ids)} runs in one group", 8000)
        self.panel.refresh()
        self.panel.select_ids(self.seeds.run_ids)
        self.compare_runs(self.seeds.run_ids, band=True)

    @Slot(str)
    def _on_seeds_cancelled(self, group: str) -> None:
        done = len(self.seeds.run_ids)
        self.window.show_message(f"Repeat over seeds stopped; the {done} run(s) so far are kept", 8000)
        self.panel.refresh()
