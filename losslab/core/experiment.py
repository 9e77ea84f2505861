"""The experiment spec: dataset + model + loss + optimizer + training settings, as a `.losslab` JSON file.

Loading validates every field and names the bad one; saving is atomic. Older schema versions are
brought up to date by ``MIGRATIONS`` in order; newer ones are refused.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losslab.core.classroom import empty as empty_classroom
from losslab.core.classroom import is_empty as classroom_is_empty
from losslab.core.classroom import validate_classroom
from losslab.core.custom_loss import is_custom, validate_custom_section
from losslab.core.data import CSV_KIND, get_dataset_spec, validate_dataset_config
from losslab.core.discriminator import validate_discriminator
from losslab.core.errors import LossLabError
from losslab.core.files import EXPERIMENT_MAX_BYTES, check_user_file, save_text_atomic
from losslab.core.layers import INITS, validate_layer
from losslab.core.losses import check_pairing, get_loss, resolve_loss
from losslab.core.optim import get_optimizer_spec, get_schedule_spec
from losslab.core.params import Param, shown, validate_params
from losslab.core.tasks import GAN

FORMAT = "losslab"
SCHEMA_VERSION = 1
SUFFIX = ".losslab"
DEVICES = ("auto", "cpu", "cuda", "mps")

# MIGRATIONS[n] turns a schema-n document into schema n+1. Append one per schema change.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

TRAINING_PARAMS: tuple[Param, ...] = (
    Param("epochs", "Epochs", "int", 50, 1, 1_000_000, help="Passes over the training data"),
    Param("batch_size", "Batch size", "int", 32, 0, 1_000_000, help="Samples per step; 0 = the full batch"),
    Param("seed", "Seed", "int", 0, 0, 2**31 - 1, help="Makes weights and batch order repeatable"),
    Param("device", "Device", "choice", "auto", choices=DEVICES),
    Param(
        "early_stopping",
        "Early stopping (patience)",
        "int",
        0,
        0,
        100_000,
        help="Stop when the validation loss has not improved for this many epochs and go back to the "
        "best weights; 0 = off",
    ),
    Param(
        "diagnostics_every",
        "Gradient check every",
        "int",
        10,
        0,
        1_000_000,
        help="Steps between gradient-health measurements (Gradients tab); 0 = off",
    ),
)
REGULARIZATION_PARAMS: tuple[Param, ...] = (
    Param("l1", "L1 strength", "float", 0.0, 0.0, 100.0, log=True, help="λ₁ × Σ|w|: pushes weights to zero"),
    Param("l2", "L2 strength", "float", 0.0, 0.0, 100.0, log=True, help="λ₂ × Σw²: keeps weights small"),
)
OPTIMIZER_COMMON: tuple[Param, ...] = (
    Param("lr", "Learning rate", "float", 0.01, 1e-8, 100.0, log=True, help="Step size along the gradient"),
    Param("grad_clip", "Gradient clipping", "float", 0.0, 0.0, 1e6, help="Max gradient norm; 0 = off"),
)
MAX_DEPTH = 32  # an experiment nests 5 levels; JSON itself has no limit
MAX_NAME = 64  # characters of an id (a loss, a layer type, a dataset kind)
WARMUP = Param("warmup_epochs", "Warm-up (epochs)", "int", 0, 0, 100000, help="Ramp the rate up linearly")


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise LossLabError(f"must be an object, got {shown(value)}", name)
    return value


def _check_depth(doc: Any) -> None:
    """Refuse a document nested deeper than any experiment is (walked without recursion, so the
    copy and the messages that follow never meet a RecursionError)."""
    todo: list[tuple[Any, int]] = [(doc, 1)]
    while todo:
        node, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise LossLabError(
                f"the experiment nests lists or objects too deeply (more than {MAX_DEPTH} levels) "
                "to be a LossLab experiment"
            )
        if isinstance(node, dict):
            todo.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, (list, tuple)):
            todo.extend((child, depth + 1) for child in node)


def _name(section: dict[str, Any], key: str, field: str, default: Any = None) -> Any:
    """``section[key]`` when it is a short text (an id the registry then looks up), else an error:
    a number, a list or a page of text is no name, and a registry lookup of a list would fail."""
    value = section.get(key, default)
    if value is not None and not (isinstance(value, str) and len(value) <= MAX_NAME):
        raise LossLabError(f"must be a name (a short text), got {shown(value)}", field)
    return value


def _check_keys(section: dict[str, Any], allowed: set[str], name: str) -> None:
    unknown = sorted(set(section) - allowed, key=str)
    if unknown:
        key = shown(unknown[0])
        raise LossLabError(
            f"unknown key {key} (allowed: {', '.join(sorted(allowed))})", f"{name}.{key.strip(chr(39))}"
        )


@dataclass
class Experiment:
    """A validated experiment. Sections are plain dicts with every default filled in."""

    dataset: dict[str, Any]
    model: dict[str, Any]
    loss: dict[str, Any]
    optimizer: dict[str, Any]
    training: dict[str, Any]
    regularization: dict[str, Any] = field(default_factory=lambda: {"l1": 0.0, "l2": 0.0})
    name: str = ""
    description: str = ""
    # Panels a workshop locks or hides (core/classroom.py); written to the file only when set.
    classroom: dict[str, list[str]] = field(default_factory=empty_classroom)
    # A GAN's discriminator (core/discriminator.py); written to the file for GAN datasets only.
    discriminator: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Experiment:
        return cls.from_dict(
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "dataset": {"kind": "moons", "n_samples": 1000, "noise": 0.2},
                "model": {
                    "layers": [
                        {"type": "linear", "units": 16},
                        {"type": "tanh"},
                        {"type": "linear", "units": 16},
                        {"type": "tanh"},
                    ]
                },
                "loss": {"id": "bce_logits"},
                "optimizer": {"id": "adam", "lr": 0.01},
                "training": {"epochs": 50, "batch_size": 32},
            }
        )

    @classmethod
    def from_dict(cls, doc: Any) -> Experiment:
        if not isinstance(doc, dict):
            raise LossLabError(f"an experiment must be a JSON object, got {shown(doc)}")
        _check_depth(doc)
        if doc.get("format") != FORMAT:
            raise LossLabError(
                f"must be {FORMAT!r} (this is not a LossLab experiment), got {shown(doc.get('format'))}",
                "format",
            )
        version = doc.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise LossLabError(f"must be a whole number >= 1, got {shown(version)}", "schema_version")
        if version > SCHEMA_VERSION:
            raise LossLabError(
                f"this file was written by a newer LossLab (schema {version}; this version reads up to "
                f"{SCHEMA_VERSION}). Update LossLab to open it.",
                "schema_version",
            )
        doc = copy.deepcopy(doc)
        while version < SCHEMA_VERSION:
            doc = MIGRATIONS[version](doc)
            version += 1
        _check_keys(
            doc,
            {
                "format",
                "schema_version",
                "name",
                "description",
                "dataset",
                "model",
                "loss",
                "optimizer",
                "training",
                "regularization",
                "classroom",
                "discriminator",
            },
            "experiment",
        )

        dataset = _section(doc, "dataset")
        _name(dataset, "kind", "dataset.kind")
        dataset = validate_dataset_config(dataset)
        task = get_dataset_spec(dataset["kind"]).task

        model = _section(doc, "model")
        _check_keys(model, {"layers", "init"}, "model")
        layers = model.get("layers", [])
        if not isinstance(layers, list):
            raise LossLabError(f"must be a list of layers, got {shown(layers)}", "model.layers")
        init = _name(model, "init", "model.init", "default")
        if init not in INITS:
            raise LossLabError(f"unknown initialisation {init!r}; known: {', '.join(INITS)}", "model.init")
        model = {
            "layers": [validate_layer(x, f"model.layers[{i}]") for i, x in enumerate(layers)],
            "init": init,
        }

        loss = _section(doc, "loss")
        _name(loss, "id", "loss.id")
        if is_custom(loss):  # the user's own code (custom_loss.py): parsed, never run here
            loss = validate_custom_section(loss)
            spec = resolve_loss(loss, task)
        else:
            _check_keys(loss, {"id", "params"}, "loss")
            spec = get_loss(loss.get("id"))
            loss = {"id": spec.id, "params": validate_params(spec.params, loss.get("params"), "loss.params")}
        if task:  # a CSV's task is known only once the file is read
            check_pairing(spec, task, get_dataset_spec(dataset["kind"]).name)

        opt = _section(doc, "optimizer")
        _check_keys(opt, {"id", "lr", "params", "schedule", "grad_clip"}, "optimizer")
        opt_spec = get_optimizer_spec(_name(opt, "id", "optimizer.id"))
        common = validate_params(
            OPTIMIZER_COMMON, {k: opt[k] for k in ("lr", "grad_clip") if k in opt}, "optimizer"
        )
        schedule = opt.get("schedule", {"id": "constant"})
        if not isinstance(schedule, dict):
            raise LossLabError(
                f"must be an object like {{'id': 'cosine'}}, got {shown(schedule)}", "optimizer.schedule"
            )
        _check_keys(schedule, {"id", "params", "warmup_epochs"}, "optimizer.schedule")
        sched_spec = get_schedule_spec(_name(schedule, "id", "optimizer.schedule.id", "constant"))
        optimizer = {
            "id": opt_spec.id,
            **common,
            "params": validate_params(opt_spec.params, opt.get("params"), "optimizer.params"),
            "schedule": {
                "id": sched_spec.id,
                "params": validate_params(
                    sched_spec.params, schedule.get("params"), "optimizer.schedule.params"
                ),
                "warmup_epochs": WARMUP.validate(
                    schedule.get("warmup_epochs", 0), "optimizer.schedule.warmup_epochs"
                ),
            },
        }
        training = validate_params(TRAINING_PARAMS, _section(doc, "training"), "training")
        regularization = validate_params(
            REGULARIZATION_PARAMS, _section(doc, "regularization"), "regularization"
        )
        for key in ("name", "description"):
            if not isinstance(doc.get(key, ""), str):
                raise LossLabError(f"must be text, got {shown(doc[key])}", key)
        return cls(
            dataset,
            model,
            loss,
            optimizer,
            training,
            regularization,
            doc.get("name", ""),
            doc.get("description", ""),
            validate_classroom(doc.get("classroom")),
            validate_discriminator(doc.get("discriminator"), optimizer, OPTIMIZER_COMMON),
        )

    def to_dict(self) -> dict[str, Any]:
        doc = copy.deepcopy(
            {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "name": self.name,
                "description": self.description,
                "dataset": self.dataset,
                "model": self.model,
                "loss": self.loss,
                "regularization": self.regularization,
                "optimizer": self.optimizer,
                "training": self.training,
            }
        )
        if not classroom_is_empty(self.classroom):
            doc["classroom"] = copy.deepcopy(self.classroom)
        if self.discriminator and get_dataset_spec(self.dataset["kind"]).task == GAN:
            doc["discriminator"] = copy.deepcopy(self.discriminator)
        return doc

    def copy(self) -> Experiment:
        return Experiment.from_dict(self.to_dict())

    def replace(self, section: str, **changes: Any) -> Experiment:
        """A validated copy with ``changes`` applied to one section (raises LossLabError on bad values)."""
        doc = self.to_dict()
        doc[section] = {**doc.get(section, getattr(self, section)), **changes}
        return Experiment.from_dict(doc)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        save_text_atomic(Path(path), self.to_json())


def parse_experiment(text: str, source: str = "experiment") -> Experiment:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LossLabError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "Fix the file or open a LossLab experiment (.losslab)."
        ) from None
    except RecursionError:  # "[[[[...": nested deeper than any experiment is
        raise LossLabError(f"{source} nests lists or objects too deeply to be a LossLab experiment") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise LossLabError(f"{source} holds a number too long to be a LossLab setting") from None
    return Experiment.from_dict(doc)


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    path = check_user_file(path, EXPERIMENT_MAX_BYTES, "a LossLab experiment")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LossLabError(
            f"{path.name} is not a text file (not UTF-8), so not a LossLab experiment (.losslab)"
        ) from None
    except OSError as exc:
        raise LossLabError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        experiment = parse_experiment(text, "the file")
    except LossLabError as exc:
        located = LossLabError(f"{path.name}: {exc}")
        located.field = exc.field
        raise located from None
    # A CSV named by a relative path lives beside the experiment file, not in the current folder.
    data = experiment.dataset
    if data["kind"] == CSV_KIND and not Path(data["path"]).is_absolute():
        data["path"] = str(path.parent.absolute() / data["path"])
    return experiment
