"""Early stopping (patience, best weights restored) and the overfitting alarm."""

from __future__ import annotations

import copy
import math

import pytest

from losslab.core.early_stopping import EarlyStopped, OverfittingStarted, OverfittingWatch
from losslab.core.events import Notice
from losslab.core.experiment import Experiment
from losslab.core.trainer import Trainer

# Few noisy training points and a wide network: validation loss bottoms out early, then climbs.
CIRCLES = {
    "kind": "circles",
    "n_samples": 200,
    "noise": 0.1,
    "factor": 0.5,
    "label_noise": 0.1,
    "val_fraction": 0.6,
    "seed": 3,
}
WIDE = [{"type": "linear", "units": 128}, {"type": "relu"}] * 2


def experiment(patience: int = 0, epochs: int = 200, dataset=CIRCLES) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": copy.deepcopy(dataset),
            "model": {"layers": WIDE},
            "loss": {"id": "bce_logits"},
            "optimizer": {"id": "adam", "lr": 0.01},
            "training": {"epochs": epochs, "batch_size": 0, "device": "cpu", "early_stopping": patience},
        }
    )


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_early_stopping_restores_the_best_epoch():
    events = []
    trainer = Trainer(experiment(patience=10))
    result = trainer.run(events.append)
    history = result.history
    best = min(range(len(history)), key=lambda i: history["val_loss"][i])
    assert len(history) == best + 1 + 10 < 200  # stopped after `patience` epochs without a new best
    assert not result.stopped and result.diverged is None
    stop = result.early_stop
    assert isinstance(stop, EarlyStopped) and stop in events
    assert stop.best_epoch == best + 1 and stop.epoch == len(history)
    assert stop.best_step == history["step"][best]
    # The weights in place are the best epoch's: its validation and training loss come back exactly.
    val_loss, _ = trainer.evaluate(trainer.x_val, trainer.y_val)
    train_loss, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    assert val_loss == pytest.approx(history["val_loss"][best], rel=1e-6)
    assert train_loss == pytest.approx(history["train_loss"][best], rel=1e-6)
    assert "restored" in stop.loss_mark[1] and stop.loss_mark[0] == stop.best_step
    assert f"epoch {stop.best_epoch}" in stop.notice


def test_without_patience_the_run_goes_to_the_end_and_still_spots_overfitting():
    events = []
    result = Trainer(experiment(patience=0, epochs=60)).run(events.append)
    assert len(result.history) == 60 and result.early_stop is None
    (alarm,) = [e for e in events if isinstance(e, OverfittingStarted)]
    val = result.history["val_loss"]
    assert alarm.val_loss == pytest.approx(min(val[: alarm.epoch + 5]))
    assert val[-1] > 1.1 * alarm.val_loss
    assert alarm.loss_mark == (float(alarm.step), f"overfitting from epoch {alarm.epoch}")
    assert "Overfitting" in alarm.notice


def test_a_run_can_go_on_after_early_stopping():
    trainer = Trainer(experiment(patience=5))
    first = trainer.run()
    assert first.early_stop is not None
    epochs = trainer.epoch
    second = trainer.run(epochs=epochs + 3)
    assert trainer.epoch > epochs and not second.stopped


def test_early_stopping_without_a_validation_split_says_why_it_is_off():
    data = {**CIRCLES, "val_fraction": 0.0}
    events = []
    result = Trainer(experiment(patience=3, epochs=20, dataset=data)).run(events.append)
    assert len(result.history) == 20 and result.early_stop is None
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and "validation split" in notices[0]


def feed(watch: OverfittingWatch, train: list[float], val: list[float]) -> list[OverfittingStarted]:
    return [
        e
        for i, (t, v) in enumerate(zip(train, val, strict=True))
        if (e := watch.add(i + 1, 10 * (i + 1), t, v)) is not None
    ]


def test_watch_fires_once_at_the_bottom_of_a_rising_validation_curve():
    train = [1.0 / (1 + i) for i in range(40)]
    val = [0.5 + 0.01 * (i - 12) ** 2 / 10 for i in range(40)]  # lowest at epoch 13
    (event,) = feed(OverfittingWatch(), train, val)
    assert event.epoch == 13 and event.step == 130


def test_watch_ignores_noise_a_plateau_and_rises_that_training_shares():
    import random

    rng = random.Random(0)
    train = [0.3 * 0.97**i for i in range(60)]
    noisy = [0.1 * (1 + rng.uniform(-0.5, 3.0) ** 2 / 3) for _ in range(60)]  # spiky, no trend
    assert feed(OverfittingWatch(), train, noisy) == []
    flat = [0.2] * 60
    assert feed(OverfittingWatch(), [0.3] * 60, [0.2 + 0.05 * (i > 30) for i in range(60)]) == []
    assert feed(OverfittingWatch(), train, flat) == []
    both_rise = [0.1 + 0.01 * i for i in range(60)]
    assert feed(OverfittingWatch(), both_rise, both_rise) == []  # that is divergence, not overfitting


def test_watch_skips_non_finite_values():
    watch = OverfittingWatch()
    assert watch.add(1, 1, math.nan, 1.0) is None and watch.epochs == []
