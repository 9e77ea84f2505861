"""2-D task views draw one unit as long across as up; legends sit under their plots, never over data."""

from __future__ import annotations

from typing import Any

import pytest

from losslab.core.data import make_dataset
from losslab.core.experiment import Experiment
from losslab.gui.plots.loss_plot import LossView
from losslab.gui.plots.task_points import same_scale
from losslab.gui.plots.task_view import TaskView


def _dataset(kind: str, loss: str = "bce_logits"):
    doc = Experiment.default().to_dict()
    doc["dataset"] = {"kind": kind, "n_samples": 200}
    doc["loss"] = {"id": loss, "params": {}}
    return make_dataset(Experiment.from_dict(doc).dataset)


def _scene_rect(item: Any):
    return item.mapRectToScene(item.boundingRect())


def test_two_feature_views_keep_an_equal_aspect_ratio(qtbot) -> None:
    view = TaskView()
    qtbot.addWidget(view)
    view.resize(260, 560)  # tall and narrow, as at 1280x720
    view.show()
    qtbot.waitExposed(view)
    view.set_dataset(_dataset("circles"))
    assert view.plot_item.vb.state["aspectLocked"] == 1.0
    qtbot.wait(50)
    (x0, x1), (y0, y1) = view.plot_item.vb.viewRange()
    rect = view.plot_item.vb.boundingRect()
    assert (x1 - x0) / rect.width() == pytest.approx((y1 - y0) / rect.height(), rel=0.02)
    view.set_dataset(_dataset("sine", "mse"))  # one feature against the target: scales of their own
    assert view.plot_item.vb.state["aspectLocked"] is False


def test_features_on_different_scales_are_not_locked() -> None:
    ds = _dataset("circles")
    assert same_scale(ds)
    ds.x_train[:, 1] *= 100.0  # as if the second feature were measured in other units
    ds.x_val[:, 1] *= 100.0
    assert not same_scale(ds)


def test_legends_sit_under_the_plot_not_over_the_data(qtbot) -> None:
    view = TaskView()
    plot = LossView()
    for widget in (view, plot):
        qtbot.addWidget(widget)
        widget.resize(300, 420)
        widget.show()
        qtbot.waitExposed(widget)
    view.set_dataset(_dataset("moons"))
    qtbot.wait(50)
    for legend, vb in ((view.legend, view.plot_item.vb), (plot.legend, plot.plot_item.vb)):
        assert legend.parentItem() is not vb
        legend_rect, vb_rect = _scene_rect(legend), _scene_rect(vb)
        assert legend_rect.top() >= vb_rect.bottom()  # below the data area
        assert legend_rect.width() <= 300
    assert view.legend.columnCount == 2  # "class 0 · class 1" side by side: fewer rows
