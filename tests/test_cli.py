"""`losslab run` and `losslab losses` as a user runs them: subprocesses, exit codes, files, messages.

Every shipped example is trained once at full length (in parallel, one process per core); each bad
experiment file must give exit code 2 with one message naming the field, never a traceback.
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "resources" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.losslab"))
DIVERGES = "11_learning_rate_too_high"
DIVERGING = {DIVERGES, "18_exploding_gradients"}  # examples that show a failure: exit code 3
OUTLIERS = {
    "mse": "02_house_outliers_mse",
    "mae": "03_house_outliers_mae",
    "huber": "04_house_outliers_huber",
}
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def losslab(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "losslab", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


def read_history(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def run_all(jobs: dict[str, tuple[list[str], Path | None]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run ``losslab`` once per job, as many at once as there are cores (each trains on one thread)."""

    def run(item):
        name, (args, cwd) = item
        return name, losslab(*args, cwd=cwd)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(run, jobs.items()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every example at full length, plus the other training runs of this file, in one parallel batch.

    Returns {name: (CompletedProcess, output folder)}.
    """
    out = tmp_path_factory.mktemp("runs")
    # A 30-epoch file cut to 2 by --epochs, run without --out or --quiet from its own folder.
    short = out / "short"
    short.mkdir()
    (short / "short.losslab").write_text((EXAMPLES_DIR / "01_house_prices_mse.losslab").read_text("utf-8"))

    jobs = {ex.stem: (["run", str(ex), "--out", str(out / ex.stem), "--quiet"], None) for ex in EXAMPLES}
    jobs["epochs_override"] = (["run", "short.losslab", "--epochs", "2"], short)
    folders = {name: out / name for name in jobs} | {"epochs_override": short / "short-run"}
    results = run_all(jobs)
    return {name: (results[name], folders[name]) for name in jobs}


def test_there_are_enough_examples():
    assert len(EXAMPLES) >= 10
    names = {p.stem for p in EXAMPLES}
    assert DIVERGES in names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_documented(example):
    doc = json.loads(example.read_text(encoding="utf-8"))
    assert doc["name"].strip()
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", doc["description"].strip()) if s]
    assert 2 <= len(sentences) <= 4, sentences


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_trains_through_the_cli(example, runs):
    import torch

    from losslab.core.experiment import load_experiment
    from losslab.core.trainer import make_trainer

    result, folder = runs[example.stem]
    assert "Traceback" not in result.stderr
    if example.stem in DIVERGING:
        assert result.returncode == 3, result.stderr
        assert re.search(r"diverged.*epoch \d+, step \d+", result.stderr), result.stderr
        assert (folder / "history.csv").is_file()  # what there is of the run is still written
        return
    rows = read_history(folder / "history.csv")
    assert result.returncode == 0, result.stderr
    training = load_experiment(example).training
    if training["early_stopping"]:  # may end early, with the best epoch's weights put back
        assert len(rows) <= training["epochs"]
    else:  # a row per evaluated epoch: all of them, or every k-th of a long full-batch run, and the last
        epochs = [int(r["epoch"]) for r in rows]
        k = epochs[-1] if len(epochs) == 1 else epochs[-1] - epochs[-2]
        assert epochs[-1] == training["epochs"] and len(rows) >= min(training["epochs"], 150)
        assert all(e <= 5 or e % k == 0 for e in epochs), epochs
    assert rows[-1]["elapsed_s"] < 40.0  # seconds when idle; generous for a loaded test machine
    saved = load_experiment(folder / "experiment.losslab")
    assert saved.to_dict() == load_experiment(example).to_dict()
    if saved.dataset["kind"].startswith("gan_"):  # a game, not a descent: its losses need not fall
        assert not rows[-1]["train_modes"] < 0 and math.isfinite(rows[-1]["train_swd"])  # nan: images
        return
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]

    # The saved experiment re-loads and equals the example; the weights load into its model.
    trainer = make_trainer(saved)
    state = torch.load(folder / "weights.pt", weights_only=True)
    trainer.model.load_state_dict(state)
    last_train_loss, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    saved_row = rows[-1]
    if training["early_stopping"] and len(rows) < training["epochs"]:  # it restored the best epoch
        saved_row = min(rows, key=lambda r: r["val_loss"])
    assert last_train_loss == pytest.approx(saved_row["train_loss"], rel=1e-4, abs=1e-6)


def _rows(runs, stem: str) -> list[dict[str, float]]:
    return read_history(runs[stem][1] / "history.csv")


def test_two_moons_reaches_97_percent(runs):
    for stem in ("05_moons_bce_logits", "06_moons_bce_probabilities"):
        assert _rows(runs, stem)[-1]["val_accuracy"] >= 0.97, stem


def test_outliers_drag_the_mse_line_up(runs):
    """Same data and seed: the MSE line sits well above the true prices; MAE and Huber stay near them."""
    import numpy as np
    import torch

    from losslab.core.experiment import load_experiment
    from losslab.core.trainer import make_trainer

    docs = [json.loads((EXAMPLES_DIR / f"{stem}.losslab").read_text()) for stem in OUTLIERS.values()]
    assert all(d["dataset"] == docs[0]["dataset"] and d["training"] == docs[0]["training"] for d in docs)
    assert docs[0]["dataset"]["outlier_fraction"] == pytest.approx(0.05)

    sizes = np.array([[1000.0], [2000.0], [3000.0]])
    true_price = 50_000 + 150 * sizes[:, 0]  # the generator's line (losslab.core.data.regression)
    bias, val_mae = {}, {}
    for loss, stem in OUTLIERS.items():
        folder = runs[stem][1]
        trainer = make_trainer(load_experiment(folder / "experiment.losslab"))
        trainer.model.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
        bias[loss] = float(np.mean(trainer.predict(sizes) - true_price))
        val_mae[loss] = _rows(runs, stem)[-1]["val_mae"]
    assert bias["mse"] > 15_000
    assert abs(bias["mae"]) < 5_000
    assert abs(bias["huber"] - bias["mae"]) < abs(bias["huber"] - bias["mse"]) / 2  # near MAE's line
    assert val_mae["mae"] < val_mae["huber"] < val_mae["mse"]


def test_overfitting_example_overfits_and_l2_holds_it_back(runs):
    plain = _rows(runs, "09_circles_overfitting")
    l2 = _rows(runs, "10_circles_l2")
    best = min(r["val_loss"] for r in plain)
    assert plain[-1]["train_loss"] < 0.02  # memorized, flipped labels included
    assert plain[-1]["val_loss"] > 3 * best  # while validation loss climbs
    best_l2 = min(r["val_loss"] for r in l2)
    assert l2[-1]["val_loss"] < 1.2 * best_l2
    assert l2[-1]["val_loss"] < plain[-1]["val_loss"] / 3
    assert l2[-1]["l2"] > 0 and plain[-1]["l2"] == 0


def test_gradient_examples_warn_and_their_fixes_do_not(runs):
    assert "Vanishing gradients" in runs["16_vanishing_gradients_sigmoid"][0].stderr
    assert _rows(runs, "16_vanishing_gradients_sigmoid")[-1]["train_loss"] > 0.6  # stuck near ln 2
    fixed = runs["17_vanishing_gradients_relu"][0].stderr
    assert "Vanishing" not in fixed and _rows(runs, "17_vanishing_gradients_relu")[-1]["train_loss"] < 0.2
    exploding = runs["18_exploding_gradients"][0].stderr
    assert "Exploding gradients" in exploding and "exploded" in exploding
    clipped = runs["19_exploding_gradients_clipped"][0]
    assert clipped.returncode == 0 and "Exploding" not in clipped.stderr
    assert _rows(runs, "19_exploding_gradients_clipped")[-1]["train_loss"] < 0.5


def test_early_stopping_example_stops_at_the_patience_and_says_so(runs):
    result, _ = runs["20_overfitting_early_stopping"]
    rows = _rows(runs, "20_overfitting_early_stopping")
    best = min(range(len(rows)), key=lambda i: rows[i]["val_loss"])
    assert len(rows) == best + 1 + 25 < 500
    assert "Early stopping at epoch" in result.stderr and "Overfitting" in result.stderr


def test_learning_rate_from_the_finder_trains_where_ten_diverged(runs):
    rows = _rows(runs, "21_learning_rate_from_finder")
    assert runs["21_learning_rate_from_finder"][0].returncode == 0
    assert rows[-1]["val_r2"] > 0.9


def test_epochs_override_and_default_out_folder(runs):
    result, folder = runs["epochs_override"]
    assert result.returncode == 0, result.stderr
    assert folder.name == "short-run"  # <experiment name>-run in the current folder
    assert [r["epoch"] for r in read_history(folder / "history.csv")] == [1, 2]
    assert (folder / "weights.pt").is_file()
    saved = json.loads((folder / "experiment.losslab").read_text())
    assert saved["training"]["epochs"] == 2
    assert "2 epochs" in result.stderr and "epoch 2/2" in result.stderr  # progress, as --quiet was not given


def test_losses_prints_every_id():
    from losslab.core.losses import LOSSES

    result = losslab("losses")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "id" and set(lines[1]) <= {"-", " "}
    ids = [line.split()[0] for line in lines[2:]]
    assert ids == list(LOSSES)


# --- bad input: exit code 2, one message naming the field, no traceback ----------------------

BASE = {
    "format": "losslab",
    "schema_version": 1,
    "dataset": {"kind": "house_prices", "n_samples": 50},
    "model": {"layers": [{"type": "linear", "units": 4}, {"type": "relu"}]},
    "loss": {"id": "mse"},
    "optimizer": {"id": "sgd", "lr": 0.01},
    "training": {"epochs": 1, "batch_size": 16},
}


def _set(path: str, value):
    def change(doc):
        *parents, last = path.split(".")
        for key in parents:
            doc = doc[key]
        if value is _DELETE:
            del doc[last]
        else:
            doc[last] = value

    return change


_DELETE = object()

# name -> (change to BASE, or raw file text; words the message must contain)
BAD_FILES = {
    "not_json": ("{ 'format': losslab", ["not valid JSON", "line 1"]),
    "not_an_object": ("[1, 2, 3]", ["JSON object"]),
    "wrong_format_tag": (_set("format", "keras"), ["format", "not a LossLab experiment"]),
    "missing_schema_version": (_set("schema_version", _DELETE), ["schema_version"]),
    "newer_schema_version": (_set("schema_version", 2), ["schema_version", "newer"]),
    "unknown_loss": (_set("loss.id", "msle"), ["loss.id", "msle", "mse"]),
    "negative_learning_rate": (_set("optimizer.lr", -0.1), ["optimizer.lr", "at least"]),
    "unknown_layer_type": (_set("model.layers", [{"type": "conv3d"}]), ["model.layers[0].type", "conv3d"]),
    "image_layer_on_points": (
        _set("model.layers", [{"type": "conv2d"}]),
        ["model.layers[0]", "needs an image"],
    ),
    "units_zero": (_set("model.layers", [{"type": "linear", "units": 0}]), ["model.layers[0].units"]),
    "loss_task_mismatch": (
        _set("loss.id", "cross_entropy"),
        ["loss.id", "class labels", "regression", "MSE", "Huber"],
    ),
    "unknown_dataset_kind": (_set("dataset.kind", "mnist"), ["dataset.kind", "mnist", "moons"]),
    "bad_dataset_param": (_set("dataset.noise", -1), ["dataset.noise", "at least 0"]),
    "unknown_dataset_param": (_set("dataset.colour", "red"), ["dataset.colour"]),
    "unknown_optimizer": (_set("optimizer.id", "lion"), ["optimizer.id", "lion", "adam"]),
    "unknown_schedule": (_set("optimizer.schedule", {"id": "zigzag"}), ["optimizer.schedule.id"]),
    "bad_batch_size": (_set("training.batch_size", -5), ["training.batch_size"]),
    "batch_size_not_a_number": (_set("training.batch_size", "big"), ["training.batch_size", "number"]),
    "unknown_top_level_key": (_set("colour", "red"), ["colour", "unknown key"]),
    "epochs_zero": (_set("training.epochs", 0), ["training.epochs", "at least 1"]),
    "fractional_epochs": (_set("training.epochs", 2.5), ["training.epochs", "whole number"]),
    "bad_device": (_set("training.device", "tpu"), ["training.device", "cuda"]),
    "layers_not_a_list": (_set("model.layers", "linear"), ["model.layers", "list"]),
    "unknown_init": (_set("model.init", "ones"), ["model.init", "xavier"]),
    "negative_l2": (_set("regularization", {"l2": -1}), ["regularization.l2"]),
    "unknown_loss_param": (_set("loss.params", {"delta": 2}), ["loss.params.delta"]),
    "csv_file_missing": (_set("dataset", {"kind": "csv", "path": "no-such-data.csv"}), ["no-such-data.csv"]),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Each bad file through ``losslab run``, in parallel. Returns {case: (CompletedProcess, out folder)}."""
    base = tmp_path_factory.mktemp("bad")
    jobs = {}
    for case, (change, _) in BAD_FILES.items():
        if isinstance(change, str):
            text = change
        else:
            doc = copy.deepcopy(BASE)
            change(doc)
            text = json.dumps(doc)
        path = base / f"{case}.losslab"
        path.write_text(text)
        jobs[case] = (["run", str(path), "--out", str(base / f"{case}-out"), "--quiet"], None)
    results = run_all(jobs)
    return {case: (results[case], base / f"{case}-out") for case in jobs}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_experiment_file_exits_2_naming_the_field(case, bad_runs):
    result, out = bad_runs[case]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("losslab: ") and "\n" not in message, message
    for word in BAD_FILES[case][1]:
        assert word in message, (word, message)
    assert not out.exists()  # nothing is written for a file that never trained


def test_missing_experiment_file(tmp_path):
    result = losslab("run", str(tmp_path / "absent.losslab"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "no such file" in result.stderr and "absent.losslab" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--epochs", "0"], ["--epochs", "at least 1"]),
        (["--epochs", "many"], ["--epochs", "invalid int"]),
        (["--device", "tpu"], ["--device", "invalid choice"]),
    ],
)
def test_bad_command_line_exits_2(args, words, tmp_path):
    path = tmp_path / "ok.losslab"
    path.write_text(json.dumps(BASE))
    result = losslab("run", str(path), *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr


def test_out_must_be_a_folder(tmp_path):
    path = tmp_path / "ok.losslab"
    path.write_text(json.dumps(BASE))
    (tmp_path / "taken").write_text("a file")
    result = losslab("run", str(path), "--out", str(tmp_path / "taken"))
    assert result.returncode == 2
    assert "--out" in result.stderr and "Traceback" not in result.stderr
