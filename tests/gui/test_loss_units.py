"""The loss axis says what it measures: standardized regression losses convert to the target's units
where the loss scales as a power of the error; every label on an axis has one form."""

from __future__ import annotations

import pytest

from losslab.core.data import make_dataset
from losslab.core.experiment import Experiment
from losslab.core.losses import LOSSES
from losslab.gui.plots.axes import linear_labels, power_text
from losslab.gui.plots.loss_units import error_degree, loss_axis_label, target_unit


def _house():
    doc = Experiment.default().to_dict()
    doc["dataset"] = {"kind": "house_prices", "n_samples": 100}
    doc["loss"] = {"id": "mse", "params": {}}
    return make_dataset(Experiment.from_dict(doc).dataset)


def test_target_units_come_from_the_target_name() -> None:
    assert target_unit("price ($)") == "$"
    assert target_unit("y") is None


@pytest.mark.parametrize(("loss", "degree"), [("mse", 2), ("mae", 1), ("huber", None), ("log_cosh", None)])
def test_the_power_of_the_error_is_measured_from_the_loss(loss: str, degree: int | None) -> None:
    import torch

    if loss not in LOSSES:
        pytest.skip(f"no {loss} in this registry")
    assert error_degree(LOSSES[loss], {}, torch.tensor([0.5, -1.0, 2.0, 0.0])) == degree


def test_house_price_loss_converts_to_dollars_squared() -> None:
    ds = _house()
    axis, caption = loss_axis_label(ds, 2)
    assert axis == "loss"
    assert caption == f"standardized loss: 1 = {power_text(ds.y_std**2, digits=2)} $²"
    assert "$" not in loss_axis_label(ds, None)[1]  # Huber: no conversion, only the scale it is on
    assert loss_axis_label(None) == ("loss", "")


def test_the_window_labels_the_loss_of_a_house_price_run(qtbot, window) -> None:
    window.state.update("training", epochs=1)
    window.dataset_panel.set_kind("house_prices")
    window.state.update("loss", id="mse", params={})
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=20_000)
    label = window.loss_view.units_label
    assert label.isVisibleTo(window.loss_view) and label.text().endswith("$²")


def test_linear_labels_share_one_form_per_axis() -> None:
    assert linear_labels([900_000.0, 1_000_000.0], 100_000.0) == ["0.9M", "1.0M"]
    assert linear_labels([900_000.0], 100_000.0, biggest=1_000_000.0) == ["0.9M"]
    assert linear_labels([0.0002, 0.0004], 0.0002) == ["0.0002", "0.0004"]
    assert linear_labels([20_000.0, 40_000.0], 20_000.0) == ["20k", "40k"]
