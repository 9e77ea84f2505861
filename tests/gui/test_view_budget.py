"""The task view's predictions run on the training thread within VIEW_BUDGET of its time."""

from __future__ import annotations

import time

import numpy as np

from losslab.core.events import StepBatch
from losslab.gui.pacing import VIEW_BUDGET
from losslab.gui.worker import TrainingWorker, ViewPayload


def _batch(step: int) -> StepBatch:
    steps = np.array([step])
    return StepBatch(0, steps, np.ones(1), np.ones(1), None, None, 0.01, 0.0, 0.0)


def test_costly_predictions_wait_their_share_and_cheap_ones_come_every_time() -> None:
    cost = 0.01  # seconds a prediction takes

    def predict(_trainer: object) -> str:
        time.sleep(cost)
        return "grid"

    worker = TrainingWorker(trainer=None, view_fn=predict)
    for step in range(1, 6):  # asked for at every report, reports coming at once
        worker.view_wanted = True
        worker._on_event(_batch(step))
    payloads = [e for e in worker.outbox if isinstance(e, ViewPayload)]
    assert len(payloads) == 1 and worker.view_wanted  # the others wait, still wanted
    time.sleep(cost / VIEW_BUDGET)
    worker._on_event(_batch(6))
    assert sum(isinstance(e, ViewPayload) for e in worker.outbox) == 2
    cheap = TrainingWorker(trainer=None, view_fn=lambda _t: "grid")
    for step in range(1, 6):  # reports ~50 ms apart in a run; 2 ms here
        cheap.view_wanted = True
        cheap._on_event(_batch(step))
        time.sleep(0.002)
    assert sum(isinstance(e, ViewPayload) for e in cheap.outbox) >= 4
