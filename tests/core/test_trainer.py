"""The training loop: determinism, controls from another thread, divergence, regularization, schedules."""

from __future__ import annotations

import copy
import math
import threading
import time

import numpy as np
import pytest
import torch

from losslab.core.errors import LossLabError
from losslab.core.events import Diverged, EpochEnd, Finished, Notice, StepBatch
from losslab.core.experiment import Experiment
from losslab.core.losses import LOSSES, suggested_loss
from losslab.core.metrics import METRIC_NAMES
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION
from losslab.core.trainer import Trainer, make_trainer

MOONS = {"kind": "moons", "n_samples": 300, "noise": 0.15, "seed": 1}
HOUSES = {"kind": "house_prices", "n_samples": 200, "seed": 7}
BLOBS = {"kind": "blobs", "n_classes": 3, "n_samples": 240, "spread": 0.6, "seed": 2}
DATASET_FOR_TASK = {REGRESSION: HOUSES, BINARY: MOONS, MULTICLASS: BLOBS}
MLP = [{"type": "linear", "units": 16}, {"type": "tanh"}]


def experiment(
    dataset=MOONS,
    loss="bce_logits",
    layers=MLP,
    optimizer=None,
    training=None,
    regularization=None,
    loss_params=None,
) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": copy.deepcopy(dataset),
            "model": {"layers": copy.deepcopy(layers)},
            "loss": {"id": loss, "params": loss_params or {}},
            "optimizer": optimizer or {"id": "adam", "lr": 0.03},
            "training": {"epochs": 5, "batch_size": 32, "device": "cpu", **(training or {})},
            "regularization": regularization or {},
        }
    )


class Recorder:
    """A callback that keeps every event."""

    def __init__(self) -> None:
        self.events: list = []

    def __call__(self, event) -> None:
        self.events.append(event)

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def steps(self) -> np.ndarray:
        batches = self.of(StepBatch)
        return np.concatenate([b.steps for b in batches]) if batches else np.array([], dtype=int)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]


# --- basics ----------------------------------------------------------------------------------


def test_same_seed_same_history():
    exp = experiment(training={"epochs": 4})
    first = Trainer(exp).run().history
    second = Trainer(exp).run().history
    assert without_time(first.rows) == without_time(second.rows)
    other_seed = Trainer(experiment(training={"epochs": 4, "seed": 1})).run().history
    assert without_time(other_seed.rows) != without_time(first.rows)


def test_reset_weights_starts_over_identically():
    trainer = Trainer(experiment(training={"epochs": 3}))
    first = without_time(trainer.run().history.rows)
    trainer.reset_weights()
    assert len(trainer.history) == 0 and trainer.step == 0 and trainer.epoch == 0
    assert without_time(trainer.run().history.rows) == first


def test_loss_falls_on_moons():
    rec = Recorder()
    trainer = Trainer(experiment(optimizer={"id": "adam", "lr": 0.05}, training={"epochs": 10}))
    initial, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    result = trainer.run(rec)
    h = result.history
    assert isinstance(result, Finished) and not result.stopped and result.diverged is None
    assert rec.events[-1] is result
    assert len(h) == 10 and h["epoch"] == list(range(1, 11))
    assert h["train_loss"][-1] < 0.3 * initial
    assert h["val_accuracy"][-1] >= 0.95
    # The per-step reports cover every step exactly once, in order.
    assert rec.steps().tolist() == list(range(1, trainer.step + 1))
    assert trainer.step == 10 * trainer.steps_per_epoch


def test_run_continues_where_it_stopped():
    trainer = Trainer(experiment(training={"epochs": 4}))
    trainer.run(epochs=2)
    assert trainer.epoch == 2 and len(trainer.history) == 2
    trainer.run()
    assert trainer.epoch == 4 and trainer.history["epoch"] == [1, 2, 3, 4]
    assert trainer.history["step"] == [trainer.steps_per_epoch * e for e in (1, 2, 3, 4)]


def test_full_batch_is_one_step_per_epoch():
    trainer = Trainer(experiment(training={"epochs": 3, "batch_size": 0}))
    assert trainer.batch_size == len(trainer.x_train) and trainer.steps_per_epoch == 1
    assert trainer.run().history["step"] == [1, 2, 3]


def test_batch_larger_than_the_data_is_the_full_batch():
    trainer = Trainer(experiment(training={"epochs": 2, "batch_size": 10_000}))
    assert trainer.steps_per_epoch == 1


def test_last_partial_batch_counts_as_a_step():
    trainer = Trainer(experiment(training={"epochs": 1, "batch_size": 100}))
    assert len(trainer.x_train) == 240
    assert trainer.steps_per_epoch == 3
    assert trainer.run().history["step"] == [3]


def test_batchnorm_never_sees_a_single_sample():
    # 41 samples, 8 held out: 33 to train on, so a batch of 32 would leave one sample over.
    layers = [{"type": "linear", "units": 8}, {"type": "batchnorm"}, {"type": "relu"}]
    exp = experiment(dataset={**MOONS, "n_samples": 41}, layers=layers, training={"epochs": 2})
    trainer = Trainer(exp)
    assert len(trainer.x_train) == 33
    assert trainer.batch_ends == [33] and trainer.steps_per_epoch == 1
    assert len(trainer.run().history) == 2
    plain = Trainer(experiment(dataset={**MOONS, "n_samples": 41}, training={"epochs": 1}))
    assert plain.batch_ends == [32, 33]  # without BatchNorm a lone sample is a batch of its own


def test_batchnorm_with_one_training_sample_is_a_clear_error():
    layers = [{"type": "linear", "units": 4}, {"type": "batchnorm"}]
    exp = experiment(dataset={**MOONS, "n_samples": 10, "val_fraction": 0.9}, layers=layers)
    with pytest.raises(LossLabError) as info:
        Trainer(exp)
    assert info.value.field == "model.layers"


def test_no_validation_split_gives_nan_validation_loss():
    h = Trainer(experiment(dataset={**MOONS, "val_fraction": 0.0}, training={"epochs": 2})).run().history
    assert all(math.isnan(v) for v in h["val_loss"])
    assert all(math.isfinite(v) for v in h["train_loss"])


def test_loss_that_does_not_fit_the_data_is_refused():
    exp = experiment(dataset={"kind": "csv", "path": "unused.csv"}, loss="cross_entropy")
    from losslab.core.data import make_dataset

    dataset = make_dataset(HOUSES)
    with pytest.raises(LossLabError) as info:
        Trainer(exp, dataset)
    assert info.value.field == "loss.id"


# --- controls from another thread ------------------------------------------------------------


def wait_until(condition, timeout=10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.002)


class Checkpoints:
    """Records the step count each time the trainer stops at a batch boundary to look at its controls.

    The trainer calls ``controls.wait_for_batch()`` between batches whenever a request is pending;
    while paused it blocks inside, so the step count recorded on entry is where it is held.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.reached = threading.Event()
        self.step = -1
        real = trainer.controls.wait_for_batch

        def wait_for_batch() -> bool:
            self.step = trainer.step
            self.reached.set()
            return real()

        trainer.controls.wait_for_batch = wait_for_batch

    def after(self, request) -> int:
        """Make a control request and return the step count at the next batch boundary."""
        self.reached.clear()
        request()
        assert self.reached.wait(10), "the trainer never reached a batch boundary"
        return self.step


def test_pause_step_resume_stop_from_another_thread():
    trainer = Trainer(experiment(training={"epochs": 100_000}))
    controls = trainer.controls
    checkpoints = Checkpoints(trainer)
    rec = Recorder()
    results = []
    thread = threading.Thread(target=lambda: results.append(trainer.run(rec)), daemon=True)
    thread.start()
    try:
        wait_until(lambda: trainer.step >= 20)

        before = trainer.step
        paused_at = checkpoints.after(controls.pause)
        assert before <= paused_at <= before + 1  # at most the batch already under way finishes
        time.sleep(0.2)
        assert trainer.step == paused_at and controls.paused and thread.is_alive()

        # One batch, then held again at the very next boundary.
        assert checkpoints.after(controls.step_once) == paused_at + 1
        time.sleep(0.1)
        assert trainer.step == paused_at + 1

        assert checkpoints.after(controls.step_once) == paused_at + 2
        assert trainer.step == paused_at + 2

        controls.resume()
        wait_until(lambda: trainer.step > paused_at + 50)
        assert not controls.paused

        before = trainer.step
        controls.stop()
        thread.join(10)
        assert not thread.is_alive()
    finally:
        controls.stop()
        thread.join(10)
    (result,) = results
    assert result.stopped and result.diverged is None
    assert before <= trainer.step <= before + 1
    assert rec.steps().tolist() == list(range(1, trainer.step + 1))  # no step lost or reported twice
    assert rec.events[-1] is result


def test_stop_while_paused_ends_the_run():
    trainer = Trainer(experiment(training={"epochs": 100_000}))
    trainer.controls.pause()  # paused before the first batch
    results = []
    thread = threading.Thread(target=lambda: results.append(trainer.run()), daemon=True)
    thread.start()
    time.sleep(0.2)
    assert trainer.step == 0
    trainer.controls.stop()
    thread.join(10)
    assert not thread.is_alive() and results[0].stopped and trainer.step == 0


def test_set_lr_mid_run_changes_the_optimizer():
    trainer = Trainer(experiment(training={"epochs": 4}))

    def callback(event):
        if isinstance(event, EpochEnd) and event.epoch == 2:
            trainer.controls.set_lr(0.123)

    h = trainer.run(callback).history
    assert h["lr"] == pytest.approx([0.03, 0.03, 0.123, 0.123])
    assert all(group["lr"] == pytest.approx(0.123) for group in trainer.optimizer.param_groups)


def test_set_learning_rate_keeps_the_schedule_on_top():
    exp = experiment(
        optimizer={
            "id": "sgd",
            "lr": 0.1,
            "schedule": {"id": "step", "params": {"step_size": 1, "gamma": 0.5}},
        },
        training={"epochs": 3},
    )
    trainer = Trainer(exp)

    def callback(event):
        if isinstance(event, EpochEnd) and event.epoch == 1:
            trainer.set_learning_rate(1.0)

    assert trainer.run(callback).history["lr"] == pytest.approx([0.1, 0.5, 0.25])


# --- divergence ------------------------------------------------------------------------------


def test_lr_too_high_diverges_with_epoch_and_step():
    exp = experiment(
        dataset=HOUSES, loss="mse", layers=[], optimizer={"id": "sgd", "lr": 10.0}, training={"epochs": 30}
    )
    rec = Recorder()
    trainer = Trainer(exp)
    result = trainer.run(rec)
    (diverged,) = rec.of(Diverged)
    assert result.diverged is diverged and not result.stopped
    # Caught as a loss explosion (over 1000x the starting loss) before it overflows to inf/NaN.
    assert not math.isfinite(diverged.value) or "exploded" in diverged.message
    assert diverged.step == trainer.step and diverged.epoch == trainer.epoch + 1
    assert f"epoch {diverged.epoch}, step {diverged.step}" in diverged.message
    assert "learning rate" in diverged.message and "Huber" in diverged.message  # advice for MSE
    assert trainer.epoch < 30  # the run ended early
    assert len(result.history) == trainer.epoch
    # The last report still includes the step that blew up, then Diverged, then Finished.
    assert rec.steps()[-1] == diverged.step
    assert rec.events[-2] is diverged and rec.events[-1] is result


def test_nan_loss_is_caught_at_its_step():
    trainer = Trainer(experiment(training={"epochs": 3}))
    assert trainer.steps_per_epoch == 8
    real, calls = trainer.data_loss, []

    def data_loss(out, target):
        value = real(out, target)
        if torch.is_grad_enabled():  # a training step, not an evaluation (those run under no_grad)
            calls.append(1)
            if len(calls) == 11:
                return value * math.nan
        return value

    trainer.data_loss = data_loss
    rec = Recorder()
    result = trainer.run(rec)
    assert result.diverged is not None and math.isnan(result.diverged.value)
    assert (result.diverged.epoch, result.diverged.step) == (2, 11)
    assert "NaN" in result.diverged.message and "epoch 2, step 11" in result.diverged.message
    assert len(result.history) == 1 and trainer.step == 11


def test_gradient_clipping_runs_and_is_applied(monkeypatch):
    calls = []
    real = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):
        calls.append(max_norm)
        return real(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    exp = experiment(optimizer={"id": "sgd", "lr": 0.5, "grad_clip": 0.25}, training={"epochs": 2})
    trainer = Trainer(exp)
    h = trainer.run().history
    assert calls == [0.25] * trainer.step
    assert all(math.isfinite(v) for v in h["train_loss"])


def test_no_clipping_when_off(monkeypatch):
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **k: pytest.fail("clipped"))
    Trainer(experiment(training={"epochs": 1})).run()


def test_clipping_tames_a_learning_rate_that_diverges_without_it():
    exp = experiment(
        dataset=HOUSES,
        loss="mse",
        layers=[],
        optimizer={"id": "sgd", "lr": 10.0, "grad_clip": 0.01},
        training={"epochs": 5},
    )
    result = Trainer(exp).run()
    assert result.diverged is None and all(math.isfinite(v) for v in result.history["train_loss"])


# --- regularization --------------------------------------------------------------------------


def test_regularization_terms_are_reported_separately():
    exp = experiment(regularization={"l1": 0.001, "l2": 0.01}, training={"epochs": 3})
    rec = Recorder()
    trainer = Trainer(exp)
    trainer.run(rec)
    batches = rec.of(StepBatch)
    for b in batches:
        assert b.l1 is not None and b.l2 is not None
        assert len(b.l1) == len(b.l2) == len(b.steps) == len(b.loss) == len(b.data_loss)
        assert np.all(b.l1 > 0) and np.all(b.l2 > 0)
        assert np.all(b.data_loss < b.loss)
        np.testing.assert_allclose(b.loss, b.data_loss + b.l1 + b.l2, rtol=1e-5)
    for e in rec.of(EpochEnd):
        assert e.l1 > 0 and e.l2 > 0
    # The epoch's terms are the penalties of the weights as they are at the end of the epoch.
    weights = [p.detach() for p in trainer.model.parameters() if p.ndim > 1]
    last = rec.of(EpochEnd)[-1]
    assert last.l1 == pytest.approx(0.001 * sum(float(w.abs().sum()) for w in weights), rel=1e-5)
    assert last.l2 == pytest.approx(0.01 * sum(float(w.pow(2).sum()) for w in weights), rel=1e-5)
    assert trainer.history["l2"][-1] == pytest.approx(last.l2)


def test_without_regularization_total_equals_data_loss():
    rec = Recorder()
    Trainer(experiment(training={"epochs": 1})).run(rec)
    for b in rec.of(StepBatch):
        assert b.l1 is None and b.l2 is None
        np.testing.assert_array_equal(b.loss, b.data_loss)
    assert all(e.l1 == 0 and e.l2 == 0 for e in rec.of(EpochEnd))


def test_only_one_term_when_only_one_is_on():
    rec = Recorder()
    Trainer(experiment(regularization={"l2": 0.01}, training={"epochs": 1})).run(rec)
    assert all(b.l1 is None and b.l2 is not None for b in rec.of(StepBatch))


def test_l2_keeps_weights_smaller():
    def weight_norm(reg):
        trainer = Trainer(experiment(regularization=reg, training={"epochs": 10}))
        trainer.run()
        return sum(float(p.detach().pow(2).sum()) for p in trainer.model.parameters() if p.ndim > 1)

    assert weight_norm({"l2": 0.05}) < 0.5 * weight_norm({})


# --- learning-rate schedules -----------------------------------------------------------------


def schedule_lrs(schedule, lr=0.1, epochs=6, **training):
    exp = experiment(
        optimizer={"id": "sgd", "lr": lr, "schedule": schedule}, training={"epochs": epochs, **training}
    )
    return Trainer(exp).run().history["lr"]


def test_constant_schedule():
    assert schedule_lrs({"id": "constant"}) == pytest.approx([0.1] * 6)


def test_step_schedule():
    lrs = schedule_lrs({"id": "step", "params": {"step_size": 2, "gamma": 0.5}})
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_exponential_schedule():
    lrs = schedule_lrs({"id": "exponential", "params": {"gamma": 0.8}})
    assert lrs == pytest.approx([0.1 * 0.8**e for e in range(6)])


def test_cosine_schedule():
    lrs = schedule_lrs({"id": "cosine", "params": {"min_factor": 0.1}}, epochs=5)
    expected = [0.1 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * e / 5))) for e in range(5)]
    assert lrs == pytest.approx(expected)
    assert lrs == sorted(lrs, reverse=True)


def test_cosine_holds_its_final_rate_past_the_planned_epochs():
    exp = experiment(
        optimizer={"id": "sgd", "lr": 0.1, "schedule": {"id": "cosine", "params": {"min_factor": 0.2}}},
        training={"epochs": 2},
    )
    trainer = Trainer(exp)
    trainer.run(epochs=5)
    assert trainer.history["lr"][2:] == pytest.approx([0.02, 0.02, 0.02])


def test_warmup_ramps_linearly_then_holds():
    # 240 training samples, batch 80: 3 steps per epoch, so 2 warm-up epochs are 6 steps.
    lrs = schedule_lrs({"id": "constant", "warmup_epochs": 2}, epochs=4, batch_size=80)
    assert lrs == pytest.approx([0.1 * 3 / 6, 0.1, 0.1, 0.1])


def test_warmup_multiplies_the_schedule():
    lrs = schedule_lrs(
        {"id": "step", "params": {"step_size": 1, "gamma": 0.5}, "warmup_epochs": 1}, epochs=3, batch_size=0
    )
    assert lrs == pytest.approx([0.1, 0.05, 0.025])  # one full-batch step: the warm-up is done at once


def test_plateau_cuts_the_rate_when_validation_stops_improving():
    # A wide network on a few noisy points overfits fast, so the validation loss soon stops improving.
    exp = experiment(
        dataset={"kind": "circles", "n_samples": 100, "noise": 0.1, "label_noise": 0.2, "val_fraction": 0.5},
        layers=[{"type": "linear", "units": 64}, {"type": "relu"}] * 2,
        optimizer={
            "id": "adam",
            "lr": 0.01,
            "schedule": {"id": "plateau", "params": {"factor": 0.5, "patience": 2}},
        },
        training={"epochs": 30, "batch_size": 0},
    )
    h = Trainer(exp).run().history
    # Replay the rule on the trainer's own validation losses: the lr of each epoch must match.
    factor, best, bad, expected = 1.0, math.inf, 0, []
    for val_loss in h["val_loss"]:
        expected.append(0.01 * factor)
        if val_loss < best - 1e-12:
            best, bad = val_loss, 0
        else:
            bad += 1
            if bad > 2:
                factor, bad = factor * 0.5, 0
    assert h["lr"] == pytest.approx(expected)
    assert h["lr"][-1] < 0.01  # it did cut


# --- devices ---------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: nothing to fall back from")
def test_cuda_request_falls_back_to_cpu_with_a_notice():
    rec = Recorder()
    trainer = Trainer(experiment(training={"epochs": 1, "device": "cuda"}))
    assert trainer.device == "cpu"
    trainer.run(rec)
    assert isinstance(rec.events[0], Notice) and "CUDA" in rec.events[0].message
    assert len(rec.of(Notice)) == 1
    rec2 = Recorder()
    trainer.run(rec2, epochs=2)
    assert not rec2.of(Notice)  # said once, not on every run


def test_device_argument_overrides_the_experiment():
    trainer = Trainer(experiment(training={"epochs": 1, "device": "cuda"}), device="cpu")
    assert trainer.device == "cpu" and trainer.device_notice is None


# --- every loss, every task ------------------------------------------------------------------

LOSS_TASKS = [(spec.id, task) for spec in LOSSES.values() for task in sorted(spec.tasks) if task != GAN]


@pytest.mark.parametrize(("loss_id", "task"), LOSS_TASKS, ids=[f"{a}-{b}" for a, b in LOSS_TASKS])
def test_every_loss_trains_on_its_tasks(loss_id, task):
    exp = experiment(dataset=DATASET_FOR_TASK[task], loss=loss_id, training={"epochs": 3})
    trainer = Trainer(exp)
    before, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    result = trainer.run()
    h = result.history
    assert result.diverged is None and len(h) == 3
    assert all(math.isfinite(v) for v in h["train_loss"] + h["val_loss"])
    assert h["train_loss"][-1] < before
    for split in ("train", "val"):
        for metric in METRIC_NAMES[task]:
            assert math.isfinite(h[f"{split}_{metric}"][-1]), (split, metric)


@pytest.mark.parametrize("task", [REGRESSION, BINARY, MULTICLASS])
def test_metrics_per_task(task):
    loss = suggested_loss(task).id
    trainer = Trainer(experiment(dataset=DATASET_FOR_TASK[task], loss=loss, training={"epochs": 8}))
    h = trainer.run().history
    expected = {f"{split}_{m}" for split in ("train", "val") for m in METRIC_NAMES[task]}
    others = {f"{split}_{m}" for split in ("train", "val") for names in METRIC_NAMES.values() for m in names}
    assert expected <= set(h.columns)
    assert not (others - expected) & set(h.columns)
    assert {"epoch", "step", "train_loss", "val_loss", "lr", "l1", "l2", "elapsed_s"} <= set(h.columns)
    if task == REGRESSION:
        assert h["val_r2"][-1] > 0.8
        assert h["val_mae"][-1] > 1000  # in dollars, not standardized units
    else:
        assert 0.8 <= h["val_accuracy"][-1] <= 1.0 and 0.0 <= h["val_f1"][-1] <= 1.0


def test_class_decisions_follow_the_output_kind():
    probs = Trainer(experiment(loss="bce", training={"epochs": 1}))
    logits = Trainer(experiment(loss="bce_logits", training={"epochs": 1}))
    out = torch.tensor([0.2, 0.4, 0.6])
    assert probs.labels(out).tolist() == [0, 0, 1]  # probabilities: threshold 0.5
    assert logits.labels(out).tolist() == [1, 1, 1]  # logits: threshold 0
    assert logits.labels(torch.tensor([[0.1, 0.9], [2.0, -1.0]])).tolist() == [1, 0]


def test_predict_is_in_display_units():
    trainer = Trainer(experiment(dataset=HOUSES, loss="mse", layers=[], training={"epochs": 20}))
    trainer.run()
    prices = trainer.predict(np.array([[1000.0], [3000.0]]))
    true = 50_000 + 150 * np.array([1000.0, 3000.0])
    assert np.all(np.abs(prices - true) < 30_000)
    moons = Trainer(experiment(training={"epochs": 1}))
    p = moons.predict(np.array([[0.0, 0.0], [1.0, 0.5]]))
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


def test_make_trainer_picks_the_gan_trainer_for_gan_data():
    from losslab.core.gan import GanTrainer

    exp = experiment(dataset={"kind": "gan_1d", "n_samples": 100}, loss="gan_g_nonsat", layers=MLP)
    assert isinstance(make_trainer(exp), GanTrainer)
    assert type(make_trainer(experiment(training={"epochs": 1}))) is Trainer


def test_evaluation_switches_to_eval_mode_only_where_it_matters():
    layers = [{"type": "linear", "units": 16}, {"type": "dropout", "p": 0.5}, {"type": "relu"}]
    dropout = experiment(layers=layers)
    trainer = Trainer(dropout)
    x = trainer.x_train[:64]
    first, second = trainer.outputs(x), trainer.outputs(x)
    assert torch.equal(first, second)  # evaluation mode: no dropout masks
    assert trainer.model.training  # and training mode again afterwards
    plain = Trainer(experiment())
    assert not plain._mode_matters  # nothing to switch: evaluation skips the walk over the modules
    assert torch.equal(plain.outputs(x), plain.outputs(x)) and plain.model.training


def test_a_hold_keeps_the_training_at_a_batch_boundary_until_released():
    """The window holds a training while it builds and paints a tab (Controls.hold): the run waits
    at the next batch boundary, loses no step, is not paused, and goes on when released."""
    trainer = Trainer(experiment(training={"epochs": 100_000}))
    controls = trainer.controls
    checkpoints = Checkpoints(trainer)
    rec = Recorder()
    thread = threading.Thread(target=lambda: trainer.run(rec), daemon=True)
    thread.start()
    try:
        wait_until(lambda: trainer.step >= 20)
        before = trainer.step
        held_at = checkpoints.after(controls.hold)
        assert before <= held_at <= before + 1
        time.sleep(0.2)
        assert trainer.step == held_at and not controls.paused
        controls.release()
        wait_until(lambda: trainer.step > held_at + 20)
    finally:
        controls.stop()
        thread.join(10)
    assert rec.steps().tolist() == list(range(1, trainer.step + 1))


def test_a_hold_never_released_ends_after_its_limit(monkeypatch):
    from losslab.core import controls as controls_module

    monkeypatch.setattr(controls_module, "HOLD_LIMIT_S", 0.2)
    trainer = Trainer(experiment(training={"epochs": 100_000}))
    started = time.perf_counter()
    trainer.controls.hold()  # and never released
    thread = threading.Thread(target=trainer.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: trainer.step >= 5)
        assert time.perf_counter() - started >= 0.2
        assert not trainer.controls.pending  # the batches after it run without looking again
    finally:
        trainer.controls.stop()
        thread.join(10)
