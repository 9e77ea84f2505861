"""The Race window: a race's live view, its Stop button and what became of it.

A top-level window of its own beside the main one (at 1280x720 the central tabs, between the two
docks, are too narrow for two plots and an eight-column table). It owns a RaceController (the race
runs in that controller's thread) and a frame timer paced by pacing.FramePacer, as the main window
does for a single run: once per frame the race's queued events are delivered and the view redraws.
Closing the window stops its race (what was trained is kept in the run history).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from losslab.core.race import RacePlan, RaceResult, RaceStarted
from losslab.gui.pacing import FramePacer
from losslab.gui.race.race_view import RaceView
from losslab.gui.race.race_worker import RaceController, RaceJob, StoreOpener, open_user_store
from losslab.gui.theme import system_prefers_dark

DEFAULT_SIZE = (1180, 640)  # fits a 1280x720 screen with its title bar


class RaceWindow(QWidget):
    raceEnded = Signal(object)  # the RaceResult, or None after a failure

    def __init__(
        self, parent: QWidget | None = None, open_store: StoreOpener | None = open_user_store
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("raceWindow")
        self.setWindowTitle("Race — LossLab")
        self.open_store = open_store
        self.plan: RacePlan | None = None
        self.job: RaceJob | None = None
        self.result: RaceResult | None = None
        self.new_race: Callable[[], None] | None = None  # what "New race…" does (set by launch.py)

        self.view = RaceView()
        self.status = QLabel()
        self.status.setObjectName("raceStatus")
        self.status.setWordWrap(True)
        self.kept = QLabel()
        self.kept.setObjectName("raceKept")
        self.kept.setWordWrap(True)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("raceStop")
        self.stop_button.setToolTip("Stop every variant at the next batch; what was trained is kept")
        self.new_button = QPushButton("New race…")
        self.new_button.setObjectName("raceNew")
        self.close_button = QPushButton("Close")
        self.stop_button.clicked.connect(self.stop)
        self.new_button.clicked.connect(self._on_new)
        self.close_button.clicked.connect(self.close)

        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.kept)
        layout.addLayout(buttons)

        self.controller = RaceController(self)
        c = self.controller
        c.raceStarted.connect(self._on_started)
        c.variantSteps.connect(self.view.add_steps)
        c.variantEpoch.connect(self.view.add_epoch)
        c.raceNotice.connect(self._on_notice)
        c.variantEnded.connect(self.view.variant_ended)
        c.raceFinished.connect(self._on_race_finished)
        c.finished.connect(self._on_finished)
        c.failed.connect(self._on_failed)

        self.pacer = FramePacer()
        self._timer = QTimer(self)
        self._timer.setInterval(self.pacer.idle())
        self._timer.timeout.connect(self._on_frame)
        self._notices: list[str] = []
        self._rate = math.nan
        self.resize(*DEFAULT_SIZE)
        self.view.set_theme(system_prefers_dark())
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme)
        self._update_buttons()

    @property
    def running(self) -> bool:
        return self.controller.running

    # -- a race -----------------------------------------------------------------------------------
    def start(self, plan: RacePlan) -> None:
        """Train ``plan`` in the background, live (one race at a time)."""
        if self.controller.running:
            raise RuntimeError("a race is already running")
        self.plan, self.result = plan, None
        self._notices = []
        self._rate = math.nan
        self.view.start(plan)
        self.kept.setText(
            "Each variant is kept in the run history as it finishes (one group of runs)."
            if self.open_store is not None
            else "This race is not kept in the run history."
        )
        self.status.setText(f"Racing {len(plan.variants)} variants…")
        self.job = self.controller.start_race(plan, self.open_store)
        self._timer.start(self.pacer.idle())
        self._update_buttons()

    @Slot()
    def stop(self) -> None:
        """Ask the race to stop at the next batch (the window stays responsive; ``raceEnded`` follows)."""
        if self.controller.running:
            self.controller.request_stop()
            self.status.setText("Stopping…")
            self.stop_button.setEnabled(False)

    def _on_new(self) -> None:
        if self.new_race is not None:
            self.new_race()

    # -- per frame --------------------------------------------------------------------------------
    @Slot()
    def _on_frame(self) -> None:
        self.controller.deliver()
        self.view.redraw()
        if self.controller.running:
            rates = [lane.rate for lane in self.view.lanes if math.isfinite(lane.rate)]
            rate = max(rates) if rates else None
            self._timer.setInterval(self.pacer.next_interval(rate))
        else:
            self._timer.stop()
            self.pacer.idle()

    # -- events -----------------------------------------------------------------------------------
    @Slot(object)
    def _on_started(self, event: RaceStarted) -> None:
        self.view.on_started(event)
        modes = "; ".join(sorted(set(event.modes)))
        self.status.setText(f"Racing {len(event.labels)} variants: {modes}…")

    @Slot(int, str)
    def _on_notice(self, variant: int, message: str) -> None:
        lanes = self.view.lanes
        who = f"{lanes[variant].label}: " if 0 <= variant < len(lanes) else ""
        self._notices.append(who + message)
        if self.job is not None and message == self.job.not_kept:
            self.kept.setText(message + " The race itself runs on.")
        else:
            self.status.setText(who + message)

    @Slot(object)
    def _on_race_finished(self, result: RaceResult) -> None:
        self.result = result
        self.view.finish(result)

    @Slot(object)
    def _on_finished(self, finished: Any) -> None:
        self._on_frame()  # the last events are drawn now, not a frame later
        result = self.result
        if result is not None:
            done = sum(v.status == "finished" for v in result.variants)
            how = "Stopped" if result.stopped else "Finished"
            self.status.setText(
                f"{how} after {result.elapsed:.1f} s: {done} of {len(result.variants)} variants finished "
                f"({result.aggregate_steps_per_second:,.0f} steps/s together)."
            )
            job = self.job
            if job is not None and self.open_store is not None:
                if job.kept and not job.not_kept:
                    self.kept.setText(
                        f"Kept in the run history as group {result.group_id} ({job.kept} runs, tagged "
                        '"race").'
                    )
                elif job.not_kept:
                    self.kept.setText(job.not_kept)
        self._update_buttons()
        self.raceEnded.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.status.setText(f"The race failed: {message}")
        box = QMessageBox(QMessageBox.Icon.Critical, "Race failed", message, parent=self)
        if details:
            box.setInformativeText("This is a bug in LossLab. The details below help us fix it.")
            box.setDetailedText(details)
        box.exec()

    def _update_buttons(self) -> None:
        running = self.controller.running
        self.stop_button.setEnabled(running)
        self.new_button.setEnabled(not running)

    @Slot()
    def _on_color_scheme(self, *_: Any) -> None:
        self.view.set_theme(system_prefers_dark())

    # -- closing ----------------------------------------------------------------------------------
    def stop_and_wait(self, wait_ms: int = 10_000) -> bool:
        """Stop the race and wait for its thread (closing); True when it has ended."""
        ended = self.controller.stop(wait_ms)
        self._timer.stop()
        return ended

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.stop_and_wait():
            QMessageBox.warning(self, "Still stopping", "The race did not stop in time; try closing again.")
            event.ignore()
            return
        event.accept()
