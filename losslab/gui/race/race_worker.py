"""A race in the background, through the window's one training bridge (gui/worker.py).

``RaceJob`` looks to ``worker.TrainingWorker`` like a trainer: ``run(callback, epochs)`` runs
``losslab.core.race.run_race`` on the worker's thread and ``controls`` is the core's thread-safe
Controls (stop acts within a batch). So the race's thread, its start, its failures and its end are
the single run's code: events wait in the worker's queue (a deque) and ``RaceController.deliver``,
called once per frame by the race window's timer (paced by pacing.FramePacer), hands them on as
signals, each variant's step reports since the last frame merged into one StepBatch.

The run history is opened on the worker's thread when the race starts; each variant is stored
as a run of the race's group when it is done (``race_recorder``). If the history cannot be opened
or written, the race still runs and a notice says it is not kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from losslab.core.controls import Controls
from losslab.core.errors import LossLabError
from losslab.core.events import Finished, StepBatch, merge_step_batches
from losslab.core.race import (
    RaceEpoch,
    RaceFinished,
    RaceNotice,
    RacePlan,
    RaceStarted,
    RaceSteps,
    RaceVariantEnded,
    VariantResult,
    run_race,
)
from losslab.gui.worker import TrainingController

StoreOpener = Callable[[], Any]  # () -> a RunStore (raises LossLabError when it cannot)


def open_user_store() -> Any:
    from losslab.core.runs import open_store

    return open_store()


class RaceJob:
    """What TrainingWorker runs for a race: ``run(callback, epochs)`` and ``controls``."""

    def __init__(self, plan: RacePlan, open_store: StoreOpener | None = open_user_store) -> None:
        self.plan = plan
        self.controls = Controls()
        self.open_store = open_store  # None: do not keep the race
        self.kept = 0  # variants stored in the run history
        self.not_kept = ""  # why the race (or part of it) is not in the history
        self.result: Any = None  # the RaceResult once it is over

    def run(self, callback: Callable[[Any], None], epochs: int | None = None) -> None:
        store = None
        record = None
        if self.open_store is not None:
            try:
                store = self.open_store()
                from losslab.core.runs.race import race_recorder

                record = race_recorder(store)
            except (LossLabError, OSError) as exc:
                self.not_kept = f"The race is not kept in the run history: {exc}"
                callback(RaceNotice(-1, self.not_kept))

        def keep(group_id: str, result: VariantResult) -> None:
            if record is None:
                return
            try:
                record(group_id, result)
                self.kept += 1
            except Exception as exc:  # a full disk must not end the race
                if not self.not_kept:
                    self.not_kept = f"{result.label} is not kept in the run history: {exc}"
                    callback(RaceNotice(result.index, self.not_kept))

        try:
            self.result = run_race(self.plan, callback, self.controls, keep if record else None)
        finally:
            if store is not None:
                store.close()
        # TrainingWorker ends a run on the core's Finished; the race's own RaceFinished is in the queue.
        callback(Finished(self.result.variants[0].history, self.result.stopped, extra={"race": self.result}))


class RaceController(TrainingController):
    """One race at a time in its own thread (TrainingController's), with the race's own signals."""

    raceStarted = Signal(object)  # RaceStarted
    variantSteps = Signal(int, object)  # variant index, StepBatch (all its steps since the last frame)
    variantEpoch = Signal(int, object)  # variant index, EpochEnd
    raceNotice = Signal(int, str)  # variant index (-1: the whole race), message
    variantEnded = Signal(int, object)  # variant index, VariantResult
    raceFinished = Signal(object)  # RaceResult

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job: RaceJob | None = None

    def start_race(self, plan: RacePlan, open_store: StoreOpener | None = open_user_store) -> RaceJob:
        job = RaceJob(plan, open_store)
        self.job = job
        self.start(job)
        return job

    def request_stop(self) -> None:
        """Ask the race to stop at the next batch; ``finished`` follows when its thread has ended."""
        if self.running and self.job is not None:
            self.job.controls.stop()

    def deliver(self) -> int:
        """Hand the queued race events on as signals (GUI thread); returns how many there were.

        The start goes first, then each variant's step reports merged into one StepBatch, then the
        rest in order (each epoch's steps were reported before it).
        """
        events = []
        while self._events:
            events.append(self._events.popleft())
        if not events:
            return 0
        steps: dict[int, list[StepBatch]] = {}
        rest = []
        for event in events:
            if isinstance(event, RaceStarted):
                self.raceStarted.emit(event)
            elif isinstance(event, RaceSteps):
                steps.setdefault(event.variant, []).append(event.batch)
            else:
                rest.append(event)
        for variant, batches in steps.items():
            self.variantSteps.emit(variant, merge_step_batches(batches))
        for event in rest:
            if isinstance(event, RaceEpoch):
                self.variantEpoch.emit(event.variant, event.end)
            elif isinstance(event, RaceNotice):
                self.raceNotice.emit(event.variant, event.message)
            elif isinstance(event, RaceVariantEnded):
                self.variantEnded.emit(event.variant, event.result)
            elif isinstance(event, RaceFinished):
                self.raceFinished.emit(event.result)
        return len(events)
