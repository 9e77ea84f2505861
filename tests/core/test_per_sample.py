"""The per-sample probe: what it measures, how often, and what it costs the training it watches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from losslab.core.experiment import Experiment, load_experiment
from losslab.core.per_sample import PerSampleLosses, PerSampleProbe, measure, per_sample_probes
from losslab.core.resources import examples_dir
from losslab.core.trainer import make_trainer


def run_with_probe(exp: Experiment, epochs: int | None = None, **probe_kw):
    trainer = make_trainer(exp)
    probe = PerSampleProbe(**probe_kw)
    trainer.probes.append(probe)
    events: list[PerSampleLosses] = []
    trainer.run(lambda e: events.append(e) if isinstance(e, PerSampleLosses) else None, epochs=epochs)
    return trainer, probe, events


def moons(**training) -> Experiment:
    exp = load_experiment(examples_dir() / "05_moons_bce_logits.losslab")
    return exp.replace("training", **training) if training else exp


def test_it_measures_every_training_sample_and_the_batch():
    trainer, probe, events = run_with_probe(moons(epochs=3), interval=0.0)
    assert events and probe.measurements == len(events)
    last = events[-1]
    n = trainer.dataset.n_train
    assert last.step == trainer.step and last.epoch == 3  # the end of training is always measured
    assert last.loss.shape == last.grad.shape == last.output.shape == last.prediction.shape == (n,)
    assert last.batch_output.shape == last.batch_target.shape == last.batch_loss.shape == (32,)
    assert all(a.dtype == np.float64 for a in (last.loss, last.grad, last.output, last.batch_loss))
    # The cost is the training loss; for a plain mean it is the mean of the per-sample losses.
    assert last.cost == pytest.approx(trainer.history.last("train_loss"), rel=1e-5)
    assert last.cost == pytest.approx(float(last.loss.mean()), rel=1e-5)
    # |∂loss_i/∂output_i| for BCE with logits is |σ(z) − y|.
    y = trainer.dataset.y_train
    np.testing.assert_allclose(last.grad, np.abs(1 / (1 + np.exp(-last.output)) - y), rtol=1e-4, atol=1e-6)
    assert ((last.prediction >= 0) & (last.prediction <= 1)).all()
    np.testing.assert_allclose(
        last.batch_grad, 1 / (1 + np.exp(-last.batch_output)) - last.batch_target, rtol=1e-4, atol=1e-6
    )


def test_regression_predictions_are_in_display_units():
    exp = load_experiment(examples_dir() / "01_house_prices_mse.losslab").replace("training", epochs=2)
    trainer, _, events = run_with_probe(exp, interval=0.0)
    ds = trainer.dataset
    last = events[-1]
    np.testing.assert_allclose(last.prediction, ds.y_to_display(last.output), rtol=1e-6)
    np.testing.assert_allclose(last.loss, (last.output - ds.y_train) ** 2, rtol=1e-4, atol=1e-7)


def test_multiclass_gradients_are_per_output():
    exp = load_experiment(examples_dir() / "07_spiral_cross_entropy.losslab").replace("training", epochs=1)
    trainer, _, events = run_with_probe(exp, interval=0.0)
    last = events[-1]
    k = trainer.dataset.n_classes
    assert last.output.shape == last.prediction.shape == (trainer.dataset.n_train, k)
    assert last.batch_grad.shape == (len(last.batch_target), k)
    np.testing.assert_allclose(last.prediction.sum(1), 1.0, rtol=1e-5)


def test_it_measures_at_most_five_times_a_second():
    trainer, probe, events = run_with_probe(moons(epochs=8))
    elapsed = trainer.elapsed
    assert probe.measurements <= elapsed / 0.2 + 2
    steps = [e.step for e in events]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)


def test_it_costs_under_ten_percent_of_training_time():
    trainer, probe, _ = run_with_probe(moons(epochs=8))
    assert probe.seconds < 0.1 * trainer.elapsed, (probe.seconds, trainer.elapsed)


def test_an_expensive_measurement_waits_longer():
    probe = PerSampleProbe(interval=0.0, budget=0.05)
    trainer = make_trainer(moons(epochs=1))
    xb, yb = trainer.x_train[:8], trainer.y_train[:8]
    assert probe.on_step(trainer, xb, yb) is not None
    assert probe.on_step(trainer, xb, yb) is None  # due again only after 20x what it took


def test_short_epochs_are_measured_at_their_ends_where_the_outputs_are_at_hand():
    # An epoch end comes within the interval: measuring a step instead would cost a forward pass
    # over the training set that the epoch end's evaluation is about to make anyway.
    trainer, _, events = run_with_probe(moons(epochs=30), interval=0.2)
    per_epoch = trainer.steps_per_epoch
    assert events and all(e.step % per_epoch == 0 and e.step == e.epoch * per_epoch for e in events)


def test_long_epochs_are_still_measured_within_them():
    trainer, _, events = run_with_probe(moons(epochs=1, batch_size=1), interval=0.02)
    assert trainer.steps_per_epoch > 500
    within = [e for e in events if e.step % trainer.steps_per_epoch]
    assert len(within) >= 2  # a live picture while the long epoch trains


def test_views_share_one_probe_and_gan_gets_none():
    trainer = make_trainer(moons())
    first = per_sample_probes(trainer)
    trainer.probes += first
    assert len(first) == 1 and per_sample_probes(trainer) == []
    doc = {**moons().to_dict(), "dataset": {"kind": "gan_ring"}, "loss": {"id": "gan_d"}}
    gan = Experiment.from_dict(doc)
    assert per_sample_probes(make_trainer(gan)) == []


def test_measuring_leaves_training_mode_and_gradients_alone():
    trainer = make_trainer(moons())
    trainer.model.train()
    for p in trainer.model.parameters():
        p.grad = torch.ones_like(p)
    measure(trainer, trainer.x_train[:4], trainer.y_train[:4])
    assert trainer.model.training
    assert all(torch.equal(p.grad, torch.ones_like(p)) for p in trainer.model.parameters())
