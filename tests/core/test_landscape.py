"""Loss landscape: 1-D line and 2-D filter-normalized grid, PCA directions, trajectories, the API."""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest
import torch

import losslab
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.landscape import (
    LossSurface,
    Trajectory,
    WeightSnapshot,
    WeightTrajectoryProbe,
    axis,
    flat_from_state,
    flat_params,
    grid,
    line,
)
from losslab.core.lr_finder import Cancelled
from losslab.core.trainer import Trainer

DOC = {
    "format": "losslab",
    "schema_version": 1,
    "dataset": {"kind": "moons", "n_samples": 300, "noise": 0.2, "seed": 5},
    "model": {
        "layers": [
            {"type": "linear", "units": 16},
            {"type": "tanh"},
            {"type": "linear", "units": 8},
            {"type": "relu"},
        ]
    },
    "loss": {"id": "bce_logits"},
    "optimizer": {"id": "adam", "lr": 0.02},
    "training": {"epochs": 4, "batch_size": 32, "device": "cpu"},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained():
    trainer = Trainer(Experiment.from_dict(DOC))
    trainer.probes.append(WeightTrajectoryProbe(5))
    events = []
    trainer.run(events.append)
    return trainer, [e for e in events if isinstance(e, WeightSnapshot)]


def test_grid_centre_equals_the_trained_loss(trained):
    trainer, _ = trained
    train_loss, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    result = grid(LossSurface(trainer), steps=31)
    assert result.losses.shape == (31, 31)
    assert result.center == pytest.approx(train_loss, abs=1e-5)
    assert result.center_loss == pytest.approx(train_loss, abs=1e-6)
    assert result.xs[15] == 0.0 and result.ys[15] == 0.0
    assert result.losses.min() <= result.center + 1e-6 < result.losses.max()  # a valley around it
    assert trainer.history["train_loss"][-1] == pytest.approx(result.center, abs=1e-5)


def test_line_runs_from_the_initial_to_the_current_loss(trained):
    trainer, _ = trained
    surface = LossSurface(trainer)
    start = flat_from_state(trainer.model, trainer.initial_state)
    result = line(surface, start, alphas=[0.0, 0.5, 1.0, 1.5])
    initial = Trainer(Experiment.from_dict(DOC))
    initial_loss, _ = initial.evaluate(initial.x_train, initial.y_train)
    current_loss, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    assert result.losses[0] == pytest.approx(initial_loss, abs=1e-5)
    assert result.losses[2] == pytest.approx(current_loss, abs=1e-5)
    assert result.start_loss == pytest.approx(initial_loss, abs=1e-6)
    assert result.end_loss == pytest.approx(current_loss, abs=1e-6)


def test_computing_never_touches_the_trainers_model(trained):
    trainer, _ = trained
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    surface = LossSurface(trainer)
    grid(surface, steps=5)
    line(surface, flat_from_state(trainer.model, trainer.initial_state), alphas=[0.0, 1.0])
    assert all(torch.equal(trainer.model.state_dict()[k], v) for k, v in before.items())


def test_directions_are_filter_normalized(trained):
    trainer, _ = trained
    surface = LossSurface(trainer)
    d = surface.random_direction(torch.Generator().manual_seed(1))
    i = 0
    for p in surface.params:
        n = p.numel()
        part = d[i : i + n].view(p.shape)
        i += n
        if p.ndim == 1:
            assert not part.any()  # biases get no direction
        else:
            assert torch.allclose(part.norm(dim=1), p.detach().double().norm(dim=1), rtol=1e-6)


def test_batched_and_looped_evaluation_agree(trained):
    trainer, _ = trained
    surface = LossSurface(trainer)
    fast = grid(surface, steps=7, seed=3)
    surface._batched = False  # the loop every loss supports
    slow = grid(surface, steps=7, seed=3)
    assert np.allclose(fast.losses, slow.losses, rtol=1e-5, atol=1e-6)


def test_pca_directions_follow_the_path_and_project_it(trained):
    trainer, snapshots = trained
    assert len(snapshots) >= 3
    path = [s.vector for s in snapshots]
    result = grid(LossSurface(trainer), steps=9, directions="pca", trajectory=path)
    assert result.trajectory.shape == (len(path), 2)
    assert np.allclose(result.trajectory[-1], 0.0, atol=1e-6)  # the last snapshot is the centre
    assert result.xs[-1] >= np.abs(result.trajectory[:, 0]).max()  # the grid covers the path
    assert 0 < result.explained[1] <= result.explained[0] <= 1
    with pytest.raises(LossLabError, match="train for a while"):
        grid(LossSurface(trainer), steps=5, directions="pca", trajectory=path[:2])


def test_bad_arguments_are_clear_errors(trained):
    trainer, _ = trained
    surface = LossSurface(trainer)
    bad = (({"steps": 2}, "steps"), ({"span": -1.0}, "span"), ({"directions": "up"}, "directions"))
    for kwargs, field in bad:
        with pytest.raises(LossLabError) as info:
            grid(surface, **kwargs)
        assert info.value.field == field


def test_cancel_stops_the_computation(trained):
    trainer, _ = trained
    with pytest.raises(Cancelled):
        grid(LossSurface(trainer), steps=11, cancelled=lambda: True)


def test_default_two_moons_grid_is_quick():
    trainer = Trainer(Experiment.default())
    trainer.run(epochs=1)
    started = time.perf_counter()
    grid(LossSurface(trainer), steps=31)
    assert time.perf_counter() - started < 10.0  # the bound; ~0.5 s on a loaded 2-core machine


def test_trajectory_probe_and_bounded_trajectory():
    probe = WeightTrajectoryProbe(3)
    trainer = Trainer(Experiment.from_dict({**DOC, "training": {**DOC["training"], "epochs": 1}}))
    trainer.probes = [probe]
    events = []
    trainer.run(events.append)
    snaps = [e for e in events if isinstance(e, WeightSnapshot)]
    assert snaps and snaps[-1].step == trainer.step  # the epoch end is recorded once
    assert len({s.step for s in snaps}) == len(snaps)
    assert np.allclose(snaps[-1].vector, flat_params(trainer.model).numpy())
    path = Trajectory(limit=10)
    for step in range(25):
        path.add(step, np.full(4, float(step)))
    assert len(path) <= 10 and path.steps[0] == 0 and path.steps[-1] == 24
    path.add(30, np.zeros(7))  # another network: starts over
    assert path.steps == [30]


def test_axis_has_an_exact_zero():
    assert axis(31, 1.0)[15] == 0.0 and axis(4, 1.0)[0] == -1.0


def test_api_landscape_from_saved_weights(tmp_path, trained):
    trainer, _ = trained
    weights = tmp_path / "weights.pt"
    torch.save(trainer.model.state_dict(), weights)
    result = losslab.landscape(DOC, weights, steps=7)
    train_loss, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    assert result.center_loss == pytest.approx(train_loss, abs=1e-5)
    assert result.grid.center == pytest.approx(train_loss, abs=1e-5)
    assert result.line.end_loss == pytest.approx(train_loss, abs=1e-5)
    assert result.line.start_loss > result.line.end_loss  # training went downhill
    initial = losslab.landscape(DOC, steps=5)  # no weights: around the initial weights
    assert initial.line.start_loss == pytest.approx(initial.line.end_loss)


def test_api_refuses_weights_of_another_network(tmp_path):
    doc = copy.deepcopy(DOC)
    doc["model"]["layers"][0]["units"] = 5
    other = Trainer(Experiment.from_dict(doc))
    path = tmp_path / "other.pt"
    torch.save(other.model.state_dict(), path)
    with pytest.raises(LossLabError, match="do not fit"):
        losslab.landscape(DOC, path, steps=5)
    with pytest.raises(LossLabError, match="no such file"):
        losslab.landscape(DOC, tmp_path / "missing.pt", steps=5)
    with pytest.raises(LossLabError, match="state_dict"):
        losslab.landscape(DOC, 42, steps=5)
