"""The recorder through a real Trainer: epochs, steps, weights, statuses; races stored as groups."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from losslab.core.events import EpochEnd, Notice
from losslab.core.experiment import Experiment
from losslab.core.runs import DIVERGED, FINISHED, INTERRUPTED, STOPPED, Recorder, RunStore
from losslab.core.trainer import make_trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DOC = {
    "format": "losslab",
    "schema_version": 1,
    "name": "small moons",
    "dataset": {"kind": "moons", "n_samples": 300, "noise": 0.15, "seed": 1},
    "model": {"layers": [{"type": "linear", "units": 16}, {"type": "tanh"}]},
    "loss": {"id": "bce_logits"},
    "optimizer": {"id": "adam", "lr": 0.03},
    "training": {"epochs": 6, "batch_size": 32, "device": "cpu"},
}


def experiment(**training) -> Experiment:
    doc = copy.deepcopy(DOC)
    doc["training"].update(training)
    return Experiment.from_dict(doc)


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.sqlite3") as s:
        yield s


def test_a_run_is_recorded_from_the_trainers_events(store):
    trainer = make_trainer(experiment(), diagnostics=False)
    seen = []
    recorder = Recorder(store, trainer, tags=["t"], source="test")
    with recorder:
        trainer.run(recorder.wrap(seen.append))
    assert any(isinstance(e, EpochEnd) for e in seen)  # the wrapped callback still gets every event
    run = store.get_run(recorder.run_id)
    s = run.summary
    assert (s.status, s.epochs_done, s.steps_done, s.epochs_planned) == (FINISHED, 6, trainer.step, 6)
    assert s.architecture == "2-16-1" and s.param_count == sum(p.numel() for p in trainer.model.parameters())
    assert s.device == "cpu" and s.torch_version == torch.__version__ and s.tags == ("t",)
    assert s.started is not None and s.ended is not None and s.ended >= s.started
    assert run.epochs == trainer.history.rows  # the same rows history.csv holds
    assert s.final == trainer.history.rows[-1]
    best = min(trainer.history.rows, key=lambda r: r["val_loss"])
    assert s.best_epoch == best["epoch"] and s.best == best
    assert run.steps.tolist() == list(range(1, trainer.step + 1))  # small runs keep every step
    final = store.load_weights(recorder.run_id, "final")
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(final[key], value)
    assert run.weights["best"][0] == best["epoch"]
    assert store.experiment_of(recorder.run_id).to_dict() == trainer.experiment.to_dict()


def test_best_weights_are_the_best_epochs_even_between_saves(store):
    """Weights are written at most twice a second; the best epoch's are copied when it happens."""
    trainer = make_trainer(experiment(epochs=12), diagnostics=False)
    snapshots = {}

    def keep(event):
        if isinstance(event, EpochEnd):
            snapshots[event.epoch] = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    recorder = Recorder(store, trainer, flush_s=3600)  # nothing flushed until the end
    with recorder:
        trainer.run(recorder.wrap(keep))
    s = store.summary(recorder.run_id)
    best = store.load_weights(recorder.run_id, "best")
    assert s.best_epoch is not None
    for key, value in snapshots[s.best_epoch].items():
        assert torch.equal(best[key], value)


def test_long_runs_keep_at_most_max_steps_points(store):
    trainer = make_trainer(experiment(epochs=10, batch_size=8), diagnostics=False)  # 300 steps
    recorder = Recorder(store, trainer, max_steps=40, flush_s=0.0)
    with recorder:
        trainer.run(recorder.wrap())
    run = store.get_run(recorder.run_id)
    stride = run.summary.step_stride
    assert trainer.step == 300 and 20 <= len(run.steps) <= 40
    assert stride in (8, 16) and np.all((run.steps - 1) % stride == 0) and run.steps[0] == 1
    assert np.all(np.diff(run.steps) == stride)
    assert len(run.epochs) == 10  # epochs are never thinned


def test_a_diverging_run_is_marked_diverged(store):
    exp = Experiment.from_dict(
        {
            **copy.deepcopy(DOC),
            "dataset": {"kind": "house_prices", "n_samples": 200, "seed": 7},
            "loss": {"id": "mse"},
            "optimizer": {"id": "sgd", "lr": 50.0},
            "training": {"epochs": 20, "batch_size": 32, "device": "cpu"},
        }
    )
    trainer = make_trainer(exp, diagnostics=False)
    recorder = Recorder(store, trainer)
    with recorder:
        trainer.run(recorder.wrap())
    s = store.summary(recorder.run_id)
    assert s.status == DIVERGED and "diverged" in s.message


def test_ctrl_c_keeps_the_completed_epochs_as_stopped(store):
    trainer = make_trainer(experiment(epochs=50), diagnostics=False)
    recorder = Recorder(store, trainer)

    def interrupt(event):
        if isinstance(event, EpochEnd) and event.epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), recorder:
        trainer.run(recorder.wrap(interrupt))
    run = store.get_run(recorder.run_id)
    assert run.summary.status == STOPPED and "Ctrl-C" in run.summary.message
    assert [r["epoch"] for r in run.epochs] == [1, 2, 3] and "final" in run.weights


def test_an_error_in_training_marks_the_run_interrupted(store):
    trainer = make_trainer(experiment(epochs=50), diagnostics=False)
    recorder = Recorder(store, trainer)

    def fail(event):
        if isinstance(event, EpochEnd) and event.epoch == 2:
            raise ValueError("a plot broke")

    with pytest.raises(ValueError), recorder:
        trainer.run(recorder.wrap(fail))
    s = store.summary(recorder.run_id)
    assert s.status == INTERRUPTED and "a plot broke" in s.message and s.epochs_done == 2


def test_stop_from_the_controls_is_stopped(store):
    trainer = make_trainer(experiment(epochs=50), diagnostics=False)
    recorder = Recorder(store, trainer)

    def stop(event):
        if isinstance(event, EpochEnd) and event.epoch == 2:
            trainer.controls.stop()

    with recorder:
        trainer.run(recorder.wrap(stop))
    s = store.summary(recorder.run_id)
    assert s.status == STOPPED and s.epochs_done == 2


def test_a_history_that_cannot_be_written_does_not_stop_training(store):
    trainer = make_trainer(experiment(), diagnostics=False)
    recorder = Recorder(store, trainer)
    notices = []
    store.close()  # the file went away under us, say
    with recorder:
        finished = trainer.run(recorder.wrap(lambda e: notices.append(e) if isinstance(e, Notice) else None))
    assert len(finished.history) == 6
    assert len(notices) == 1 and "stopped recording" in notices[0].message
    assert recorder.error


def test_a_race_is_stored_as_a_group_of_runs(store):
    from losslab.core.race import plan_race, run_race
    from losslab.core.runs.race import race_recorder

    plan = plan_race(experiment(epochs=3), {"optimizer.lr": [0.01, 0.1]})
    result = run_race(plan, record=race_recorder(store, "cpu"))
    runs = store.groups(result.group_id)
    assert len(runs) == 2 and all(v.label in r.name for r, v in zip(runs, result.variants, strict=True))
    for r, v in zip(runs, result.variants, strict=True):
        assert r.status == FINISHED and r.epochs_done == 3 and r.tags == ("race",) and r.source == "race"
        assert r.lr == v.experiment.optimizer["lr"]
        assert store.get_run(r.id).epochs == v.history.rows
        weights = store.load_weights(r.id)
        assert all(torch.equal(weights[k], t.cpu()) for k, t in v.state_dict.items())
        assert not math.isnan(r.metric())


def test_training_on_after_a_stop_continues_the_same_run(store):
    trainer = make_trainer(experiment(epochs=3), diagnostics=False)
    recorder = Recorder(store, trainer)
    callback = recorder.wrap()
    with recorder:
        trainer.run(callback)
        assert store.summary(recorder.run_id).status == FINISHED
        recorder.resume()
        assert store.summary(recorder.run_id).status == "running"
        trainer.run(callback, epochs=5)
    run = store.get_run(recorder.run_id)
    assert run.summary.status == FINISHED and [r["epoch"] for r in run.epochs] == [1, 2, 3, 4, 5]
    assert run.steps.tolist() == list(range(1, trainer.step + 1))
