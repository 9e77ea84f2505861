"""Every sample's history (dataset cartography): what is recorded, its memory bound, the map's regions,
the CSV of `losslab run --save-sample-history`, and api.sample_history."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from losslab import api
from losslab.cli import main
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.resources import examples_dir
from losslab.core.sample_history import (
    MAX_BYTES,
    MAX_COLUMNS,
    SampleHistory,
    SampleHistoryProbe,
    SampleHistoryUpdate,
    columns_for,
)
from losslab.core.trainer import make_trainer


def moons(**dataset) -> Experiment:
    exp = load_experiment(examples_dir() / "05_moons_bce_logits.losslab")
    return exp.replace("dataset", **dataset) if dataset else exp


def test_it_records_loss_and_probability_of_the_true_class_from_the_epoch_evaluation():
    exp = moons(n_samples=200).replace("training", epochs=4)
    trainer = make_trainer(exp, threads=1)
    probe = SampleHistoryProbe(interval=0.0)
    trainer.probes.append(probe)
    events: list[SampleHistoryUpdate] = []
    trainer.run(lambda e: events.append(e) if isinstance(e, SampleHistoryUpdate) else None)
    h = probe.history
    assert h is not None and h.count == 4 and list(h.epochs) == [1, 2, 3, 4]
    assert h.loss.dtype == h.value.dtype == np.float32 and h.loss.shape == (trainer.dataset.n_train, 4)
    # The last column is the final model's: the mean loss is the epoch's training loss, P(true) agrees
    # with the model's own probabilities and the accuracy with the metrics.
    assert float(h.loss[:, -1].mean()) == pytest.approx(trainer.history.last("train_loss"), rel=1e-4)
    p1 = trainer.predict(trainer.dataset.x_to_display(trainer.dataset.x_train))
    y = trainer.dataset.y_train
    assert np.allclose(h.value[:, -1], np.where(y == 1, p1, 1 - p1), atol=1e-5)
    assert float(h.correct[:, -1].mean()) == pytest.approx(trainer.history.last("train_accuracy"), abs=1e-6)
    # The window's copies share nothing with the recording, and the last epoch always gets one.
    assert events and events[-1].epoch == 4
    events[-1].history.loss[:] = -1
    assert h.loss.min() >= 0


def test_memory_is_bounded_and_long_runs_keep_evenly_spread_epochs():
    h = SampleHistory(5, "binary", capacity=8)
    ones = np.ones(5)
    for epoch in range(1, 41):
        h.add(epoch, ones * epoch, ones, ones > 0)
    assert h.count <= 8 and h.stride == 8
    assert list(h.epochs) == [8, 16, 24, 32, 40]
    assert np.array_equal(h.loss[0], h.epochs.astype(np.float32))  # columns moved with their epochs
    assert columns_for(100) == MAX_COLUMNS
    assert columns_for(10**7) * 10**7 * 9 <= MAX_BYTES or columns_for(10**7) == 8
    assert SampleHistory(1000, "binary").nbytes <= 1000 * MAX_COLUMNS * 9 + MAX_COLUMNS * 8


def test_flipped_labels_gather_among_the_lowest_confidence_samples():
    exp = moons(n_samples=400, label_noise=0.15, seed=3).replace("training", epochs=30, seed=0)
    h = api.sample_history(exp, record=False)
    flipped = make_trainer(exp).dataset.outliers_train
    carto = h.cartography()
    k = int(flipped.sum())
    assert k >= 20
    lowest = np.argsort(carto.confidence)[:k]
    assert flipped[lowest].mean() > 0.6, "most flipped labels should be among the least confident samples"
    assert (carto.region[flipped] == 2).mean() > 0.6  # ... in the hard region
    assert (carto.region[~flipped] == 0).mean() > 0.8  # and the rest mostly easy
    assert h.run_history is not None and len(h.run_history) == 30


def test_regression_records_the_error_and_multiclass_the_true_class_probability():
    reg = api.sample_history(examples_dir() / "01_house_prices_mse.losslab", epochs=2, record=False)
    assert reg.value_name == "error" and reg.cartography().regression
    assert np.all(np.isfinite(reg.value)) and np.all(reg.loss >= 0)
    spiral = {
        "format": "losslab",
        "schema_version": 1,
        "dataset": {"kind": "blobs", "n_samples": 150, "n_classes": 3},
        "model": {"layers": [{"type": "linear", "units": 8}, {"type": "relu"}]},
        "loss": {"id": "cross_entropy"},
        "optimizer": {"id": "adam", "lr": 0.01},
        "training": {"epochs": 2, "batch_size": 32},
    }
    multi = api.sample_history(spiral, record=False)
    assert np.all((multi.value >= 0) & (multi.value <= 1))
    gan = {
        **spiral,
        "dataset": {"kind": "gan_ring", "n_samples": 64},
        "loss": {"id": "gan_g_nonsat"},
        "training": {"epochs": 1, "batch_size": 32},
    }
    with pytest.raises(LossLabError, match="GAN"):
        api.sample_history(gan, record=False)


def test_run_writes_the_history_csv_next_to_the_other_outputs(tmp_path, capsys):
    path = tmp_path / "m.losslab"
    moons(n_samples=120).replace("training", epochs=3).save(path)
    out = tmp_path / "out"
    code = main(["run", str(path), "--quiet", "--no-record", "--out", str(out), "--save-sample-history"])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO((out / "sample_history.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 96  # the training samples (80% of 120)
    assert {"loss_e1", "loss_e3", "p_true_e3", "confidence", "region"} <= set(rows[0])
    assert {r["region"] for r in rows} <= {"easy", "ambiguous", "hard"}
    assert "sample_history.csv" in capsys.readouterr().err
    # Without the flag there is no such file.
    main(["run", str(path), "--quiet", "--no-record", "--out", str(tmp_path / "plain")])
    assert not (tmp_path / "plain" / "sample_history.csv").exists()
