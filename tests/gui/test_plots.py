"""Live plots: buffers, smoothing, decimation, the loss/metric/task views, themes and exports."""

from __future__ import annotations

import csv
import math
import threading
import xml.dom.minidom

import numpy as np
import pytest

from losslab.core.errors import LossLabError
from losslab.core.events import EpochEnd, StepBatch
from losslab.gui.export import curves_csv_text, export_curves_csv, export_plot
from losslab.gui.plots import loss_plot as lp
from losslab.gui.plots.buffers import Ema, GrowingSeries, PeakPyramid, ema_reference
from losslab.gui.plots.loss_plot import LossView, loss_plot_redraw_seconds
from losslab.gui.plots.metric_plot import MetricPlot
from losslab.gui.plots.task_view import GRID, LINE_POINTS, TaskView, contour_segments, view_mode
from losslab.gui.theme import apply_plot_theme, palette_colors


def steps_batch(start: int, values, *, l1=None, l2=None, epoch: int = 0) -> StepBatch:
    values = np.asarray(values, dtype=np.float64)
    steps = np.arange(start, start + len(values))
    return StepBatch(epoch, steps, values, values, l1, l2, 0.01, 0.0, 100.0)


def epoch_end(epoch: int, step: int, train: float, val: float = math.nan, **metrics) -> EpochEnd:
    tm = {k[6:]: v for k, v in metrics.items() if k.startswith("train_")}
    vm = {k[4:]: v for k, v in metrics.items() if k.startswith("val_")}
    return EpochEnd(epoch, step, train, val, tm, vm, 0.01, 0.0, 0.0, 1.0)


@pytest.fixture
def loss_view(qtbot):
    view = LossView()
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    return view


# -- buffers ----------------------------------------------------------------------------------
def test_growing_series_doubles_and_keeps_values():
    s = GrowingSeries(capacity=4)
    for i in range(5):
        s.append_many(np.arange(3) + 3 * i, np.arange(3) * 2.0 + i)
    assert len(s) == 15 and s.capacity == 16 and s.dirty
    x, y = s.view()
    np.testing.assert_array_equal(x, np.arange(15))
    assert y[-1] == 4 + 4
    s.dirty = False
    s.append(15, -1.0)
    assert s.dirty and s.last() == (15.0, -1.0)
    s.clear()
    assert len(s) == 0 and s.capacity == 4
    with pytest.raises(ValueError):
        s.append_many([1, 2], [1])


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9, 0.99, 0.999])
def test_ema_incremental_matches_reference(weight):
    rng = np.random.default_rng(1)
    values = rng.random(3000) * 5
    values[[10, 500, 501]] = [np.nan, np.inf, -np.inf]
    ref = ema_reference(values, weight)
    ema = Ema(weight)
    got = np.concatenate([ema.update(chunk) for chunk in np.array_split(values, 41)])
    np.testing.assert_allclose(got, ref, rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(Ema(0.5).recompute(values, weight), ref, rtol=1e-10, equal_nan=True)
    # Debiased: the first smoothed value is the first value itself.
    assert got[0] == pytest.approx(values[0])


def test_peak_pyramid_keeps_extremes_with_few_points():
    rng = np.random.default_rng(2)
    series, pyramid = GrowingSeries(), PeakPyramid()
    n = 0
    for _ in range(60):
        k = int(rng.integers(1, 9000))
        y = rng.random(k)
        y[rng.random(k) < 0.01] = np.nan
        series.append_many(np.arange(n + 1, n + k + 1), y)
        pyramid.update(series.view()[1])
        n += k
    x, y = series.view()
    for i0, i1 in [(0, n), (1234, n // 2), (10, 300)]:
        xd, yd = pyramid.decimate(x, y, i0, i1, 400)
        assert len(xd) == len(yd) <= 4 * 400 * 2
        assert np.nanmax(yd) == np.nanmax(y[i0:i1])
        assert np.nanmin(yd) <= np.nanmin(y[i0:i1])
    # However long the series, about the same number of points to paint: 1 to 2 blocks a bucket.
    for length in (5_000, 20_000, 70_000, 300_000, 1_000_000):
        s3, p3 = GrowingSeries(), PeakPyramid()
        s3.append_many(np.arange(length), rng.random(length))
        p3.update(s3.view()[1])
        xd, yd = p3.decimate(*s3.view(), 0, length, 400)
        assert 2 * 400 <= len(xd) <= 2 * (2 * 400 + 2), (length, len(xd))
        assert yd.max() == s3.view()[1].max() and yd.min() == s3.view()[1].min()
        assert np.all(np.diff(xd) >= 0)
    # Log axes: the smallest positive value stands in for zeros and negatives.
    y2 = np.where(np.arange(n) % 2 == 0, 0.0, 1.0 + np.arange(n) / n)
    s2, p2 = GrowingSeries(), PeakPyramid()
    s2.append_many(np.arange(n), y2)
    p2.update(s2.view()[1])
    _, yd = p2.decimate(*s2.view(), 0, n, 200, positive=True)
    assert np.nanmin(yd) > 0


# -- loss view --------------------------------------------------------------------------------
def test_loss_view_curves_after_steps_and_epochs(qtbot, loss_view):
    assert loss_view.plot.objectName() == "lossPlot"
    loss_view.add_steps(steps_batch(1, [1.0, 0.8, 0.6], l2=np.array([0.1, 0.1, 0.1])))
    loss_view.add_steps(steps_batch(4, [0.5, 0.4], l2=np.array([0.1, 0.2])))
    loss_view.add_epoch(epoch_end(1, 5, 0.45, 0.5))
    assert loss_view.redraw() is True
    assert loss_view.redraw() is False  # nothing new: a no-op
    c = loss_view.curves()
    np.testing.assert_array_equal(c[lp.RAW][0], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(c[lp.RAW][1], [1.0, 0.8, 0.6, 0.5, 0.4])
    np.testing.assert_allclose(c[lp.REG][1], [0.1, 0.1, 0.1, 0.1, 0.2])
    assert c[lp.TRAIN_EPOCH] == (pytest.approx([5.0]), pytest.approx([0.45]))
    assert c[lp.VAL_EPOCH][1].tolist() == [0.5]
    # What is on screen: short series are drawn point for point.
    x, _y = loss_view.items[lp.RAW].getData()
    assert len(x) == 5
    labels = [label.text for _, label in loss_view.legend.items]
    assert lp.LEGEND_NAMES[lp.VAL_EPOCH] in labels and "regularization (L2)" in labels


def test_loss_view_without_validation_has_no_val_curve(loss_view):
    loss_view.add_steps(steps_batch(1, [1.0, 0.5]))
    loss_view.add_epoch(epoch_end(1, 2, 0.5))  # val_loss nan
    loss_view.redraw()
    assert lp.VAL_EPOCH not in loss_view.curves()
    assert lp.REG not in loss_view.curves()
    labels = [label.text for _, label in loss_view.legend.items]
    assert lp.LEGEND_NAMES[lp.VAL_EPOCH] not in labels


def test_a_new_run_keeps_the_legend_until_its_first_epoch_and_then_drops_what_it_lacks(loss_view):
    def labels():
        return [label.text for _, label in loss_view.legend.items]

    loss_view.add_steps(steps_batch(1, [1.0, 0.8, 0.6], l2=np.array([0.1, 0.1, 0.1])))
    loss_view.add_epoch(epoch_end(1, 3, 0.6, 0.7))
    loss_view.redraw()
    before = labels()
    assert "regularization (L2)" in before and lp.LEGEND_NAMES[lp.VAL_EPOCH] in before
    sample_items = [sample for sample, _ in loss_view.legend.items]

    loss_view.reset()  # a new run, without L2 this time
    loss_view.add_steps(steps_batch(1, [0.9, 0.7]))
    loss_view.redraw()
    assert labels() == before  # nothing rebuilt mid-start: the entries are the very same items
    assert [sample for sample, _ in loss_view.legend.items] == sample_items
    loss_view.add_epoch(epoch_end(1, 2, 0.7, 0.75))
    loss_view.redraw()
    after = labels()
    assert "regularization (L2)" not in after  # the first epoch ended: entries without a curve go
    assert after == [name for name in before if not name.startswith("regularization")]


def test_smoothing_matches_reference_and_recomputes_on_change(loss_view):
    rng = np.random.default_rng(3)
    values = rng.random(500) + 1
    for chunk in np.array_split(values, 7):
        start = 1 + len(loss_view.curves().get(lp.RAW, ([], []))[0])
        loss_view.add_steps(steps_batch(start, chunk))
        loss_view.redraw()
    np.testing.assert_allclose(loss_view.curves()[lp.SMOOTH][1], ema_reference(values, lp.DEFAULT_SMOOTHING))
    loss_view.smoothing_slider.setValue(500)  # the slider drives it: 0.5
    assert loss_view.smoothing == 0.5 and loss_view.smoothing_label.text() == "0.500"
    loss_view.redraw()
    np.testing.assert_allclose(loss_view.curves()[lp.SMOOTH][1], ema_reference(values, 0.5))
    loss_view.set_smoothing(0.0)
    np.testing.assert_allclose(loss_view.curves()[lp.SMOOTH][1], values)


# A training loss of exactly 0 has no logarithm: pyqtgraph's marker bounds then see only NaN and warn.
@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_log_scale_copes_with_zero_negative_nan_inf(qtbot, loss_view):
    loss_view.add_steps(steps_batch(1, [2.0, 0.0, -1.0, np.nan, np.inf, 0.5, 1e-12]))
    loss_view.add_epoch(epoch_end(1, 7, 0.0, np.nan))
    loss_view.redraw()
    loss_view.log_check.setChecked(True)
    assert loss_view.log_y and loss_view.plot_item.ctrl.logYCheck.isChecked()
    loss_view.add_steps(steps_batch(8, [0.0, 3.0]))
    loss_view.redraw()
    qtbot.wait(20)
    assert not loss_view.grab().isNull()
    loss_view.hover_at(6, math.log10(0.5))
    loss_view.set_log_y(False)
    loss_view.redraw()
    qtbot.wait(20)


def test_million_points_are_decimated_for_drawing(qtbot, loss_view):
    n = 1_000_000
    steps = np.arange(1, n + 1)
    loss = 1.0 / np.sqrt(steps)
    for start in range(0, n, 250_000):
        loss_view.add_steps(
            StepBatch(
                0,
                steps[start : start + 250_000],
                loss[start : start + 250_000],
                loss[start : start + 250_000],
                None,
                None,
                0.01,
                0.0,
                0.0,
            )
        )
    loss_view.redraw()
    qtbot.wait(20)
    x, y = loss_view.items[lp.RAW].getData()
    assert 100 < len(x) < 20_000
    assert np.nanmax(y) == pytest.approx(1.0) and x[-1] <= n
    assert len(loss_view.curves()[lp.RAW][0]) == n
    # Zooming in shows the raw points of that range.
    loss_view.plot_item.setXRange(500_000, 500_200, padding=0)
    qtbot.waitUntil(lambda: not loss_view.dirty, timeout=2000)
    x, _ = loss_view.items[lp.RAW].getData()
    assert 150 < len(x) < 400 and x[0] >= 499_990


def test_reset_and_restart_clear_everything(loss_view):
    loss_view.add_steps(steps_batch(1, [1.0, 0.9]))
    loss_view.add_epoch(epoch_end(1, 2, 0.9))
    loss_view.mark(2, "diverged")
    loss_view.redraw()
    assert len(loss_view._marks) == 1
    loss_view.add_steps(steps_batch(1, [3.0]))  # a new run's step 1 without reset(): starts over
    loss_view.redraw()
    assert loss_view.curves()[lp.RAW][1].tolist() == [3.0]
    assert lp.TRAIN_EPOCH not in loss_view.curves()
    assert loss_view._marks == []
    loss_view.reset()
    assert loss_view.curves() == {}


def test_hover_readout_names_step_epoch_and_value(loss_view):
    loss_view.add_steps(steps_batch(1, [1.0, 0.9, 0.8, 0.7]))
    loss_view.add_epoch(epoch_end(1, 2, 0.85, 0.95))
    loss_view.add_epoch(epoch_end(2, 4, 0.75, 0.9))
    loss_view.set_smoothing(0)
    loss_view.redraw()
    loss_view.plot_item.setRange(xRange=(0, 5), yRange=(0, 1.2), padding=0)
    text = loss_view.hover_at(3, 0.8)
    assert "step 3" in text and "epoch 2" in text and "0.8" in text
    assert loss_view.readout.text() == text
    assert [loss_view.epoch_of_step(s) for s in (2, 3, 9)] == [1, 2, 3]
    assert loss_view.hover_at(4, 0.9).startswith("epoch 2 (step 4)")  # the validation marker
    assert loss_view.hover_at(0.5, 0.1) == ""  # nowhere near a point
    assert loss_view._epoch_axis.tickStrings([2.0, 4.0], 1, 1) == ["1", "2"]


def test_show_steps_hides_step_curves(loss_view):
    loss_view.add_steps(steps_batch(1, [1.0, 0.9], l1=np.array([0.1, 0.1])))
    loss_view.redraw()
    loss_view.steps_check.setChecked(False)
    assert not loss_view.items[lp.RAW].isVisible() and not loss_view.items[lp.REG].isVisible()
    loss_view.add_steps(steps_batch(3, [0.8]))
    loss_view.steps_check.setChecked(True)
    assert loss_view.items[lp.RAW].isVisible()
    assert len(loss_view.items[lp.RAW].getData()[0]) == 3


def test_redraw_benchmark_helper_runs(qapp):
    assert 0 < loss_plot_redraw_seconds(2000, repeats=2) < 5


# -- metric plot ------------------------------------------------------------------------------
def test_metric_plot_accuracy_is_fixed_to_unit_range(qtbot):
    plot = MetricPlot()
    qtbot.addWidget(plot)
    assert plot.objectName() == "metricPlot"
    plot.reset("binary")
    for e in range(1, 4):
        plot.add_epoch(epoch_end(e, e * 10, 0.5, 0.6, train_accuracy=0.5 + e / 10, val_accuracy=0.4 + e / 10))
    assert plot.redraw() and not plot.redraw()
    c = plot.curves()
    np.testing.assert_allclose(c["train_accuracy_per_epoch"][1], [0.6, 0.7, 0.8])
    np.testing.assert_array_equal(c["val_accuracy_per_epoch"][0], [1, 2, 3])
    lo, hi = plot.plot_item.viewRange()[1]
    assert -0.1 < lo < 0 and 1 < hi < 1.1
    assert "Accuracy" in plot.plot_item.getAxis("left").labelText


def test_metric_plot_r2_range_ignores_hugely_negative_values(qtbot):
    plot = MetricPlot()
    qtbot.addWidget(plot)
    plot.reset("regression")
    plot.add_epoch(epoch_end(1, 10, 5.0, train_r2=-1e6, val_r2=-2e6))
    plot.add_epoch(epoch_end(2, 20, 1.0, train_r2=0.5, val_r2=0.4))
    plot.redraw()
    lo, hi = plot.plot_item.viewRange()[1]
    assert -1.3 < lo <= -1.0 and 1.05 <= hi < 1.3
    assert "not shown" in plot.plot_item.getAxis("left").labelText
    assert plot.curves()["train_r2_per_epoch"][1].tolist() == [-1e6, 0.5]
    plot.reset(None)  # GAN or nothing: no metric
    plot.add_epoch(epoch_end(1, 1, 1.0))
    assert plot.curves() == {}


# -- task view --------------------------------------------------------------------------------
def _experiment(dataset: dict, loss: str, layers=None):
    from losslab.core.experiment import Experiment

    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": dataset,
            "model": {
                "layers": [{"type": "linear", "units": 8}, {"type": "tanh"}] if layers is None else layers
            },
            "loss": {"id": loss},
            "optimizer": {"id": "adam", "lr": 0.01},
            "training": {"epochs": 1, "batch_size": 32},
        }
    )


def _task_view(qtbot, trainer):
    view = TaskView()
    qtbot.addWidget(view)
    view.resize(600, 450)
    view.set_dataset(trainer.dataset)
    view.show()
    return view


def test_task_view_binary_surface_from_a_real_trainer(qtbot):
    from losslab.core.experiment import Experiment
    from losslab.core.trainer import Trainer

    trainer = Trainer(Experiment.default())
    trainer.run(epochs=1)
    view = _task_view(qtbot, trainer)
    assert view.objectName() == "taskPlot" and view.mode == "surface_cls"
    payload = TaskView.view_function(trainer.dataset)(trainer)
    assert payload["z"].shape == (GRID, GRID)
    view.set_view(payload)
    assert view.surface.isVisible() and view.surface.image.shape == (GRID, GRID)
    assert view.surface.getLevels() == pytest.approx([0.0, 1.0])
    cx, _cy = view.contour.getData()
    assert len(cx) > 0 and len(cx) % 2 == 0  # segment pairs of the P = 0.5 boundary
    n_points = sum(len(item.data) for item in view._data_items if hasattr(item, "data"))
    assert n_points >= trainer.dataset.n_train + trainer.dataset.n_val
    qtbot.wait(20)
    assert not view.grab().isNull()


def test_a_new_run_on_the_same_data_keeps_its_points_and_forgets_the_predictions(qtbot):
    from losslab.core.data import make_dataset
    from losslab.core.experiment import Experiment
    from losslab.core.trainer import Trainer

    trainer = Trainer(Experiment.default())
    trainer.run(epochs=1)
    view = _task_view(qtbot, trainer)
    view.set_view(TaskView.view_function(trainer.dataset)(trainer))
    view.highlight(np.array([0, 1]))
    points = list(view._data_items)
    assert view.surface.isVisible() and view.highlight_marks.isVisible()
    view.reset_for_run(trainer.dataset)
    assert view._data_items == points  # not drawn again
    assert not view.surface.isVisible() and not view.contour.isVisible()  # the old run's predictions
    assert not view.highlight_marks.isVisible() and len(view.highlighted) == 0
    view.highlight(np.array([2]))  # the points' places are still known
    assert view.highlight_marks.isVisible()
    other = make_dataset({"kind": "circles", "n_samples": 200, "noise": 0.1, "seed": 2})
    view.reset_for_run(other)
    assert view.dataset is other and all(item not in view._data_items for item in points)


def test_view_function_runs_off_the_gui_thread(qtbot):
    from losslab.core.experiment import Experiment
    from losslab.core.trainer import Trainer

    trainer = Trainer(Experiment.default())
    fn = TaskView.view_function(trainer.dataset)
    result = {}
    worker = threading.Thread(target=lambda: result.update(payload=fn(trainer)))
    worker.start()
    worker.join(30)
    assert result["payload"]["mode"] == "surface_cls"


def test_task_view_regression_error_bars(qtbot):
    from losslab.core.trainer import Trainer

    dataset = {"kind": "house_prices", "n_samples": 80, "outlier_fraction": 0.1}
    trainer = Trainer(_experiment(dataset, "mse", []))
    trainer.run()
    view = _task_view(qtbot, trainer)
    assert view.mode == "curve_reg"
    payload = TaskView.view_function(trainer.dataset)(trainer)
    view.set_view(payload)
    n = trainer.dataset.n_train
    bx, by = view.error_bars.getData()
    assert len(bx) == len(by) == 2 * n
    np.testing.assert_allclose(by[1::2], trainer.dataset.y_to_display(trainer.dataset.y_train))
    np.testing.assert_allclose(bx[0::2], bx[1::2])
    fx, fy = view.fit_curve.getData()
    assert len(fx) == LINE_POINTS and np.isfinite(fy).all()
    labels = [label.text for _, label in view.legend.items]
    assert "error bars: prediction → target" in labels
    assert view.plot_item.getAxis("bottom").labelText == "size (sq ft)"


def test_task_view_multiclass_and_2d_regression(qtbot):
    from losslab.core.trainer import Trainer

    blobs = _experiment({"kind": "blobs", "n_samples": 200, "n_classes": 4}, "cross_entropy")
    trainer = Trainer(blobs)
    view = _task_view(qtbot, trainer)
    view.set_view(TaskView.view_function(trainer.dataset)(trainer))
    assert view.rgb_surface.isVisible() and view.rgb_surface.image.shape == (GRID, GRID, 3)

    trainer = Trainer(_experiment({"kind": "plane", "n_samples": 100}, "mse"))
    stale = TaskView.view_function(view.dataset)  # made for the blobs
    view.set_dataset(trainer.dataset)
    assert view.mode == "surface_reg" and view.colorbar is not None
    view.set_view(stale(Trainer(blobs)))
    assert not view.surface.isVisible()  # a late payload for the old dataset is ignored
    view.set_view(TaskView.view_function(trainer.dataset)(trainer))
    assert view.surface.isVisible() and view.surface.image.shape == (GRID, GRID)
    view.set_dataset(trainer.dataset)  # again: the old colour bar goes, a new one comes
    view.set_dataset(None)
    assert view.colorbar is None and view.mode == "empty"


def test_task_view_many_features_uses_parity_and_misclassification(qtbot):
    from losslab.core.data.dataset import build_dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    common = dict(
        rng=rng,
        spec_id="csv",
        name="CSV: t.csv",
        x=x,
        outliers=np.zeros(60, bool),
        feature_names=["a", "b", "c"],
        val_fraction=0.2,
        standardize=True,
    )
    reg = build_dataset(
        task="regression", y=x.sum(axis=1), target_name="t", class_names=[], n_classes=1, **common
    )
    cls = build_dataset(
        task="binary",
        y=(x[:, 0] > 0).astype(float),
        target_name="k",
        class_names=["no", "yes"],
        n_classes=1,
        **common,
    )

    class FakeTrainer:
        def __init__(self, ds, out):
            self.dataset, self.out = ds, out

        def predict(self, xd):
            return self.out(np.asarray(xd))

    view = TaskView()
    qtbot.addWidget(view)
    view.set_dataset(reg)
    assert view_mode(reg) == "parity_reg"
    view.set_view(TaskView.view_function(reg)(FakeTrainer(reg, lambda xd: xd.sum(axis=1))))
    px, py = view._parity[0].getData()
    np.testing.assert_allclose(px, py, atol=1e-4)  # the model sees float32 inputs
    view.set_dataset(cls)
    assert view.mode == "scatter_cls"
    view.set_view(TaskView.view_function(cls)(FakeTrainer(cls, lambda xd: np.full(len(xd), 0.9))))
    assert len(view.miss_marks.data) == int(np.sum(np.concatenate([cls.y_train, cls.y_val]) == 0))


def test_contour_segments_of_a_plane():
    xs = np.linspace(0, 1, 11)
    ys = np.linspace(0, 2, 21)
    z = np.broadcast_to(xs[None, :], (21, 11)).copy()  # z = x
    z[5, 5] = np.nan
    sx, _sy = contour_segments(z, xs, ys, 0.55)
    assert len(sx) % 2 == 0 and len(sx) > 0
    np.testing.assert_allclose(sx, 0.55)
    assert contour_segments(np.zeros((3, 3)), xs[:3], ys[:3], 0.5)[0].size == 0


# -- theme ------------------------------------------------------------------------------------
def _luminance(color) -> float:
    import pyqtgraph as pg

    c = pg.mkColor(color)
    rgb = np.array([c.redF(), c.greenF(), c.blueF()])
    rgb = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(rgb @ [0.2126, 0.7152, 0.0722])


@pytest.mark.parametrize("dark", [False, True])
def test_palettes_have_contrast_and_views_retheme(qtbot, dark):
    pal = palette_colors(dark)
    bg = _luminance(pal["background"])
    for key in ("smooth", "train", "val", "fit", "foreground"):
        fg = _luminance(pal[key])
        ratio = (max(fg, bg) + 0.05) / (min(fg, bg) + 0.05)
        assert ratio >= 3.0, (key, ratio)
    assert len(set(pal["classes"])) >= 10
    try:
        apply_plot_theme(dark)
        for cls in (LossView, MetricPlot, TaskView):
            view = cls()
            qtbot.addWidget(view)
            view.apply_theme()
            view.set_theme(not dark)
    finally:
        apply_plot_theme(False)


# -- export -----------------------------------------------------------------------------------
def test_export_png_svg_and_csv(qtbot, tmp_path, loss_view):
    loss_view.add_steps(steps_batch(1, [1.0, 0.5, 0.25]))
    loss_view.add_epoch(epoch_end(1, 3, 0.3, 0.4))
    loss_view.mark(2, "here")
    loss_view.redraw()
    qtbot.wait(20)
    png = export_plot(loss_view, tmp_path / "loss.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert export_plot(loss_view.plot, tmp_path / "wide.png", width=1200).stat().st_size > 0
    svg = export_plot(loss_view.plot.getPlotItem(), tmp_path / "loss.svg")
    assert xml.dom.minidom.parse(str(svg)).documentElement.tagName == "svg"
    metric = MetricPlot()
    qtbot.addWidget(metric)
    assert export_plot(metric, tmp_path / "metric.svg").stat().st_size > 0
    with pytest.raises(LossLabError):
        export_plot(loss_view, tmp_path / "loss.jpg")

    path = export_curves_csv(loss_view.curves(), tmp_path / "curves.csv")
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["series", "x", "y"]
    raw = [(float(x), float(y)) for s, x, y in rows[1:] if s == lp.RAW]
    assert raw == [(1.0, 1.0), (2.0, 0.5), (3.0, 0.25)]
    assert {r[0] for r in rows[1:]} == set(loss_view.curves())
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary left behind


def test_csv_quotes_names_and_keeps_nan():
    text = curves_csv_text({'odd, "name" 100%': ([1, 2], [np.nan, np.inf]), "empty": ([], [])})
    rows = list(csv.reader(text.splitlines()))
    assert rows == [["series", "x", "y"], ['odd, "name" 100%', "1", "nan"], ['odd, "name" 100%', "2", "inf"]]
    with pytest.raises(ValueError):
        curves_csv_text({"bad": ([1, 2], [1])})
