"""The Network view's data: per-unit activations over the input plane, dead and saturated units,
wide and deep networks summarized, histograms for other inputs, and the probe's pacing."""

from __future__ import annotations

import numpy as np
import torch

from losslab.core.experiment import Experiment, load_experiment
from losslab.core.network_probe import GRID, MAX_LAYERS, MAX_UNITS, NetworkPicture, NetworkProbe, picture
from losslab.core.resources import examples_dir
from losslab.core.trainer import make_trainer


def moons(layers: list[dict], **training) -> Experiment:
    exp = load_experiment(examples_dir() / "05_moons_bce_logits.losslab").replace("dataset", n_samples=200)
    return (
        exp.replace("model", layers=layers).replace("training", **training)
        if training
        else exp.replace("model", layers=layers)
    )


def test_each_unit_has_its_activation_over_the_plane_and_its_weights():
    trainer = make_trainer(moons([{"type": "linear", "units": 6}, {"type": "tanh"}]))
    pic = picture(trainer)
    inputs, hidden, out = pic.layers
    assert (inputs.kind, hidden.kind, out.kind) == ("input", "tanh", "linear")
    assert hidden.grid is not None and hidden.grid.shape == (6, GRID, GRID)
    assert hidden.incoming is not None and hidden.incoming.shape == (6, 2)
    assert np.allclose(hidden.incoming, trainer.model.hidden[0].weight.detach().numpy())
    # The output unit's heatmap is the model's own output over the grid (display units in, logits out).
    x0, x1, y0, y1 = pic.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    logits = trainer.outputs(
        torch.as_tensor(
            trainer.dataset.x_from_display(np.column_stack([gx.ravel(), gy.ravel()])), dtype=torch.float32
        )
    )
    assert np.allclose(out.grid[0].ravel(), logits.numpy(), atol=1e-5)
    # The input units are the features themselves: x1 grows along the columns, x2 along the rows.
    assert inputs.grid[0][0, -1] > inputs.grid[0][0, 0] and inputs.grid[1][-1, 0] > inputs.grid[1][0, 0]
    assert np.all(hidden.low <= hidden.high) and np.all(hidden.high <= 1) and np.all(hidden.low >= -1)


def test_dead_relu_and_saturated_tanh_units_are_found():
    trainer = make_trainer(moons([{"type": "linear", "units": 4}, {"type": "relu"}]))
    lin = trainer.model.hidden[0]
    with torch.no_grad():
        lin.bias[0] = -100.0  # never active on standardized data: dead
    pic = picture(trainer)
    assert list(pic.layers[1].dead) == [True, False, False, False] or pic.layers[1].dead[0]
    assert pic.dead_count >= 1 and not pic.layers[1].saturated.any()
    trainer = make_trainer(moons([{"type": "linear", "units": 3}, {"type": "tanh"}]))
    with torch.no_grad():
        trainer.model.hidden[0].bias[1] = 50.0  # always at +1: saturated
    layer = picture(trainer).layers[1]
    assert layer.saturated[1] and not layer.dead.any()


def test_wide_and_deep_networks_are_summarized_with_a_note():
    layers = [{"type": "linear", "units": 64}, {"type": "relu"}] * (MAX_LAYERS + 2)
    pic = picture(make_trainer(moons(layers)))
    hidden = pic.layers[1:-1]
    assert len(hidden) == MAX_LAYERS and all(len(layer.units) == MAX_UNITS for layer in hidden)
    assert any("of 64 units drawn" in n for n in pic.notes) and any(
        "hidden layers drawn" in n for n in pic.notes
    )
    assert pic.layers[-1].incoming is None  # its inputs (the last hidden layer) are not drawn


def test_inputs_that_are_not_2d_get_histograms():
    exp = Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": "house_prices", "n_samples": 120},
            "model": {"layers": [{"type": "linear", "units": 5}, {"type": "sigmoid"}]},
            "loss": {"id": "mse"},
            "optimizer": {"id": "adam", "lr": 0.01},
            "training": {"epochs": 1},
        }
    )
    trainer = make_trainer(exp)
    pic = picture(trainer)
    assert pic.extent is None and all(layer.grid is None for layer in pic.layers)
    hidden = pic.layers[1]
    assert hidden.hist is not None and hidden.hist.shape[0] == 5
    assert np.all(hidden.hist.sum(axis=1) == trainer.dataset.n_train)


def test_the_probe_takes_pictures_only_while_watched_and_within_its_budget():
    trainer = make_trainer(moons([{"type": "linear", "units": 8}, {"type": "relu"}], epochs=3))
    probe = NetworkProbe(interval=0.0, budget=1.0)
    trainer.probes.append(probe)
    pics: list[NetworkPicture] = []

    def keep(e: object) -> None:
        if isinstance(e, NetworkPicture):
            pics.append(e)

    trainer.run(keep)
    assert pics == [] and probe.pictures == 0  # nobody watches: no cost at all
    probe.watch("view", True)
    trainer.run(keep, epochs=4)
    assert pics and pics[-1].epoch == 4 and probe.pictures == len(pics)
    trainer = make_trainer(moons([{"type": "linear", "units": 8}, {"type": "relu"}], epochs=3))
    slow = NetworkProbe(interval=10.0)
    slow.watch("view", True)
    trainer.probes.append(slow)
    pics.clear()
    trainer.run(keep)
    assert [p.step for p in pics] == [1, trainer.step]  # the first step, then the end of the training
