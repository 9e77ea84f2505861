"""TrainingController.deliver(): the run's queued events, handed on once per frame, merged."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from losslab.core.events import Diverged, EpochEnd, Finished, Notice, StepBatch
from losslab.core.experiment import Experiment
from losslab.core.trainer import make_trainer
from losslab.gui.worker import TrainingController, ViewPayload


def step_batch(epoch: int, steps) -> StepBatch:
    steps = np.asarray(steps, dtype=np.int64)
    return StepBatch(epoch, steps, steps * 1.0, steps * 0.5, None, None, 0.1, float(steps[-1]), 5.0)


def epoch_end(epoch: int, step: int) -> EpochEnd:
    return EpochEnd(epoch, step, 1.0 / epoch, math.nan, {}, {}, 0.1, 0.0, 0.0, float(epoch))


class ProbeReport:
    """Stands for whatever a probe returns: any event the controller does not know."""

    def __init__(self, name: str) -> None:
        self.name = name


SIGNALS = ("stepBatch", "epochEnded", "diverged", "notice", "view", "probe", "finished", "failed")


@pytest.fixture
def controller(qtbot):
    c = TrainingController()
    seen: list[tuple[str, object]] = []
    for name in SIGNALS:
        getattr(c, name).connect(lambda *args, _name=name: seen.append((_name, args[0] if args else None)))
    c.seen = seen
    yield c
    c.stop()


def test_an_empty_queue_delivers_nothing(controller):
    assert controller.deliver() == 0
    assert controller.seen == []


def test_step_reports_are_merged_into_one_signal_sent_first(controller):
    q = controller._events
    q.extend(
        [step_batch(0, [1, 2]), epoch_end(1, 2), step_batch(1, [3, 4]), epoch_end(2, 4), step_batch(2, [5])]
    )
    assert controller.deliver() == 5
    names = [n for n, _ in controller.seen]
    assert names == ["stepBatch", "epochEnded", "epochEnded"]
    merged = controller.seen[0][1]
    np.testing.assert_array_equal(merged.steps, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(merged.epoch_of_steps(), [0, 0, 1, 1, 2])
    assert merged.epoch == 2
    assert [e.epoch for n, e in controller.seen if n == "epochEnded"] == [1, 2]
    assert not q


def test_a_single_step_report_goes_out_unchanged(controller):
    b = step_batch(0, [1, 2, 3])
    controller._events.append(b)
    assert controller.deliver() == 1
    assert controller.seen == [("stepBatch", b)]


def test_other_events_keep_their_order_and_only_the_newest_view_goes_out_last(controller):
    first, second = ProbeReport("a"), ProbeReport("b")
    diverged = Diverged(3, 7, math.inf, "boom")
    controller._events.extend(
        [
            step_batch(0, [1, 2]),
            ViewPayload("old predictions"),
            epoch_end(1, 2),
            first,
            Notice("fell back to the CPU"),
            step_batch(1, [3]),
            ViewPayload("middle predictions"),
            diverged,
            second,
            ViewPayload("newest predictions"),
            step_batch(2, [4, 5]),
        ]
    )
    assert controller.deliver() == 11
    names = [n for n, _ in controller.seen]
    assert names == ["stepBatch", "epochEnded", "probe", "notice", "diverged", "probe", "view"]
    args = [a for _, a in controller.seen]
    np.testing.assert_array_equal(args[0].steps, [1, 2, 3, 4, 5])
    assert args[2] is first and args[5] is second
    assert args[3] == "fell back to the CPU"  # a notice goes out as its message
    assert args[4] is diverged
    assert args[6] == "newest predictions"  # the payload itself, not the ViewPayload
    assert names.count("view") == 1


def test_no_step_reports_means_no_step_signal(controller):
    controller._events.extend([Notice("hello"), ViewPayload(1), ViewPayload(2)])
    assert controller.deliver() == 3
    assert controller.seen == [("notice", "hello"), ("view", 2)]


def test_a_view_payload_of_none_is_still_delivered(controller):
    controller._events.append(ViewPayload(None))
    assert controller.deliver() == 1
    assert controller.seen == [("view", None)]


def test_a_second_delivery_finds_the_queue_empty(controller):
    controller._events.extend([step_batch(0, [1]), epoch_end(1, 1)])
    assert controller.deliver() == 2
    assert controller.deliver() == 0
    assert len(controller.seen) == 2


def tiny_experiment(epochs: int) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": "moons", "n_samples": 200, "noise": 0.2, "seed": 3},
            "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
            "loss": {"id": "bce_logits"},
            "optimizer": {"id": "adam", "lr": 0.01},
            "training": {"epochs": epochs, "batch_size": 32, "device": "cpu", "diagnostics_every": 0},
        }
    )


@pytest.mark.parametrize("frame_ms", [5, None], ids=["frames", "no-frames"])
def test_a_real_run_delivers_every_step_before_finished(qtbot, frame_ms):
    epochs = 6
    trainer = make_trainer(tiny_experiment(epochs))
    controller = TrainingController()
    view_calls: list[int] = []

    def view_fn(t):
        view_calls.append(t.step)
        return {"step": t.step}

    steps: list[np.ndarray] = []
    step_reports: list[int] = []  # the raw reports the worker queued
    ends: list[EpochEnd] = []
    views: list[object] = []
    running: list[bool] = []
    delivered_at_end: list[int] = []  # steps delivered by the time each epoch's end came

    def on_batch(b):
        steps.append(np.asarray(b.steps))

    def on_end(e):
        ends.append(e)
        delivered_at_end.append(sum(len(s) for s in steps))

    controller.stepBatch.connect(on_batch)
    controller.epochEnded.connect(on_end)
    controller.view.connect(views.append)
    controller.runningChanged.connect(running.append)
    failures: list[tuple[str, str]] = []
    controller.failed.connect(lambda m, tb: failures.append((m, tb)))

    # Count the worker's raw step reports as they are queued, without taking them out.
    class CountingDeque(type(controller._events)):
        def append(self, event):
            if isinstance(event, StepBatch):
                step_reports.append(len(event.steps))
            super().append(event)

    controller._events = CountingDeque()  # start() hands this queue to the worker

    # The window delivers once per frame; a fast timer stands in for it. Without one, everything is
    # delivered when the run ends, still before finished.
    timer = QTimer()
    if frame_ms is not None:
        timer.setInterval(frame_ms)
        timer.timeout.connect(controller.deliver)
        timer.start()
    try:
        with qtbot.waitSignal(controller.finished, timeout=60_000) as blocker:
            controller.start(trainer, view_fn=view_fn)
    finally:
        timer.stop()
        controller.stop()

    assert failures == []
    result = blocker.args[0]
    assert isinstance(result, Finished) and not result.stopped
    assert trainer.epoch == epochs
    # Every step of the run was delivered by the time finished came, once each and in order.
    all_steps = np.concatenate(steps)
    assert len(all_steps) == trainer.step
    np.testing.assert_array_equal(all_steps, np.arange(1, trainer.step + 1))
    assert sum(step_reports) == trainer.step
    # One epochEnded per epoch, each after its epoch's steps.
    assert [e.epoch for e in ends] == list(range(1, epochs + 1))
    assert all(done >= e.step for done, e in zip(delivered_at_end, ends, strict=True))
    # Predictions: asked for at least once, but not with every step report.
    assert len(view_calls) >= 1
    assert len(step_reports) >= epochs  # at least one report per epoch
    assert len(view_calls) < len(step_reports)
    assert views and views[-1] == {"step": trainer.step}  # the last predictions are the final ones
    assert running == [True, False]
    assert not controller.running
    assert controller.deliver() == 0
    if frame_ms is None:
        assert len(steps) == 1  # one merged report for the whole run
