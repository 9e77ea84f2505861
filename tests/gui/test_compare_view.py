"""The Compare window: differing settings only, one curve per run, alignment, smoothing, seed bands."""

import math

import numpy as np
import pytest

from losslab.core.experiment import Experiment
from losslab.core.runs import Recorder, open_store
from losslab.gui.runs.compare_view import (
    MISSING,
    CompareWindow,
    curve,
    differing_settings,
    ema,
    flatten,
    mean_band,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path))
    s = open_store()
    yield s
    s.close()


def record_run(store, experiment, name="", group_id=None):
    """One real (tiny) training run recorded as the window records it, synchronously."""
    from losslab.core.trainer import make_trainer

    trainer = make_trainer(experiment, threads=1, diagnostics=False)
    recorder = Recorder(store, trainer, name=name, group_id=group_id, source="test")
    with recorder:
        trainer.run(recorder.wrap(None))
    return recorder.run_id


def fast(**training):
    return Experiment.default().replace("training", **{"epochs": 3, "batch_size": 64, **training})


def test_flatten_and_differing_settings():
    a = {"name": "a", "optimizer": {"id": "adam", "lr": 0.01}, "model": {"layers": [1, 2]}}
    b = {"name": "b", "optimizer": {"id": "adam", "lr": 0.1}, "model": {"layers": [1, 2]}}
    c = {"name": "c", "optimizer": {"id": "sgd", "lr": 0.01}, "model": {"layers": [1, 3]}, "extra": {"x": 1}}
    assert flatten(a) == {"name": "a", "optimizer.id": "adam", "optimizer.lr": 0.01, "model.layers": "[1, 2]"}
    assert differing_settings([a, b]) == {"optimizer.lr": [0.01, 0.1]}  # names are labels, not settings
    diff = differing_settings([a, b, c])
    assert list(diff) == ["optimizer.id", "optimizer.lr", "model.layers", "extra.x"]
    assert diff["extra.x"] == [MISSING, MISSING, 1]
    assert differing_settings([a, dict(a)]) == {}
    assert differing_settings([{"t": {"v": 1}}, {"t": {"v": 1.0}}]) == {}  # 1 and 1.0 are the same setting


def test_ema_and_mean_band():
    y = np.array([1.0, 1.0, np.nan, 1.0])
    assert np.allclose(ema(y, 0.9)[[0, 1, 3]], 1.0) and math.isnan(ema(y, 0.9)[2])
    assert np.array_equal(ema(np.array([3.0, 1.0]), 0.0), [3.0, 1.0])
    smooth = ema(np.array([0.0, 10.0, 10.0]), 0.5)
    assert smooth[0] == 0.0 and 0 < smooth[1] < 10
    x, mean, std = mean_band(
        [(np.arange(3.0), np.array([1.0, 2, 3])), (np.arange(4.0), np.array([3.0, 4, 5, 6]))]
    )
    assert list(x) == [0, 1, 2] and list(mean) == [2, 3, 4]  # only the epochs every run has
    assert np.allclose(std, math.sqrt(2))  # sample standard deviation


def test_compare_shows_only_what_differs_and_one_curve_per_run(qtbot, store):
    base = fast()
    ids = [
        record_run(store, base, "adam"),
        record_run(store, base.replace("optimizer", lr=0.05), "adam fast"),
        record_run(store, base.replace("training", batch_size=128), "big batch"),
    ]
    view = CompareWindow()
    qtbot.addWidget(view)
    view.set_runs([store.get_run(i) for i in ids])
    assert view.setting_rows() == ["optimizer.lr", "training.batch_size"]
    rows = view.table_rows()
    assert rows["optimizer.lr"] == ["0.01", "0.05", "0.01"]
    assert rows["training.batch_size"] == ["64", "64", "128"]
    assert "training.seed" not in rows and "training.epochs" not in rows
    assert rows["status"] == ["finished"] * 3 and rows["epochs done"] == ["3"] * 3
    assert "final Accuracy" in rows
    assert [view.table.horizontalHeaderItem(c).text() for c in range(3)] == ["adam", "adam fast", "big batch"]
    # One training-loss curve per run, labelled by its name, each its own colour; val dashed beside it.
    train = [i for i in view.items["loss"] if i.name().endswith("(train)")]
    assert [i.name() for i in train] == ["adam (train)", "adam fast (train)", "big batch (train)"]
    assert len({i.opts["pen"].color().name() for i in train}) == 3
    assert len(view.items["metric"]) == 3
    x, _ = train[0].getData()
    assert list(x) == [1, 2, 3]  # by epoch


def test_align_by_step_and_time_and_smoothing(qtbot, store):
    rid = record_run(store, fast(), "one")
    record = store.get_run(rid)
    view = CompareWindow()
    qtbot.addWidget(view)
    view.set_runs([record])
    view.align.setCurrentIndex(view.align.findData("step"))
    x, _ = view.items["loss"][0].getData()
    assert list(x) == [row["step"] for row in record.epochs]
    view.align.setCurrentIndex(view.align.findData("time"))
    x, _ = view.items["loss"][0].getData()
    assert np.all(np.diff(x) > 0) and x[0] > 0
    raw = curve(record, "train_loss")[1]
    view.align.setCurrentIndex(view.align.findData("epoch"))
    view.smoothing.setValue(80)
    _, smooth = view.items["loss"][0].getData()
    assert np.allclose(smooth, ema(raw, 0.8)) and not np.allclose(smooth, raw)
    assert view.same_note.text().startswith("Select two or more")


def test_seed_group_as_mean_and_std_band(qtbot, store):
    from losslab.gui.plots.band_fill import BandFill

    base = fast(epochs=4)
    ids = [
        record_run(store, base.replace("training", seed=s), f"moons seed {s}", "seeds-abc") for s in (0, 1, 2)
    ]
    view = CompareWindow()
    qtbot.addWidget(view)
    view.set_runs([store.get_run(i) for i in ids], band=True)
    assert view.band.isEnabled() and view.band.isChecked()
    assert view.setting_rows() == ["training.seed"]
    names = [i.name() for i in view.items["loss"]]
    assert names == ["moons (mean ± std of 3) (train)", "moons (mean ± std of 3) (val)"]
    bands = [i for i in view.loss_plot.getPlotItem().items if isinstance(i, BandFill)]
    assert len(bands) == 2 and not bands[0].path().isEmpty()
    view.band.setChecked(False)
    assert len([i for i in view.items["loss"] if i.name().endswith("(train)")]) == 3
