"""Gradient health: per-layer statistics, dead and saturated units, histograms, vanishing/exploding."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from losslab.core.diagnostics import (
    HIST_EVERY,
    GradientHealthProbe,
    GradientStats,
    HistogramHistory,
    activation_layers,
    histogram,
    linear_layers,
    nice_range,
)
from losslab.core.experiment import Experiment
from losslab.core.trainer import Trainer

MOONS = {"kind": "moons", "n_samples": 300, "noise": 0.15, "seed": 1}
SINE = {"kind": "sine", "n_samples": 200, "seed": 0}


def deep(activation: str, depth: int = 6, width: int = 16) -> list[dict]:
    layers = []
    for _ in range(depth):
        layers += [{"type": "linear", "units": width}, {"type": activation}]
    return layers


def experiment(layers, dataset=MOONS, loss="bce_logits", optimizer=None, **training) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": copy.deepcopy(dataset),
            "model": {"layers": layers},
            "loss": {"id": loss},
            "optimizer": optimizer or {"id": "sgd", "lr": 0.1, "params": {"momentum": 0.9}},
            "training": {"epochs": 3, "batch_size": 32, "device": "cpu", **training},
        }
    )


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def stats_of(exp: Experiment) -> tuple[Trainer, list[GradientStats]]:
    events = []
    trainer = Trainer(exp)
    trainer.run(events.append)
    return trainer, [e for e in events if isinstance(e, GradientStats)]


def test_deep_sigmoid_network_has_vanishing_gradients_and_is_warned_about():
    _, stats = stats_of(experiment(deep("sigmoid")))
    last = stats[-1]
    assert last.grad_norm[0] < 1e-3 * last.grad_norm[-1]  # the first layer gets a tiny gradient
    assert [w.kind for w in last.warnings] == ["vanishing"]
    warned = [w for s in stats for w in s.new_warnings]
    assert len(warned) == 1 and "ReLU" in warned[0].text and "residual" in warned[0].text
    assert warned[0].text in "".join(s.notice for s in stats)  # what the CLI and status bar print


def test_the_same_depth_with_relu_gets_no_warning():
    _, stats = stats_of(experiment(deep("relu")))
    assert not any(s.warnings for s in stats)


def test_a_network_that_blows_up_at_once_is_warned_about_at_step_one():
    layers = [{"type": "linear", "units": 32}, {"type": "relu"}]
    layers += [{"type": "residual", "depth": 2, "activation": "relu"}] * 8
    exp = experiment(layers, SINE, "mse", {"id": "sgd", "lr": 0.01, "params": {"momentum": 0.9}})
    exp.model["init"] = "kaiming"
    _, stats = stats_of(exp)
    assert stats[0].step == 1
    assert [w.kind for w in stats[0].new_warnings] == ["exploding"]
    assert "clipping" in stats[0].notice


def test_reports_every_n_steps_plus_the_first_and_histograms_every_kth():
    trainer, stats = stats_of(experiment(deep("tanh", 2), diagnostics_every=4))
    assert [s.step for s in stats] == [1, *range(4, trainer.step + 1, 4)]
    with_hist = [s.step for s in stats if s.histograms is not None]
    assert with_hist == [s.step for s in stats][::HIST_EVERY]
    assert stats[0].layers == ("Linear 1 (2→16)", "Linear 2 (16→16)", "Output (16→1)")
    assert stats[0].activations == ("Tanh 1", "Tanh 2")


def test_reports_are_plain_data():
    _, stats = stats_of(experiment(deep("relu", 2)))
    s = stats[0]
    for value in (s.grad_norm, s.weight_norm, s.update_ratio, s.dead_fraction, s.saturated_fraction):
        assert isinstance(value, np.ndarray) and value.dtype == np.float64
    assert s.histograms
    for lo, hi, counts in s.histograms.values():
        assert isinstance(lo, float) and isinstance(hi, float) and isinstance(counts, np.ndarray)


def test_diagnostics_do_not_change_training():
    on = Trainer(experiment(deep("relu", 3), diagnostics_every=2)).run().history.rows
    off = Trainer(experiment(deep("relu", 3), diagnostics_every=0)).run().history.rows
    strip = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in on]
    assert strip == [{k: v for k, v in r.items() if k != "elapsed_s"} for r in off]


def test_off_means_no_reports():
    _, stats = stats_of(experiment(deep("relu", 2), diagnostics_every=0))
    assert stats == []


def test_norms_and_update_ratio_match_a_direct_computation():
    # Plain SGD: the update is exactly lr x gradient, so the ratio is lr |g| / |w| per layer.
    exp = experiment(deep("tanh", 2), optimizer={"id": "sgd", "lr": 0.05}, epochs=1)
    trainer = Trainer(exp)
    probe = GradientHealthProbe(1)
    trainer.probes = [probe]
    reports = []
    trainer.run(reports.append, epochs=1)
    last = [r for r in reports if isinstance(r, GradientStats)][-1]
    layers = [m for _, m in linear_layers(trainer.model)]
    grads = [math.sqrt(sum(float(p.grad.pow(2).sum()) for p in m.parameters())) for m in layers]
    weights = [math.sqrt(sum(float(p.detach().pow(2).sum()) for p in m.parameters())) for m in layers]
    assert last.grad_norm == pytest.approx(grads, rel=1e-5)
    assert last.weight_norm == pytest.approx(weights, rel=1e-5)
    assert last.update_ratio == pytest.approx(0.05 * np.array(grads) / np.array(weights), rel=1e-3)


def test_dead_relu_units_are_counted():
    exp = experiment(deep("relu", 2), epochs=1)
    trainer = Trainer(exp)
    with torch.no_grad():  # every unit of the first layer has a hugely negative bias: dead for all inputs
        trainer.model.hidden[0].bias.fill_(-100.0)
    probe = GradientHealthProbe(1)
    trainer.probes = [probe]
    events = []
    trainer.run(events.append, epochs=1)
    last = [e for e in events if isinstance(e, GradientStats)][-1]
    assert last.dead_fraction[0] == 1.0
    assert last.dead_fraction[1] < 1.0
    assert math.isnan(last.saturated_fraction[0])  # no saturation for a ReLU


def test_saturated_tanh_units_are_counted():
    exp = experiment(deep("tanh", 1), optimizer={"id": "sgd", "lr": 1e-6}, epochs=1)
    trainer = Trainer(exp)
    with torch.no_grad():
        trainer.model.hidden[0].weight.mul_(200.0)
    trainer.probes = [GradientHealthProbe(1)]
    events = []
    trainer.run(events.append, epochs=1)
    last = [e for e in events if isinstance(e, GradientStats)][-1]
    assert last.saturated_fraction[0] > 0.9
    assert math.isnan(last.dead_fraction[0])


def test_layer_discovery_skips_the_output_activation_and_finds_residual_layers():
    residual = {"type": "residual", "depth": 2, "activation": "tanh"}
    exp = experiment([{"type": "linear", "units": 8}, {"type": "relu"}, residual], loss="bce")
    model = Trainer(exp).model
    assert [label for label, _ in linear_layers(model)] == [
        "Linear 1 (2→8)",
        "Linear 2 (8→8)",
        "Linear 3 (8→8)",
        "Output (8→1)",
    ]
    assert [(label, kind) for label, kind, _ in activation_layers(model)] == [
        ("ReLU 1", "ReLU"),
        ("Tanh 1", "Tanh"),
        ("Tanh 2", "Tanh"),
    ]  # the output sigmoid of "bce" is not a hidden layer


def test_histogram_ranges_only_double_and_rebin_exactly():
    lo, hi = nice_range(np.array([0.3, -0.7]), "weights", None)
    assert (lo, hi) == (-1.0, 1.0)
    assert nice_range(np.array([3.0]), "weights", (lo, hi)) == (-4.0, 4.0)
    assert nice_range(np.array([0.1]), "weights", (-4.0, 4.0)) == (-4.0, 4.0)  # never shrinks
    assert nice_range(np.array([5.0]), "Sigmoid", None) == (0.0, 1.0)
    assert nice_range(np.array([0.2, 3.0]), "ReLU", None) == (0.0, 4.0)

    history = HistogramHistory(bins=8)
    values = np.array([-0.9, -0.1, 0.1, 0.2, 0.9])
    history.add(1, -1.0, 1.0, histogram(values, -1.0, 1.0, 8))
    history.add(2, -4.0, 4.0, histogram(values * 4, -4.0, 4.0, 8))
    image = history.image()
    assert (history.lo, history.hi) == (-4.0, 4.0)
    assert image.shape == (2, 8) and image.sum(axis=1).tolist() == [5.0, 5.0]
    # The first column re-binned into [-4, 4] equals a histogram made there directly.
    assert image[0].tolist() == histogram(values, -4.0, 4.0, 8).tolist()


def test_histogram_history_keeps_a_bounded_number_of_columns():
    history = HistogramHistory(bins=4, max_columns=10)
    for step in range(1, 40):
        history.add(step, 0.0, 1.0, np.ones(4))
    assert len(history) <= 10
    assert history.image().sum(axis=1).tolist() == [4.0] * len(history)  # averaged, not summed
    assert history.steps == sorted(history.steps) and history.steps[-1] == 39  # the newest is kept


def test_a_budget_does_not_delay_the_vanishing_warning():
    """Report steps the budget skips still feed the warning watch: the warning comes at the same step."""
    exp = experiment(deep("sigmoid"))
    _, free = stats_of(exp)
    events = []
    trainer = Trainer(exp, diagnostics_budget=1e-9)  # practically no full reports after the first
    trainer.run(events.append)
    stats = [e for e in events if isinstance(e, GradientStats)]
    first_warning = next(s.step for s in free if s.new_warnings)
    assert [s.step for s in stats if s.new_warnings] == [first_warning]
    assert len(stats) < len(free)  # and yet fewer reports went out
