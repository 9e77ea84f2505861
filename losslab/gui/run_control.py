"""Run control: the trainer in use and the Train / Pause / Step / Stop / Reset commands.

Part of the main window (it owns the TrainingController and its thread): it makes a trainer from
the ExperimentState with the probes every view asks for, starts, pauses, steps and stops it, takes
the worker's signals and hands them to the views (views.ViewHost), asks before a structural edit
stops a run (the state's edit guard), and after a divergence offers the last good weights back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from losslab.core.errors import LossLabError
from losslab.gui.background import engine
from losslab.gui.pacing import PROBE_BUDGET
from losslab.gui.plots.task_view import TaskView
from losslab.gui.runs.recording import RunRecording
from losslab.gui.worker import TrainingController

if TYPE_CHECKING:
    from losslab.core.events import Diverged, EpochEnd, Finished, StepBatch
    from losslab.core.trainer import Trainer
    from losslab.gui.main_window import MainWindow


class RunControl(QObject):
    runStateChanged = Signal()  # running / paused / finished / trainer changed: update the actions

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.trainer: Trainer | None = None
        self.finished = False  # the current trainer has run all its epochs
        self._divergence: Diverged | None = None  # a divergence whose run is still ending
        self.status = {"epoch": 0, "step": 0, "rate": 0.0, "elapsed": 0.0}
        # How Train makes a trainer for the current experiment: a hook a tool may wrap (the window
        # benchmark adds a probe to every trainer).
        self.make_trainer: Callable[[], Trainer] = self._make_trainer

        self.controller = TrainingController(self)
        # Every run is kept in the run history (gui/runs/recording.py); the Runs panel follows it.
        self.recording = RunRecording(self)
        self._failure = ""
        c = self.controller
        c.stepBatch.connect(self._on_steps)
        c.epochEnded.connect(self._on_epoch)
        c.diverged.connect(self._on_diverged)
        c.notice.connect(self._on_notice)
        c.view.connect(self._on_predictions)
        c.probe.connect(self._on_probe_event)
        c.finished.connect(self._on_finished)
        c.failed.connect(self._on_failed)
        c.runningChanged.connect(self._on_running_changed)
        self.state.edit_guard = self.confirm_stop_for_edit
        self.state.changed.connect(self._on_state_changed)

    @property
    def running(self) -> bool:
        return self.controller.running

    @property
    def paused(self) -> bool:
        return self.controller.paused

    # -- the trainer ------------------------------------------------------------------------
    def set_trainer(self, trainer: Trainer | None) -> None:
        self.trainer = trainer
        self.window.host.set_trainer(trainer)

    def _make_trainer(self) -> Trainer:
        from losslab.core.trainer import make_trainer

        return make_trainer(self.state.experiment, self.state.dataset, diagnostics_budget=PROBE_BUDGET)

    def new_plots(self) -> None:
        """Every view cleared for the current dataset, the counters back at zero."""
        self.window.host.reset(self.state.dataset)
        self.status = {"epoch": 0, "step": 0, "rate": 0.0, "elapsed": 0.0}
        self.window.update_status()

    # -- commands ---------------------------------------------------------------------------
    @Slot()
    def train(self) -> None:
        warming = engine()  # torch still loading at start-up: train once it is (gui/app.py)
        if warming is not None and not warming.is_ready:
            self.window.show_message("Starting engine… training starts when it is ready.", 0)
            warming.when_ready(self.train)
            return
        if self.controller.running:
            if self.controller.paused:
                self.controller.resume()
                self.window.actionPause.setChecked(False)
            return
        self._start(paused=False)

    def _start(self, paused: bool) -> None:
        window = self.window
        fresh = self.trainer is None or self.finished
        if fresh:
            try:
                QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
                try:
                    trainer = self.make_trainer()
                    trainer.probes += window.host.make_probes(trainer)
                finally:
                    QGuiApplication.restoreOverrideCursor()
            except LossLabError as exc:
                QMessageBox.warning(window, "Cannot train", str(exc))
                return
            self.finished = False
            self.new_plots()
            self.set_trainer(trainer)
            window.host.redraw()  # views say now whether they watch its per-sample probe
            window.status_labels["device"].setText(f"device: {trainer.device}")
        assert self.trainer is not None
        wrap = self.recording.begin(self.trainer) if fresh else self.recording.resume()
        if self.recording.error is not None and fresh:
            window.show_message(f"This run is not kept in the run history: {self.recording.error}", 10_000)
        self._failure = ""
        self.controller.start(
            self.trainer, view_fn=TaskView.view_function(self.trainer.dataset), paused=paused, wrap=wrap
        )
        if fresh:  # the cleared plots are painted before the training thread competes for the GIL
            self.controller.hold_until_painted()
        window.actionPause.setChecked(paused)

    @Slot()
    def toggle_pause(self) -> None:
        if not self.controller.running:
            self.window.actionPause.setChecked(False)
            return
        if self.controller.paused:
            self.controller.resume()
        else:
            self.controller.pause()
            self.window.frame_now()  # the paused state shows at once, not a frame later
        self.window.actionPause.setChecked(self.controller.paused)
        self.runStateChanged.emit()

    @Slot()
    def step_once(self) -> None:
        if not self.controller.running:
            self._start(paused=True)
        if self.controller.running:
            self.controller.step_once()
            self.window.actionPause.setChecked(True)
            self.runStateChanged.emit()

    @Slot()
    def step_epoch(self) -> None:
        """Run to the end of the current epoch, then pause (Train > Step One Epoch)."""
        if not self.controller.running:
            self._start(paused=True)
        if self.controller.running:
            self.window.actionPause.setChecked(True)
            self.runStateChanged.emit()
            self._step_epoch_when_waiting(100)

    def _step_epoch_when_waiting(self, tries: int) -> None:
        # The batch in flight when the pause was asked for finishes first (~ms): look again shortly.
        if self.controller.running and not self.controller.step_epoch() and tries > 0:
            QTimer.singleShot(20, lambda: self._step_epoch_when_waiting(tries - 1))

    @Slot()
    def stop(self) -> None:
        self.controller.stop()

    @Slot()
    def reset_weights(self) -> None:
        self.controller.stop()
        self.set_trainer(None)
        self.new_plots()
        self.window.show_message("Weights reset: the next run starts from fresh weights", 4000)

    def discard_run(self) -> None:
        """Stop any run and forget its trainer (a new experiment is coming)."""
        self.controller.stop()
        self.set_trainer(None)

    def confirm_stop_for_edit(self, section: str) -> bool:
        """Edit guard: a structural edit during a run asks to stop it; it never touches the running one."""
        if not self.controller.running and self.trainer is None:
            return True
        what = {"model": "network", "training": "training settings"}.get(section, section)
        if self.controller.running:
            answer = QMessageBox.question(
                self.window,
                "Stop training?",
                f"Training is in progress. Changing the {what} needs a fresh run.\n\n"
                "Stop the current run and apply the change?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            self.controller.stop()
        self.set_trainer(None)  # the old weights belong to the old set-up
        self.window.show_message(f"New {what}: the next run starts afresh with the settings shown", 6000)
        return True

    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section == "optimizer" and self.trainer is not None:
            # The learning rate applies at once, mid-run, without a reset.
            lr = self.state.experiment.optimizer["lr"]
            if self.controller.running:
                self.controller.set_learning_rate(lr)
            else:
                self.trainer.set_learning_rate(lr)

    # -- events from the worker -------------------------------------------------------------
    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self.runStateChanged.emit()

    @Slot(object)
    def _on_steps(self, batch: StepBatch) -> None:
        self.window.host.on_steps(batch)
        self.status.update(step=int(batch.steps[-1]), rate=batch.steps_per_second, elapsed=batch.elapsed)

    @Slot(object)
    def _on_epoch(self, event: EpochEnd) -> None:
        self.window.host.on_epoch(event)
        self.status.update(epoch=event.epoch, step=event.step, elapsed=event.elapsed)

    @Slot(object)
    def _on_predictions(self, payload: Any) -> None:
        self.window.host.on_predictions(payload)

    @Slot(object)
    def _on_probe_event(self, event: object) -> None:
        self.window.host.on_event(event)

    @Slot(str)
    def _on_notice(self, message: str) -> None:
        self.window.show_message(message, 8000)

    @Slot(object)
    def _on_diverged(self, event: Diverged) -> None:
        self.window.training_view.mark(event.step, "diverged")
        self.finished = True
        self._divergence = event  # the way out is offered once the run's thread has ended

    @Slot(object)
    def _on_finished(self, result: Finished | None) -> None:
        self.recording.ended(result, self._failure)
        if result is not None and not result.stopped and result.diverged is None:
            self.finished = True
            early = getattr(result, "early_stop", None)
            done = f"{early.notice} " if early is not None else "Training finished. "
            self.window.show_message(done + "Train again to start over from fresh weights.", 10_000)
        self.window.host.on_finished(result)
        self.window.redraw()
        self.runStateChanged.emit()
        divergence, self._divergence = self._divergence, None
        if divergence is not None:
            self._offer_restore(divergence)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self._failure = f"Training failed: {message}"
        box = QMessageBox(QMessageBox.Icon.Critical, "Training failed", message, parent=self.window)
        if details:
            box.setInformativeText("This is a bug in LossLab. The details below help us fix it.")
            box.setDetailedText(details)
        box.exec()

    # -- after a divergence -----------------------------------------------------------------
    def _offer_restore(self, event: Diverged) -> None:
        """The divergence dialog, with a button that restores the last good weights at half the rate."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Training diverged", event.message, parent=self.window)
        good = getattr(self.trainer, "last_good", None) if self.trainer is not None else None
        restore = None
        if good is not None:
            where = f"the weights from the end of epoch {good.epoch}" if good.epoch else "the initial weights"
            box.setInformativeText(
                f"Restore {where} and halve the learning rate, then press Train to go on from there. "
                "Or close this and change the settings: the next run starts from fresh weights."
            )
            restore = box.addButton(
                "Restore last good weights and halve the learning rate", QMessageBox.ButtonRole.AcceptRole
            )
            restore.setObjectName("restoreLastGood")
            box.setDefaultButton(restore)
        box.addButton(QMessageBox.StandardButton.Close)
        box.exec()
        if restore is not None and box.clickedButton() is restore:
            self.restore_last_good()

    def restore_last_good(self) -> bool:
        """After a divergence: the last good weights back, half the learning rate, the run resumable."""
        trainer = self.trainer
        if trainer is None or self.controller.running:
            return False
        good = trainer.restore_last_good(halve_lr=True)
        if good is None:
            return False
        lr = trainer.lr.base_lr
        # The panel shows it; the trainer has it already (and keeps it even below the panel's minimum).
        with contextlib.suppress(LossLabError):
            self.state.update("optimizer", lr=lr)
        self.finished = False
        self.window.training_view.mark(trainer.step, "restored")
        where = "initial weights" if good.epoch == 0 else f"weights from epoch {good.epoch}"
        self.window.show_message(
            f"Restored the {where}; learning rate halved to {lr:g}. Press Train to go on.", 10_000
        )
        self.runStateChanged.emit()
        return True
