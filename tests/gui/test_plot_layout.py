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


@pytest.mark.parametrize(("low", "height"), [(0.02, 110), (0.3, 110), (1e-6, 200), (0.05, 600)])
def test_log_axis_labels_never_crowd_and_keep_one_format(qtbot, low: float, height: int) -> None:
    import numpy as np
    import pyqtgraph as pg

    from losslab.gui.plots.axes import TidyAxis

    widget = pg.PlotWidget(axisItems={"left": TidyAxis("left")})
    qtbot.addWidget(widget)
    widget.resize(300, height)
    widget.show()
    qtbot.waitExposed(widget)
    pi = widget.getPlotItem()
    pi.setLogMode(x=False, y=True)
    pi.plot(np.arange(50.0), np.geomspace(1.0, low, 50))
    qtbot.wait(50)
    axis = pi.getAxis("left")
    lo, hi = axis.range
    labels: dict[float, str] = {}  # a value of a finer level that a coarser one has is drawn once
    for spacing, values in axis.tickValues(lo, hi, axis.height()):
        values = [v for v in values if lo <= v <= hi and round(v, 9) not in labels]
        texts = axis.tickStrings(values, 1.0, spacing)
        labels.update({round(v, 9): t for v, t in zip(values, texts, strict=True)})
    labelled = [(v, t) for v, t in labels.items() if t]
    assert len(labelled) >= 2
    pixels = sorted(v for v, _ in labelled)
    per_unit = axis.height() / (hi - lo)
    gaps = np.diff(pixels) * per_unit
    assert gaps.min() >= 12  # a label's height: none prints over another
    plain = [set(t) <= set("0123456789.") for _, t in labelled]  # 0.002, else 2·10⁻³
    assert all(plain) or not any(plain)  # one format on the axis


def test_linear_axis_labels_have_the_same_decimals_on_every_tick_level(qtbot) -> None:
    import numpy as np
    import pyqtgraph as pg

    from losslab.gui.plots.axes import tidy_axes

    widget = pg.PlotWidget(axisItems=tidy_axes())
    qtbot.addWidget(widget)
    widget.resize(420, 300)
    widget.show()
    qtbot.waitExposed(widget)
    widget.getPlotItem().plot(np.linspace(-1.6, 2.6, 20), np.linspace(-1.6, 2.6, 20))
    qtbot.wait(50)
    axis = widget.getPlotItem().getAxis("bottom")
    lo, hi = axis.range
    texts = []
    for spacing, values in axis.tickValues(lo, hi, axis.width()):
        texts += axis.tickStrings(values, 1.0, spacing)
    decimals = {len(t.partition(".")[2]) for t in texts}
    assert len(decimals) == 1, texts


def test_the_gan_and_calibration_tabs_keep_their_legends_under_the_plots(qtbot) -> None:
    from losslab.gui.plots.calibration_view import CalibrationView
    from losslab.gui.plots.gan_view import GanView
    from losslab.gui.state import ExperimentState
    from losslab.gui.view_api import ViewServices

    services = ViewServices(ExperimentState())
    gan, calibration = GanView(services), CalibrationView(services)
    pairs = [
        (gan.samples_legend, gan.samples_plot.getPlotItem()),
        (gan.legend_losses, gan.loss_plot.getPlotItem()),
        (gan.legend_grad, gan.grad_plot.getPlotItem()),
        (calibration.ece_legend, calibration.ece_plot.getPlotItem()),
    ]
    for widget in (gan, calibration):
        qtbot.addWidget(widget)
        widget.resize(640, 480)
        widget.show()
        qtbot.waitExposed(widget)
    qtbot.wait(50)
    for legend, plot_item in pairs:
        vb = plot_item.getViewBox()
        assert legend.parentItem() is not vb
        assert _scene_rect(legend).top() >= _scene_rect(vb).bottom()  # below the data area
