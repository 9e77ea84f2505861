"""The notebook API: losslab.losses(), losslab.loss(), losslab.load_experiment(), losslab.train()."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import losslab
from losslab.core.events import EpochEnd, Finished, StepBatch
from losslab.core.losses import LOSSES

ROOT = Path(__file__).resolve().parents[1]
HOUSES = ROOT / "resources" / "examples" / "01_house_prices_mse.losslab"

SMALL = {
    "format": "losslab",
    "schema_version": 1,
    "dataset": {"kind": "moons", "n_samples": 200, "seed": 1},
    "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
    "loss": {"id": "bce_logits"},
    "optimizer": {"id": "adam", "lr": 0.02},
    "training": {"epochs": 50, "batch_size": 32, "device": "cpu"},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_public_names():
    assert {"losses", "loss", "load_experiment", "train", "LossLabError", "Experiment"} <= set(
        losslab.__all__
    )


def test_losses_lists_every_id():
    ids = losslab.losses()
    assert ids == list(LOSSES)
    assert {"mse", "mae", "huber", "bce", "bce_logits", "hinge", "cross_entropy", "focal"} <= set(ids)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("shape", [(4,), (4, 1)])
def test_mse_accepts_column_and_flat_predictions(shape):
    mse = losslab.loss("mse")
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(shape)
    target = torch.tensor([1.0, 2.0, 3.0, 6.0])
    value = mse(pred, target)
    assert value.ndim == 0
    assert float(value) == pytest.approx(1.0)  # (0 + 0 + 0 + 4) / 4
    assert float(mse(pred, target.reshape(shape))) == pytest.approx(1.0)


def test_loss_is_differentiable():
    pred = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    losslab.loss("huber", delta=1.0)(pred, torch.zeros(3)).backward()
    assert pred.grad.tolist() == pytest.approx([0.5 / 3, -1 / 3, 1 / 3])


def test_loss_params_and_classification():
    ce = losslab.loss("cross_entropy", label_smoothing=0.1)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    assert math.isfinite(float(ce(logits, torch.tensor([0, 1]))))
    assert float(losslab.loss("hinge")(torch.tensor([2.0, -2.0]), torch.tensor([1, 0]))) == 0.0


def test_loss_errors_are_losslab_errors():
    with pytest.raises(losslab.LossLabError) as info:
        losslab.loss("nope")
    assert info.value.field == "loss.id"
    with pytest.raises(losslab.LossLabError) as info:
        losslab.loss("huber", delta=-1)
    assert info.value.field == "loss.params.delta"
    with pytest.raises(losslab.LossLabError, match="shape"):
        losslab.loss("mse")(torch.zeros(3), torch.zeros(4))


def test_load_experiment():
    exp = losslab.load_experiment(HOUSES)
    assert isinstance(exp, losslab.Experiment)
    assert exp.loss["id"] == "mse" and exp.name


def test_train_a_dict_with_epochs_and_callback():
    events = []
    history = losslab.train(SMALL, epochs=2, callback=events.append)
    assert len(history) == 2 and history["epoch"] == [1, 2]
    kinds = {type(e) for e in events}
    assert {StepBatch, EpochEnd, Finished} <= kinds
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2]
    assert isinstance(events[-1], Finished) and events[-1].history is history
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_train_a_path_and_an_experiment(tmp_path):
    path = tmp_path / "small.losslab"
    path.write_text(json.dumps(SMALL))
    from_path = losslab.train(path, epochs=1)
    from_str = losslab.train(str(path), epochs=1)
    from_exp = losslab.train(losslab.load_experiment(path), epochs=1)
    assert from_path["train_loss"] == from_str["train_loss"] == from_exp["train_loss"]


def test_train_uses_the_experiments_epochs_by_default():
    doc = json.loads(json.dumps(SMALL))
    doc["training"]["epochs"] = 3
    assert len(losslab.train(doc)) == 3


def test_epochs_shape_the_schedule():
    doc = json.loads(json.dumps(SMALL))
    doc["optimizer"]["schedule"] = {"id": "cosine", "params": {"min_factor": 0.0}}
    lrs = losslab.train(doc, epochs=4)["lr"]
    # Cosine over the 4 epochs trained, not over the file's 50.
    assert lrs == pytest.approx([0.02 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])


def test_train_errors_are_losslab_errors(tmp_path):
    with pytest.raises(losslab.LossLabError) as info:
        losslab.train({**SMALL, "loss": {"id": "mse"}}, epochs=1)
    assert info.value.field == "loss.id"
    with pytest.raises(losslab.LossLabError, match="no such file"):
        losslab.train(tmp_path / "absent.losslab")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(losslab.LossLabError) as info:
            losslab.train(SMALL, epochs=bad)
        assert info.value.field == "epochs"
    with pytest.raises(losslab.LossLabError):
        losslab.train({"format": "losslab"})


def test_train_a_csv_next_to_its_experiment(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    rows = ["size,price"] + [f"{s},{50_000 + 150 * s + (s * 7919) % 20_000}" for s in range(500, 3500, 100)]
    (folder / "houses.csv").write_text("\n".join(rows) + "\n")
    doc = {**SMALL, "dataset": {"kind": "csv", "path": "houses.csv"}, "loss": {"id": "mse"}}
    (folder / "houses.losslab").write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)  # not the experiment's folder
    history = losslab.train(Path("project") / "houses.losslab", epochs=3)
    assert len(history) == 3 and "val_r2" in history.columns


def test_history_exports_csv(tmp_path):
    history = losslab.train(SMALL, epochs=2)
    path = tmp_path / "h.csv"
    history.save_csv(path)
    lines = path.read_text().splitlines()
    assert lines[0].split(",")[:4] == ["epoch", "step", "train_loss", "val_loss"]
    assert len(lines) == 3
