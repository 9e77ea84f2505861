"""Epoch ends evaluated on a second core (core/epoch_overlap.py): the same numbers, rows, events and
good weights as evaluating in place, and only where nothing needs them before the next step (#19)."""

from __future__ import annotations

import copy

import pytest
import torch

from losslab.core import epoch_overlap
from losslab.core.events import EpochEnd, Finished, StepBatch
from losslab.core.experiment import Experiment
from losslab.core.probe import Probe
from losslab.core.trainer import Trainer, make_trainer

WIDE = [{"type": "linear", "units": 128}, {"type": "relu"}] * 2  # 800 samples x 17k weights: overlapped


def experiment(layers=WIDE, training=None, optimizer=None, loss="bce_logits", regularization=None):
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": "moons", "n_samples": 1000, "noise": 0.2, "seed": 3, "val_fraction": 0.2},
            "model": {"layers": copy.deepcopy(layers)},
            "loss": {"id": loss},
            "optimizer": optimizer or {"id": "adam", "lr": 0.01},
            "training": {"epochs": 6, "batch_size": 64, "device": "cpu", "seed": 0, **(training or {})},
            "regularization": regularization or {"l1": 1e-4, "l2": 1e-3},
        }
    )


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    monkeypatch.setattr(epoch_overlap, "spare_core", lambda: True)  # as on any laptop, whatever CI has


def run(exp: Experiment, overlap: bool, probes=(), **kwargs):
    trainer = make_trainer(exp, diagnostics=False, **kwargs)
    trainer.probes.extend(probes)
    if not overlap:
        trainer._overlaps_evaluation = lambda: False
    events: list = []
    trainer.run(events.append)
    return trainer, events


def test_a_wide_headless_run_overlaps_and_a_small_one_does_not():
    assert make_trainer(experiment(), diagnostics=False)._overlaps_evaluation()
    small = [{"type": "linear", "units": 8}, {"type": "tanh"}]
    assert not make_trainer(experiment(layers=small), diagnostics=False)._overlaps_evaluation()


@pytest.mark.parametrize(
    "change",
    [
        {"training": {"batch_size": 0}},  # full batch: the evaluation is the next step's forward
        {"training": {"early_stopping": 3}},  # keeps the best epoch's weights
        {"optimizer": {"id": "adam", "lr": 0.01, "schedule": {"id": "plateau"}}},  # reads val loss
    ],
)
def test_runs_that_need_the_numbers_at_once_evaluate_in_place(change):
    assert not make_trainer(experiment(**change), diagnostics=False)._overlaps_evaluation()


def test_a_probe_that_acts_on_the_training_keeps_the_evaluation_in_place():
    trainer = make_trainer(experiment(), diagnostics=False)
    trainer.probes.append(Probe())  # one that only looks may see the epoch end a few steps later
    assert trainer._overlaps_evaluation()
    acting = Probe()
    acting.acts_at_epoch_end = True
    trainer.probes.append(acting)
    assert not trainer._overlaps_evaluation()


class Looker(Probe):
    """What a window's probe reads at epoch ends (the weights, the step, the last batch, outputs),
    and an event every third step."""

    every = 3

    def __init__(self):
        self.seen = []

    def on_step(self, trainer, xb, yb):
        return ("step probe", trainer.step)

    def on_epoch(self, trainer):
        weights = [p.detach().clone() for p in trainer.model.parameters()]
        xb, _ = trainer.last_batch
        self.seen.append(
            (trainer.epoch, trainer.step, weights, xb.clone(), trainer.outputs_now(trainer.x_train).clone())
        )
        return ("epoch probe", trainer.step)


def test_probes_see_the_epoch_end_as_it_was_and_events_keep_their_order():
    exp = experiment()
    ours, theirs = Looker(), Looker()
    a, a_events = run(exp, overlap=True, probes=[ours])
    b, b_events = run(exp, overlap=False, probes=[theirs])
    assert a._overlap is None and len(ours.seen) == len(theirs.seen) == 6
    for (e1, s1, w1, x1, o1), (e2, s2, w2, x2, o2) in zip(ours.seen, theirs.seen, strict=True):
        assert (e1, s1) == (e2, s2)
        assert all(torch.equal(p, q) for p, q in zip(w1, w2, strict=True))  # that epoch end's weights
        assert torch.equal(x1, x2) and torch.equal(o1, o2)
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True))

    def order(events):
        out = []
        for e in events:
            if isinstance(e, tuple):
                out.append(e)
            elif isinstance(e, EpochEnd):
                out.append(("epoch", e.step))
        return out

    assert order(a_events) == order(b_events)


def test_same_rows_weights_and_event_order_as_in_place(monkeypatch):
    exp = experiment()
    submitted = []
    submit = epoch_overlap.EpochOverlap.submit
    monkeypatch.setattr(
        epoch_overlap.EpochOverlap, "submit", lambda self, *a: (submitted.append(a[0]), submit(self, *a))
    )
    ours, our_events = run(exp, overlap=True)
    assert submitted == [1, 2, 3, 4, 5, 6]  # every epoch end went to the second core
    theirs, their_events = run(exp, overlap=False)
    assert len(ours.history.rows) == len(theirs.history.rows) == 6
    for a, b in zip(ours.history.rows, theirs.history.rows, strict=True):
        a = {k: v for k, v in a.items() if k != "elapsed_s"}
        b = {k: v for k, v in b.items() if k != "elapsed_s"}
        assert a == b  # exactly: the same operations on the same weights
    pairs = zip(ours.model.parameters(), theirs.model.parameters(), strict=True)
    assert all(torch.equal(p, q) for p, q in pairs)
    assert ours.train_outputs[0] == theirs.train_outputs[0]
    assert torch.equal(ours.train_outputs[1], theirs.train_outputs[1])

    def order(events):  # ("step", last step) and ("epoch", step) in the order they came
        out = []
        for e in events:
            if isinstance(e, StepBatch):
                out.extend(("step", int(s)) for s in e.steps)
            elif isinstance(e, EpochEnd):
                out.append(("epoch", e.step))
            elif isinstance(e, Finished):
                out.append(("finished", 0))
        return out

    assert order(our_events) == order(their_events)


def test_good_weights_are_an_epoch_ends_weights():
    exp = experiment(training={"epochs": 40})
    snapshots = []
    original = Trainer._snapshot

    def watch(self, good=None):
        original(self, good)
        snapshots.append(copy.deepcopy(self.last_good))

    Trainer._snapshot = watch
    try:
        ours, _ = run(exp, overlap=True)
    finally:
        Trainer._snapshot = original
    mid_run = [g for g in snapshots if 0 < g.epoch < 40]
    assert mid_run, "no snapshot during the run"
    good = mid_run[-1]
    assert good.step == good.epoch * ours.steps_per_epoch
    reference, _ = run(exp.replace("training", epochs=good.epoch), overlap=False)
    state = reference.model.state_dict()
    assert all(torch.equal(good.states["model"][k], state[k]) for k in state)


def test_a_stop_mid_run_keeps_every_finished_epoch():
    trainer = make_trainer(experiment(training={"epochs": 50}), diagnostics=False)
    events: list = []

    def stop_after_three_epochs(event):
        events.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 3:
            trainer.controls.stop()

    finished = trainer.run(stop_after_three_epochs)
    assert finished.stopped
    epochs = [e.epoch for e in events if isinstance(e, EpochEnd)]
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) >= 3
    assert len(trainer.history.rows) == len(epochs) == trainer.epoch


def test_an_error_in_the_evaluation_reaches_the_caller(monkeypatch):
    trainer = make_trainer(experiment(), diagnostics=False)
    assert trainer._overlaps_evaluation()

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(trainer, "_scores", broken)
    with pytest.raises(RuntimeError, match="evaluation broke"):
        trainer.run()
    assert trainer._overlap is None  # the evaluation thread was shut down


def test_outputs_now_recomputes_after_weights_are_swapped_in():
    trainer, _ = run(experiment(training={"epochs": 2}), overlap=True)
    final = trainer.outputs_now(trainer.x_train)
    assert final is trainer.train_outputs[1]  # the epoch end's outputs, reused
    flat = torch.nn.utils.parameters_to_vector(trainer.model.parameters())
    torch.nn.utils.vector_to_parameters(torch.zeros_like(flat), trainer.model.parameters())  # a lesson's swap
    swapped = trainer.outputs_now(trainer.x_train)
    assert torch.equal(swapped, trainer.outputs(trainer.x_train)) and not torch.equal(swapped, final)


def test_the_run_history_keeps_the_best_epochs_own_weights(tmp_path):
    from losslab.core.runs import BEST, Recorder, RunStore

    exp = experiment(training={"epochs": 8})
    with RunStore(tmp_path / "runs.sqlite3") as store:
        trainer = make_trainer(exp, diagnostics=False)
        recorder = Recorder(store, trainer, flush_s=0.0)  # weights saved at every epoch end
        with recorder:
            trainer.run(recorder.wrap())
        summary = store.get_run(recorder.run_id).summary
        best = store.load_weights(recorder.run_id, BEST)
    assert summary.best_epoch > 0
    reference, _ = run(exp.replace("training", epochs=summary.best_epoch), overlap=False)
    state = reference.model.state_dict()
    assert all(torch.equal(best[k], state[k]) for k in state)
