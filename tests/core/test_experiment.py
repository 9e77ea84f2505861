"""The `.losslab` file: round trips, atomic saves, defaults, schema versions and field-naming errors."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from losslab.core import experiment as experiment_module
from losslab.core.errors import LossLabError
from losslab.core.experiment import (
    FORMAT,
    SCHEMA_VERSION,
    Experiment,
    load_experiment,
    parse_experiment,
    save_text_atomic,
)
from losslab.core.resources import list_examples

MINIMAL = {
    "format": "losslab",
    "schema_version": 1,
    "dataset": {"kind": "moons"},
    "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
    "loss": {"id": "bce_logits"},
    "optimizer": {"id": "adam"},
    "training": {},
}


def doc(**sections):
    d = copy.deepcopy(MINIMAL)
    d.update(sections)
    return d


# --- round trips -----------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    exp = Experiment.default()
    exp.name, exp.description = "Round trip", "Saved and read back."
    exp = exp.replace("regularization", l2=0.001).replace("optimizer", grad_clip=1.5)
    path = tmp_path / "exp.losslab"
    exp.save(path)
    back = load_experiment(path)
    assert back == exp
    assert back.to_dict() == exp.to_dict()
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == FORMAT


def test_from_dict_to_dict_is_stable():
    once = Experiment.from_dict(MINIMAL).to_dict()
    assert Experiment.from_dict(once).to_dict() == once


@pytest.mark.parametrize("path", list_examples(), ids=lambda p: p.stem)
def test_every_example_round_trips(path, tmp_path):
    exp = load_experiment(path)
    assert exp.name and exp.description
    exp.save(tmp_path / path.name)
    assert load_experiment(tmp_path / path.name) == exp


def test_save_writes_unicode_and_a_trailing_newline(tmp_path):
    exp = Experiment.default()
    exp.description = "λ₂ × Σw² keeps weights small"
    path = tmp_path / "u.losslab"
    exp.save(path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    assert load_experiment(path).description == exp.description


# --- atomic saving ---------------------------------------------------------------------------


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "exp.losslab"
    Experiment.default().save(path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    changed = Experiment.default().replace("optimizer", lr=0.5)
    with pytest.raises(OSError, match="disk full"):
        changed.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.losslab"]  # no temp file left behind


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "notes.txt"
    path.write_text("old")

    def broken_fsync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        save_text_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_save_creates_missing_folders(tmp_path):
    path = tmp_path / "a" / "b" / "exp.losslab"
    Experiment.default().save(path)
    assert load_experiment(path) == Experiment.default()


# --- defaults --------------------------------------------------------------------------------


def test_defaults_are_filled_in():
    exp = Experiment.from_dict(MINIMAL)
    assert exp.training == {
        "epochs": 50,
        "batch_size": 32,
        "seed": 0,
        "device": "auto",
        "early_stopping": 0,
        "diagnostics_every": 10,
    }
    assert exp.regularization == {"l1": 0.0, "l2": 0.0}
    assert exp.optimizer["lr"] == 0.01 and exp.optimizer["grad_clip"] == 0.0
    assert exp.optimizer["params"] == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0}
    assert exp.optimizer["schedule"] == {"id": "constant", "params": {}, "warmup_epochs": 0}
    assert exp.loss == {"id": "bce_logits", "params": {"pos_weight": 1.0}}
    assert exp.model["init"] == "default"
    assert exp.model["layers"][0] == {"type": "linear", "units": 8, "bias": True}
    assert exp.dataset["kind"] == "moons" and exp.dataset["noise"] == 0.1
    assert exp.dataset["val_fraction"] == 0.2 and exp.dataset["standardize"] is True
    assert exp.name == "" and exp.description == ""


def test_schedule_params_default_per_schedule():
    exp = Experiment.from_dict(doc(optimizer={"id": "sgd", "schedule": {"id": "step"}}))
    assert exp.optimizer["schedule"]["params"] == {"step_size": 10, "gamma": 0.5}
    assert exp.optimizer["params"] == {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0}


def test_numbers_are_converted_to_their_types():
    exp = Experiment.from_dict(doc(training={"epochs": 5.0}, optimizer={"id": "adam", "lr": 1}))
    assert exp.training["epochs"] == 5 and isinstance(exp.training["epochs"], int)
    assert isinstance(exp.optimizer["lr"], float)


def test_replace_validates_and_leaves_the_original_alone():
    exp = Experiment.default()
    faster = exp.replace("optimizer", lr=0.1)
    assert faster.optimizer["lr"] == 0.1 and exp.optimizer["lr"] == 0.01
    with pytest.raises(LossLabError) as info:
        exp.replace("optimizer", lr=0)
    assert info.value.field == "optimizer.lr"


def test_copy_is_deep():
    exp = Experiment.default()
    other = exp.copy()
    other.model["layers"].append({"type": "relu"})
    assert len(exp.model["layers"]) == 4


# --- schema versions and migrations ----------------------------------------------------------


def test_schema_version_1_loads():
    assert Experiment.from_dict(doc(schema_version=1)).to_dict()["schema_version"] == SCHEMA_VERSION


def test_newer_schema_is_refused():
    with pytest.raises(LossLabError, match="newer") as info:
        Experiment.from_dict(doc(schema_version=SCHEMA_VERSION + 1))
    assert info.value.field == "schema_version"


@pytest.mark.parametrize("version", [None, 0, -1, "1", 1.5, True])
def test_bad_schema_version_is_refused(version):
    d = doc(schema_version=version)
    if version is None:
        del d["schema_version"]
    with pytest.raises(LossLabError) as info:
        Experiment.from_dict(d)
    assert info.value.field == "schema_version"


def test_migrations_run_in_order(monkeypatch):
    """Pretend the current schema is 3: a v1 file goes through MIGRATIONS[1] then MIGRATIONS[2]."""
    seen = []

    def v1_to_v2(d):
        seen.append(1)
        d = dict(d)
        d["training"] = {**d.get("training", {}), "epochs": 7}
        return d

    def v2_to_v3(d):
        seen.append(2)
        return {**d, "name": d.get("name", "") + " (migrated)"}

    monkeypatch.setattr(experiment_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(experiment_module, "MIGRATIONS", {1: v1_to_v2, 2: v2_to_v3})
    original = doc(name="old")
    exp = Experiment.from_dict(original)
    assert seen == [1, 2]
    assert exp.training["epochs"] == 7 and exp.name == "old (migrated)"
    assert original["name"] == "old" and "epochs" not in original["training"]  # input untouched
    assert exp.to_dict()["schema_version"] == 3


# --- validation errors name their field ------------------------------------------------------

BAD = [
    ("format", doc(format="keras")),
    ("format", {k: v for k, v in MINIMAL.items() if k != "format"}),
    ("experiment.colour", doc(colour="red")),
    ("dataset", doc(dataset=[1])),
    ("dataset.kind", doc(dataset={})),
    ("dataset.kind", doc(dataset={"kind": "mnist"})),
    ("dataset.noise", doc(dataset={"kind": "moons", "noise": -1})),
    ("dataset.n_samples", doc(dataset={"kind": "moons", "n_samples": 5})),
    ("dataset.path", doc(dataset={"kind": "csv"}, loss={"id": "mse"})),
    ("model.layers", doc(model={"layers": {"type": "linear"}})),
    ("model.layers[0]", doc(model={"layers": ["linear"]})),
    ("model.layers[1].type", doc(model={"layers": [{"type": "linear"}, {"type": "conv"}]})),
    ("model.layers[0].units", doc(model={"layers": [{"type": "linear", "units": 0}]})),
    ("model.layers[0].units", doc(model={"layers": [{"type": "linear", "units": 2.5}]})),
    ("model.layers[0].bias", doc(model={"layers": [{"type": "linear", "bias": "yes"}]})),
    ("model.layers[0].p", doc(model={"layers": [{"type": "dropout", "p": 1.5}]})),
    ("model.layers[0].activation", doc(model={"layers": [{"type": "residual", "activation": "swish"}]})),
    ("model.init", doc(model={"layers": [], "init": "ones"})),
    ("model.depth", doc(model={"layers": [], "depth": 3})),
    ("loss.id", doc(loss={"id": "nope"})),
    ("loss.id", doc(loss={})),
    ("loss.id", doc(loss={"id": "cross_entropy"})),
    ("loss.params.pos_weight", doc(loss={"id": "bce_logits", "params": {"pos_weight": -1}})),
    ("loss.params.delta", doc(loss={"id": "bce_logits", "params": {"delta": 1}})),
    ("loss.weight", doc(loss={"id": "bce_logits", "weight": 1})),
    ("optimizer.id", doc(optimizer={"id": "lion"})),
    ("optimizer.lr", doc(optimizer={"id": "adam", "lr": -0.1})),
    ("optimizer.lr", doc(optimizer={"id": "adam", "lr": float("nan")})),
    ("optimizer.grad_clip", doc(optimizer={"id": "adam", "grad_clip": -1})),
    ("optimizer.params.momentum", doc(optimizer={"id": "sgd", "params": {"momentum": 2}})),
    ("optimizer.schedule", doc(optimizer={"id": "sgd", "schedule": "cosine"})),
    ("optimizer.schedule.id", doc(optimizer={"id": "sgd", "schedule": {"id": "zigzag"}})),
    (
        "optimizer.schedule.params.gamma",
        doc(optimizer={"id": "sgd", "schedule": {"id": "step", "params": {"gamma": 2}}}),
    ),
    ("optimizer.schedule.warmup_epochs", doc(optimizer={"id": "sgd", "schedule": {"warmup_epochs": -1}})),
    ("training.epochs", doc(training={"epochs": 0})),
    ("training.batch_size", doc(training={"batch_size": -1})),
    ("training.batch_size", doc(training={"batch_size": "big"})),
    ("training.seed", doc(training={"seed": -3})),
    ("training.device", doc(training={"device": "tpu"})),
    ("training.patience", doc(training={"patience": 3})),
    ("training", doc(training=5)),
    ("regularization.l1", doc(regularization={"l1": -0.1})),
    ("regularization.dropout", doc(regularization={"dropout": 0.1})),
    ("name", doc(name=3)),
    ("description", doc(description=["a"])),
]


@pytest.mark.parametrize(("field", "bad"), BAD, ids=[f"{i}-{f}" for i, (f, _) in enumerate(BAD)])
def test_validation_errors_name_their_field(field, bad):
    with pytest.raises(LossLabError) as info:
        Experiment.from_dict(bad)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_a_loss_that_does_not_fit_says_why_and_what_does():
    with pytest.raises(LossLabError) as info:
        Experiment.from_dict(doc(dataset={"kind": "house_prices"}, loss={"id": "cross_entropy"}))
    message = str(info.value)
    assert "regression" in message and "class labels" in message
    for fitting in ("MSE", "MAE", "Huber"):
        assert fitting in message


def test_not_an_object():
    with pytest.raises(LossLabError, match="JSON object"):
        Experiment.from_dict([MINIMAL])


# --- reading files ---------------------------------------------------------------------------


def test_parse_reports_json_position():
    with pytest.raises(LossLabError, match=r"not valid JSON \(line 2, column"):
        parse_experiment('{"format": "losslab",\n oops}')


def test_load_prefixes_the_file_name_and_keeps_the_field(tmp_path):
    path = tmp_path / "bad.losslab"
    path.write_text(json.dumps(doc(optimizer={"id": "adam", "lr": -1})))
    with pytest.raises(LossLabError) as info:
        load_experiment(path)
    assert info.value.field == "optimizer.lr"
    assert str(info.value).startswith("bad.losslab: optimizer.lr: ")


def test_load_names_a_bad_json_file_once(tmp_path):
    path = tmp_path / "broken.losslab"
    path.write_text("{")
    with pytest.raises(LossLabError) as info:
        load_experiment(path)
    assert str(info.value).count("broken.losslab") == 1


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(LossLabError, match="no such file"):
        load_experiment(tmp_path / "absent.losslab")
    binary = tmp_path / "binary.losslab"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LossLabError, match="not a text file"):
        load_experiment(binary)
    with pytest.raises(LossLabError, match="is a folder, not a LossLab experiment"):
        load_experiment(tmp_path)


def test_relative_csv_path_is_relative_to_the_experiment_file(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    csv_doc = doc(dataset={"kind": "csv", "path": "data.csv", "task": "regression"}, loss={"id": "mse"})
    (folder / "exp.losslab").write_text(json.dumps(csv_doc))
    monkeypatch.chdir(tmp_path)
    exp = load_experiment(Path("project") / "exp.losslab")
    assert Path(exp.dataset["path"]) == folder.absolute() / "data.csv"
    # An absolute path is kept as it is; parsing text alone has no folder to resolve against.
    absolute = str(tmp_path / "elsewhere.csv")
    (folder / "abs.losslab").write_text(
        json.dumps(doc(dataset={"kind": "csv", "path": absolute}, loss={"id": "mse"}))
    )
    assert load_experiment(folder / "abs.losslab").dataset["path"] == absolute
    assert parse_experiment(json.dumps(csv_doc)).dataset["path"] == "data.csv"


def test_csv_experiment_checks_the_loss_only_once_the_task_is_known():
    # A CSV's task is unknown until its file is read, so any loss loads; the trainer checks the pairing.
    exp = Experiment.from_dict(doc(dataset={"kind": "csv", "path": "x.csv"}, loss={"id": "cross_entropy"}))
    assert exp.loss["id"] == "cross_entropy"
