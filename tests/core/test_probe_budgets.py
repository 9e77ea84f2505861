"""Probes that hold back to spare the training: GradientHealthProbe's time budget and the per-sample
probe's watchers (measure only while a view shows the measurements)."""

from __future__ import annotations

import pytest

from losslab.core.diagnostics import GradientHealthProbe, GradientStats
from losslab.core.events import EpochEnd
from losslab.core.experiment import Experiment
from losslab.core.per_sample import PerSampleLosses, PerSampleProbe
from losslab.core.trainer import Trainer, make_trainer


def experiment(epochs: int = 3, diagnostics_every: int = 0, batch_size: int = 16) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": "moons", "n_samples": 200, "noise": 0.2, "seed": 2},
            "model": {
                "layers": [
                    {"type": "linear", "units": 8},
                    {"type": "relu"},
                    {"type": "linear", "units": 8},
                    {"type": "tanh"},
                ]
            },
            "loss": {"id": "bce_logits"},
            "optimizer": {"id": "sgd", "lr": 0.05},
            "training": {
                "epochs": epochs,
                "batch_size": batch_size,
                "device": "cpu",
                "diagnostics_every": diagnostics_every,
            },
        }
    )


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def gradient_report_steps(probe: GradientHealthProbe, epochs: int = 3) -> tuple[Trainer, list[int]]:
    trainer = make_trainer(experiment(epochs))
    trainer.probes.append(probe)
    events = []
    trainer.run(events.append)
    return trainer, [e.step for e in events if isinstance(e, GradientStats)]


# -- GradientHealthProbe(budget=...) ------------------------------------------------------------
@pytest.mark.parametrize("interval", [1, 3, 7])
def test_without_a_budget_it_reports_exactly_every_interval_and_the_first_step(interval):
    trainer, steps = gradient_report_steps(GradientHealthProbe(interval, budget=None))
    assert trainer.step > 2 * interval
    want = sorted({1, *range(interval, trainer.step + 1, interval)})
    assert steps == want


def test_a_tiny_budget_reports_the_first_step_and_then_practically_never():
    probe = GradientHealthProbe(2, budget=1e-9)
    trainer, steps = gradient_report_steps(probe)
    assert trainer.step >= 30
    # The first report costs far more than 1e-9 of a short run's time: it is never earned back.
    assert steps == [1]


def test_a_budget_makes_no_more_reports_than_none_and_only_on_report_steps():
    _, free = gradient_report_steps(GradientHealthProbe(2, budget=None))
    for budget in (1e-9, 0.01, 0.5):
        _, limited = gradient_report_steps(GradientHealthProbe(2, budget=budget))
        assert len(limited) <= len(free)
        assert set(limited) <= set(free)  # the same report steps, some skipped
        assert limited[0] == 1
        assert limited == sorted(limited)


def test_a_budget_through_the_trainer_reaches_its_gradient_probe():
    exp = experiment(3, diagnostics_every=2)
    free = Trainer(exp)
    limited = Trainer(exp, diagnostics_budget=1e-9)
    probes = [p for p in limited.probes if isinstance(p, GradientHealthProbe)]
    assert len(probes) == 1 and probes[0].budget == 1e-9 and probes[0].interval == 2
    assert [p.budget for p in free.probes if isinstance(p, GradientHealthProbe)] == [None]
    seen_free, seen_limited = [], []
    free.run(seen_free.append)
    limited.run(seen_limited.append)
    n_free = sum(isinstance(e, GradientStats) for e in seen_free)
    assert n_free == 1 + free.step // 2
    assert [e.step for e in seen_limited if isinstance(e, GradientStats)] == [1]


def test_a_budgeted_report_still_measures_the_same_gradients():
    # The budget only decides when: a report it lets through equals the unbudgeted one of that step.
    trainer_a = make_trainer(experiment(1))
    trainer_b = make_trainer(experiment(1))
    trainer_a.probes.append(GradientHealthProbe(4, budget=None))
    trainer_b.probes.append(GradientHealthProbe(4, budget=1e-9))
    ea, eb = [], []
    trainer_a.run(ea.append)
    trainer_b.run(eb.append)
    first_a = next(e for e in ea if isinstance(e, GradientStats))
    first_b = next(e for e in eb if isinstance(e, GradientStats))
    assert first_a.step == first_b.step == 1
    assert first_a.grad_norm.tolist() == pytest.approx(first_b.grad_norm.tolist())


# -- PerSampleProbe.watch ----------------------------------------------------------------------
def per_sample_run(
    probe: PerSampleProbe,
    epochs: int = 3,
    run_epochs: int | None = None,
    trainer: Trainer | None = None,
    on_event=None,
):
    trainer = trainer or make_trainer(experiment(epochs))
    if probe not in trainer.probes:
        trainer.probes.append(probe)
    events: list[PerSampleLosses] = []

    def callback(e):
        if isinstance(e, PerSampleLosses):
            events.append(e)
        if on_event is not None:
            on_event(e)

    trainer.run(callback, epochs=run_epochs)
    return trainer, events


def eager() -> PerSampleProbe:
    """Measures at every chance it gets (no rate limit worth the name)."""
    return PerSampleProbe(interval=0.0, budget=1.0)


def test_never_told_it_measures_as_before():
    probe = eager()
    assert probe.watched
    trainer, events = per_sample_run(probe)
    assert probe.watched
    assert probe.measurements == len(events) >= 2
    assert events[0].step == 1  # the very first step is measured
    assert events[-1].step == trainer.step  # the end of training has its picture
    # Measurements during the run, not only at its end.
    assert any(e.epoch < 3 for e in events)


def test_unwatched_it_measures_only_at_the_end_of_the_planned_training():
    probe = eager()
    view = object()
    probe.watch(view, False)
    assert not probe.watched
    trainer, events = per_sample_run(probe, epochs=3)
    assert probe.measurements == 1
    assert [(e.epoch, e.step) for e in events] == [(3, trainer.step)]


def test_unwatched_and_stopped_before_the_planned_end_it_measures_nothing():
    probe = eager()
    probe.watch("tab", False)
    trainer = make_trainer(experiment(3))
    trainer, events = per_sample_run(probe, trainer=trainer, run_epochs=2)
    assert trainer.epoch == 2
    assert events == [] and probe.measurements == 0
    # Going on to the planned end: that end is measured.
    trainer, events = per_sample_run(probe, trainer=trainer)
    assert trainer.epoch == 3
    assert [(e.epoch, e.step) for e in events] == [(3, trainer.step)]


def test_on_step_and_on_epoch_directly_while_unwatched():
    probe = eager()
    probe.watch(1, False)
    trainer = make_trainer(experiment(3))
    xb, yb = trainer.x_train[:16], trainer.y_train[:16]
    trainer.step, trainer.epoch = 5, 1
    assert probe.on_step(trainer, xb, yb) is None
    assert probe.on_epoch(trainer) is None  # not the last planned epoch
    trainer.epoch = 3
    last = probe.on_epoch(trainer)
    assert isinstance(last, PerSampleLosses) and last.epoch == 3 and last.step == 5
    assert probe.on_epoch(trainer) is None  # that step has its measurement already
    probe.watch(1, True)
    trainer.step = 6
    assert isinstance(probe.on_step(trainer, xb, yb), PerSampleLosses)


def test_watching_again_resumes_the_measurements():
    probe = eager()
    view = object()
    probe.watch(view, False)
    trainer = make_trainer(experiment(4))
    trainer, events = per_sample_run(probe, trainer=trainer, run_epochs=1)
    assert events == []
    probe.watch(view, True)
    assert probe.watched
    first_step = trainer.step + 1
    trainer, events = per_sample_run(probe, trainer=trainer, run_epochs=3)
    assert events and events[0].step == first_step
    assert any(e.epoch < 4 for e in events)


def test_watching_again_mid_run_resumes_from_then_on():
    probe = eager()
    view = object()
    probe.watch(view, False)
    ends: dict[int, int] = {}

    def on_event(e):
        if isinstance(e, EpochEnd):
            ends[e.epoch] = e.step
            if e.epoch == 1:
                probe.watch(view, True)  # the tab is shown after the first epoch

    _, events = per_sample_run(probe, epochs=3, on_event=on_event)
    assert events
    assert all(e.step >= ends[1] for e in events)  # nothing measured before the view watched
    assert any(e.step > ends[1] and e.epoch == 1 for e in events)  # measured during epoch 2
    assert len(events) > 1


def test_watchers_are_counted_per_view():
    probe = PerSampleProbe()
    a, b = object(), object()
    probe.watch(a, True)
    probe.watch(b, True)
    probe.watch(a, False)
    assert probe.watched  # b still watches
    probe.watch(b, True)  # saying it twice does not count twice
    probe.watch(b, False)
    assert not probe.watched
    probe.watch(a, False)  # a view that was not watching says it again: still nobody
    assert not probe.watched
    probe.watch(a, True)
    assert probe.watched
