"""Repeat over K seeds: the current experiment trained K times, seeds s, s+1, ..., as one run group.

Like ``losslab run --seeds K``: each run is the experiment with only ``training.seed`` changed (the
data, whose generator has a seed of its own, stay the same), stored under one group id and named
"<name> seed <s>". The runs go one after another through the window's normal Train path (its worker
thread, its recorder, its live plots), so the window never freezes and Stop works as usual: Stop
ends the series (the runs done so far are kept). When the last one ends, ``done(group_id)``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from losslab.core.errors import LossLabError

if TYPE_CHECKING:
    from losslab.core.experiment import Experiment
    from losslab.gui.run_control import RunControl
    from losslab.gui.runs.history import RunHistory

MAX_SEED = 2**31 - 1


def new_group_id() -> str:
    return f"seeds-{uuid.uuid4().hex[:12]}"


def seed_plan(experiment: Experiment, k: int) -> list[int]:
    """The seeds s, s+1, ..., s+k-1 from the experiment's own; a clear error past the largest seed."""
    if k < 1:
        raise LossLabError(f"the number of seeds must be at least 1, got {k}")
    first = int(experiment.training["seed"])
    if first + k - 1 > MAX_SEED:
        raise LossLabError(f"the seeds would pass {MAX_SEED} (from {first}, {k} seeds)")
    return list(range(first, first + k))


class SeedRepeater(QObject):
    progress = Signal(int, int)  # seeds started so far, K
    done = Signal(str)  # group id: every seed has run
    cancelled = Signal(str)  # group id: Stop (or a failure) ended the series early

    def __init__(
        self,
        run: RunControl,
        history: RunHistory,
        base_name: Callable[[], str],
        trainer_factory: Callable[[Experiment], Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.run = run
        self.history = history
        self.base_name = base_name
        self.trainer_factory = trainer_factory
        self.group_id: str | None = None
        self.name = ""
        self.base: Experiment | None = None
        self.seeds: list[int] = []
        self.pending: list[int] = []
        self.run_ids: list[int] = []
        self._current: int | None = None
        self._saved_factory: Any = None
        recording = getattr(run, "recording", None)  # run_control's RunRecording (recording.py)
        if recording is not None:
            recording.runStarted.connect(self._on_run_started)
        run.controller.finished.connect(self._on_finished)

    @property
    def active(self) -> bool:
        return self.group_id is not None

    def start(self, k: int) -> str:
        """Begin the series; returns the group id. Raises LossLabError when it cannot start."""
        if self.active:
            raise LossLabError("a repeat over seeds is already running; Stop ends it")
        if self.run.running:
            raise LossLabError("training is in progress: stop it first, then repeat over seeds")
        base = self.run.state.experiment
        self.seeds = seed_plan(base, k)
        self.base, self.pending = base, list(self.seeds)
        self.name = self.base_name()
        self.group_id = new_group_id()
        self.run_ids = []
        self._saved_factory = self.run.make_trainer
        self._next()
        return self.group_id

    def _next(self) -> None:
        assert self.base is not None
        if not self.pending:
            self._end(self.done)
            return
        seed = self.pending.pop(0)
        self._current = seed
        experiment = self.base.replace("training", seed=seed)
        self.run.make_trainer = lambda: self.trainer_factory(experiment)
        self.run.finished = True  # a fresh trainer for this seed
        self.progress.emit(len(self.seeds) - len(self.pending), len(self.seeds))
        self.run.train()
        if not self.run.running:  # it could not start (a dialog said why)
            self._end(self.cancelled)

    @Slot(int)
    def _on_run_started(self, run_id: int) -> None:
        if not self.active or self._current is None or run_id in self.run_ids:
            return
        self.run_ids.append(run_id)
        store = self.history.store
        if store is not None:
            try:
                store.update_run(run_id, name=f"{self.name} seed {self._current}", group_id=self.group_id)
            except LossLabError as exc:
                self.history.report(exc)
        self.history.changed.emit()

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        if not self.active:
            return
        if result is None or result.stopped:
            self._end(self.cancelled)
            return
        QTimer.singleShot(0, self._next)  # after every other slot of this run's end has run

    def stop(self) -> None:
        """End the series after the current run (which Stop ends)."""
        if self.active:
            self.pending = []
            self.run.stop()

    def _end(self, signal: Any) -> None:
        group = self.group_id or ""
        if self._saved_factory is not None:
            self.run.make_trainer = self._saved_factory
        self._saved_factory = None
        self.group_id, self._current = None, None
        # Train goes on from the panels' experiment again, with fresh weights.
        self.run.finished = True
        signal.emit(group)
