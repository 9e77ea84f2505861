"""Divergence: NaN/inf and loss explosions are caught; the last good weights come back with half the rate."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from losslab.core.events import Diverged
from losslab.core.experiment import Experiment
from losslab.core.trainer import EXPLOSION_FACTOR, Trainer, make_trainer

HOUSES = {"kind": "house_prices", "n_samples": 300, "noise": 1.0, "seed": 7}


def experiment(lr: float, epochs: int = 30, **training) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": copy.deepcopy(HOUSES),
            "model": {"layers": []},
            "loss": {"id": "mse"},
            "optimizer": {"id": "sgd", "lr": lr},
            "training": {"epochs": epochs, "batch_size": 32, "device": "cpu", **training},
        }
    )


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sgd_with_learning_rate_10_on_house_prices_diverges_and_is_caught():
    events = []
    trainer = Trainer(experiment(10.0))
    result = trainer.run(events.append)
    (diverged,) = [e for e in events if isinstance(e, Diverged)]
    assert result.diverged is diverged and trainer.epoch < 30
    # Caught as an explosion while still finite: the weights never overflowed.
    assert math.isfinite(diverged.value) and "exploded" in diverged.message
    assert diverged.value > EXPLOSION_FACTOR * 0.5
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_restore_last_good_halves_the_rate_and_the_run_resumes_finite():
    trainer = Trainer(experiment(1.5, epochs=20))
    first = trainer.run()
    assert first.diverged is not None and first.diverged.epoch == 1
    initial = {k: v.clone() for k, v in trainer.initial_state.items()}
    good = trainer.restore_last_good(halve_lr=True)
    assert good is not None and good.epoch == 0  # diverged within epoch 1: the initial weights
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in initial.items())
    assert trainer.lr.base_lr == pytest.approx(0.75) and trainer.lr.lr == pytest.approx(0.75)
    step = trainer.step
    second = trainer.run()
    assert second.diverged is None and not second.stopped
    assert trainer.step > step  # the step count goes on
    assert all(math.isfinite(v) for v in second.history["train_loss"])
    assert second.history["train_loss"][-1] < 0.1


def test_the_snapshot_follows_good_epochs_and_skips_blown_up_ones():
    trainer = Trainer(experiment(0.05, epochs=3))
    trainer.run()
    # Snapshots are throttled in time, but a run that ends on a good epoch always keeps that one.
    assert trainer.last_good.epoch == 3 and trainer.last_good.step == trainer.step
    # A restore without halving puts back exactly the last good weights and optimizer state.
    saved = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1e6)
    trainer.restore_last_good(halve_lr=False)
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in saved.items())
    assert trainer.lr.base_lr == pytest.approx(0.05)


def test_restoring_twice_starts_from_the_same_snapshot():
    trainer = Trainer(experiment(10.0))
    trainer.run()
    trainer.restore_last_good()
    first = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.run()  # 5.0 still diverges
    trainer.restore_last_good()
    assert trainer.lr.base_lr == pytest.approx(2.5)
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in first.items())


def test_halving_until_it_trains_gets_there():
    trainer = Trainer(experiment(10.0, epochs=10))
    for _ in range(12):
        if trainer.run().diverged is None:
            break
        trainer.restore_last_good()
    assert trainer.epoch == 10 and trainer.lr.base_lr <= 1.25


def test_gan_losses_are_not_mistaken_for_an_explosion():
    exp = Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": "gan_ring", "n_samples": 256},
            "model": {"layers": [{"type": "linear", "units": 16}, {"type": "relu"}]},
            "loss": {"id": "gan_g_nonsat"},
            "optimizer": {"id": "adam", "lr": 0.002},
            "training": {"epochs": 2, "batch_size": 64, "device": "cpu"},
        }
    )
    trainer = make_trainer(exp)
    assert trainer.detect_explosion is False
    result = trainer.run()
    assert result.diverged is None and trainer._explode_at == math.inf
    assert set(trainer.last_good.states) == {"model", "optimizer", "discriminator", "d_optimizer"}


def test_a_stopped_run_can_be_resumed():
    trainer = Trainer(experiment(0.05, epochs=4))
    trainer.controls.stop()
    first = trainer.run()
    assert first.stopped and trainer.step == 0
    second = trainer.run()
    assert not second.stopped and trainer.epoch == 4
