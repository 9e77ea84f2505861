"""Planning a race: N variants of one experiment that differ in exactly one setting.

``plan_race(experiment, {"loss": ["mse", "mae", "huber"]})`` builds one full, validated
``Experiment`` per value, labelled by what differs (``"loss=mae"``), refuses races that cannot be
fair (two settings, variants whose output layer would differ, a loss that does not fit the task),
and decides how each variant trains: together with the others in one batched computation, or on
its own through LossLab's trainer, with the reason.

Settings are dotted paths into the experiment document (``"optimizer.lr"``,
``"training.batch_size"``, ``"regularization.l2"``, ``"loss.params.delta"``), plus:

* ``"loss"``: a loss id (its parameters start from their defaults) or a whole loss section
  (a custom loss included);
* ``"optimizer"`` / ``"optimizer.id"``: an optimizer id (learning rate, clipping and schedule kept,
  the optimizer's own parameters from their defaults) or a dict merged into the optimizer section;
* ``"activation"``: every activation layer of the hidden stack (and residual blocks' activation);
* short names: ``lr``, ``grad_clip``, ``batch_size``, ``epochs``, ``seed``, ``l1``, ``l2``, ``init``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from losslab.core.custom_loss import is_custom
from losslab.core.data import Dataset, make_dataset
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.layers import LAYERS, network_io, uses_batch_statistics
from losslab.core.losses import LossSpec, check_class_lists, check_pairing, primary_task, resolve_loss
from losslab.core.metrics import headline_of
from losslab.core.race.fairness import batch_ends, batch_order_digest
from losslab.core.race.types import BATCHED, SEQUENTIAL, RaceGroup, Variant
from losslab.core.tasks import GAN, MULTICLASS

FIELD = "vary"
ALIASES: dict[str, str] = {
    "lr": "optimizer.lr",
    "grad_clip": "optimizer.grad_clip",
    "batch_size": "training.batch_size",
    "epochs": "training.epochs",
    "seed": "training.seed",
    "l1": "regularization.l1",
    "l2": "regularization.l2",
    "init": "model.init",
    "loss.id": "loss",
    "optimizer.id": "optimizer",
}
_FIXED = {"format", "schema_version", "name", "description"}
MAX_VARIANTS = 64


@dataclass
class RacePlan:
    """What ``run_race`` trains: the variants, how they are grouped, and their fairness digests."""

    base: Experiment
    setting: str  # as given ("loss", "lr", "optimizer.lr")
    path: str  # resolved ("loss", "optimizer.lr")
    variants: list[Variant]
    groups: list[RaceGroup]
    modes: list[str]  # per variant: "batched" or "sequential (reason)"
    init_digests: list[str] = field(default_factory=list)  # filled by run_race once weights exist
    batch_order_digests: list[str] = field(default_factory=list)
    datasets: list[Dataset] = field(default_factory=list)  # per variant (shared objects when equal)
    headline: str = ""

    @property
    def labels(self) -> list[str]:
        return [v.label for v in self.variants]


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        name = value.get("name") or value.get("id")
        if isinstance(name, str) and (len(value) <= 2 or is_custom(value)):
            return name  # a custom loss by its name, never its code
        if isinstance(name, str):
            return f"{name}({', '.join(f'{k}={format_value(v)}' for k, v in value.items() if k != 'id')})"
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def parse_vary(text: str) -> dict[str, list[Any]]:
    """``"loss=mse,mae"`` or ``"optimizer.lr=0.001,0.01"`` -> ``{"loss": ["mse", "mae"]}``.

    Each value is read as JSON when it is a number, true/false or null, else taken as text.
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key or not rest.strip():
        raise LossLabError(
            f"expected SETTING=VALUE,VALUE,... such as loss=mse,mae,huber or optimizer.lr=0.001,0.01, "
            f"got {text!r}",
            "--vary",
        )
    values: list[Any] = []
    for raw in rest.split(","):
        raw = raw.strip()
        if not raw:
            raise LossLabError(f"an empty value in {text!r}", "--vary")
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw
        values.append(parsed if isinstance(parsed, (int, float, bool)) or parsed is None else raw)
    return {key: values}


def _resolve(setting: Any) -> str:
    if not isinstance(setting, str) or not setting.strip():
        raise LossLabError(f"a setting must be a dotted path such as 'optimizer.lr', got {setting!r}", FIELD)
    name: str = setting.strip()
    return ALIASES.get(name, name)


def _set_path(doc: dict[str, Any], path: str, value: Any, setting: str) -> None:
    keys = path.split(".")
    if keys[0] in _FIXED:
        raise LossLabError(f"{setting!r} is not a training setting; vary a setting such as loss", FIELD)
    node: Any = doc
    for i, key in enumerate(keys):
        where = ".".join(keys[: i + 1])
        if not isinstance(node, dict) or key not in node:
            known = ", ".join(sorted(k for k in node if k not in _FIXED)) if isinstance(node, dict) else ""
            hint = f" (known here: {known})" if known else ""
            raise LossLabError(f"the experiment has no setting {where!r}{hint}", FIELD)
        if i == len(keys) - 1:
            old = node[key]
            if isinstance(old, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            node[key] = value
        else:
            node = node[key]


def _apply(base: dict[str, Any], path: str, value: Any, setting: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(base))  # a deep copy of a JSON document
    if path == "loss":
        if isinstance(value, Mapping):
            doc["loss"] = dict(value)
        elif isinstance(value, str):
            doc["loss"] = {"id": value}
        else:
            raise LossLabError(f"a loss is an id such as 'mae' or a loss section, got {value!r}", FIELD)
    elif path == "optimizer":
        opt = doc["optimizer"]
        if isinstance(value, str):
            doc["optimizer"] = {**opt, "id": value, "params": {}}
        elif isinstance(value, Mapping):
            params = value.get("params", {} if value.get("id", opt["id"]) != opt["id"] else opt["params"])
            doc["optimizer"] = {**opt, **value, "params": params}
        else:
            raise LossLabError(
                f"an optimizer is an id such as 'adam' or an optimizer section, got {value!r}", FIELD
            )
    elif path == "activation":
        if not isinstance(value, str) or value not in LAYERS or not LAYERS[value].is_activation:
            known = ", ".join(k for k, s in LAYERS.items() if s.is_activation)
            raise LossLabError(f"unknown activation {value!r}; known: {known}", FIELD)
        found = False
        for i, layer in enumerate(doc["model"]["layers"]):
            if LAYERS[layer["type"]].is_activation:
                doc["model"]["layers"][i] = {"type": value}
                found = True
            elif layer["type"] == "residual":
                layer["activation"] = value
                found = True
        if not found:
            raise LossLabError("the network has no activation layers to vary; add one first", FIELD)
    else:
        _set_path(doc, path, value, setting)
    return doc


def _validated(doc: dict[str, Any], label: str) -> Experiment:
    try:
        return Experiment.from_dict(doc)
    except LossLabError as exc:
        raise LossLabError(f"variant {label}: {exc}", FIELD) from None


def _output_layer(spec: LossSpec, ds: Dataset) -> tuple[int, int]:
    """(inputs, outputs) of the network this loss would need on this data, fitting or not."""
    task = ds.task
    if task not in spec.tasks and not spec.custom:
        task = primary_task(spec)  # what the loss is made for: that decides its output layer
    n_classes = max(2, ds.n_classes) if task == MULTICLASS else ds.n_classes
    n_in, n_out, _ = network_io(task, ds.n_features, n_classes, spec.output_activation)
    return n_in, n_out


def _units(n: int) -> str:
    return f"{n} output{'s' if n != 1 else ''}"


def _sequential_reason(exp: Experiment, spec: LossSpec, ds: Dataset) -> str:
    """Why this variant cannot join a batched computation ("" when it can)."""
    if ds.task == GAN:
        return "GAN training: two networks per variant"
    if is_custom(exp.loss) or spec.custom:
        return "custom loss code runs on its own"
    if spec.soft_targets and ds.soft_train is not None:
        return "soft labels: this loss trains on the target distributions, which the batched engine lacks"
    types = {layer["type"] for layer in exp.model["layers"]}
    if "batchnorm" in types:
        return "batch norm keeps running statistics per network"
    if "dropout" in types:
        return "dropout draws random masks"
    if exp.training["early_stopping"]:
        return "early stopping ends each variant at its own epoch"
    return ""


_DIFFERS = {
    "dataset": "the data differs",
    "model": "the networks differ",
    "activation": "the networks differ",
    "training.batch_size": "the batch size differs",
    "training.seed": "the seed differs (own weights and batch order)",
    "training.epochs": "the number of epochs differs",
    "training.device": "the device differs",
}


def _batch_key(exp: Experiment) -> str:
    t = exp.training
    return json.dumps(
        [exp.dataset, exp.model, t["seed"], t["batch_size"], t["epochs"], t["device"]], sort_keys=True
    )


def plan_race(
    experiment: Experiment, vary: Mapping[str, Sequence[Any]], *, sequential: bool = False
) -> RacePlan:
    """Plan a race of ``experiment`` over one setting's values (raises LossLabError with the reason).

    ``sequential=True`` trains every variant on its own through LossLab's trainer (the reference the
    batched path is tested against).
    """
    if not isinstance(vary, Mapping) or len(vary) != 1:
        names = ", ".join(map(str, vary)) if isinstance(vary, Mapping) else repr(vary)
        count = len(vary) if isinstance(vary, Mapping) else 0
        raise LossLabError(
            f"a race varies exactly one setting, got {count}{': ' + names if count else ''}. "
            "Race one setting at a time, e.g. {'loss': ['mse', 'mae']}.",
            FIELD,
        )
    ((setting, values),) = vary.items()
    path = _resolve(setting)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise LossLabError(f"{setting}: give a list of values, got {values!r}", FIELD)
    values = list(values)
    if len(values) < 2:
        raise LossLabError(f"{setting}: a race needs at least 2 values, got {len(values)}", FIELD)
    if len(values) > MAX_VARIANTS:
        raise LossLabError(f"{setting}: at most {MAX_VARIANTS} variants, got {len(values)}", FIELD)

    base_doc = experiment.to_dict()
    variants: list[Variant] = []
    seen: dict[str, str] = {}
    for i, value in enumerate(values):
        label = f"{setting}={format_value(value)}"
        exp = _validated(_apply(base_doc, path, value, setting), label)
        key = json.dumps(
            {k: v for k, v in exp.to_dict().items() if k not in ("name", "description")}, sort_keys=True
        )
        if key in seen:
            raise LossLabError(
                f"{label} is the same experiment as {seen[key]}: each variant must differ", FIELD
            )
        seen[key] = label
        exp.name = f"race: {label}"
        variants.append(Variant(i, label, value, exp))

    # Data: one dataset per distinct configuration (numpy only, quick); a CSV's task is known now.
    cache: dict[str, Dataset] = {}
    datasets: list[Dataset] = []
    for v in variants:
        dkey = json.dumps(v.experiment.dataset, sort_keys=True)
        if dkey not in cache:
            cache[dkey] = make_dataset(v.experiment.dataset)
        datasets.append(cache[dkey])
    specs = [resolve_loss(v.experiment.loss, ds.task) for v, ds in zip(variants, datasets, strict=True)]

    # One network for all: the output layer (and the inputs) must be the same for every variant.
    layers = [_output_layer(s, ds) for s, ds in zip(specs, datasets, strict=True)]
    for v, spec, io, ds in zip(variants, specs, layers, datasets, strict=True):
        first, first_io = variants[0], layers[0]
        if io != first_io:
            what = (
                f"{_units(first_io[1])} for {first.label} but {_units(io[1])} for {v.label}"
                if io[1] != first_io[1]
                else f"{first_io[0]} inputs for {first.label} but {io[0]} for {v.label}"
            )
            reason = (
                f"the variants need different output layers ({what}): a race compares one network "
                "from the same initial weights, so every variant must have the same output layer"
            )
            try:
                check_pairing(spec, ds.task, ds.name)
            except LossLabError as exc:
                reason += f". Besides, {exc}"
            raise LossLabError(reason, FIELD)
    for v, spec, ds in zip(variants, specs, datasets, strict=True):
        try:
            check_pairing(spec, ds.task, ds.name)
            check_class_lists(spec, v.experiment.loss["params"], max(ds.n_classes, 2))
        except LossLabError as exc:
            raise LossLabError(f"variant {v.label}: {exc}", FIELD) from None

    # How each variant trains.
    reasons = [
        "asked for" if sequential else _sequential_reason(v.experiment, s, ds)
        for v, s, ds in zip(variants, specs, datasets, strict=True)
    ]
    by_key: dict[str, list[int]] = {}
    for v, reason in zip(variants, reasons, strict=True):
        if not reason:
            by_key.setdefault(_batch_key(v.experiment), []).append(v.index)
    groups: list[RaceGroup] = []
    placed: set[int] = set()
    for indices in by_key.values():
        if len(indices) >= 2:
            groups.append(RaceGroup(BATCHED, "", tuple(indices)))
            placed.update(indices)
    section = path.split(".")[0]
    differs = _DIFFERS.get(path) or _DIFFERS.get(section) or f"{setting} differs"
    for v, reason in zip(variants, reasons, strict=True):
        if v.index not in placed:
            groups.append(RaceGroup(SEQUENTIAL, reason or differs, (v.index,)))
    groups.sort(key=lambda g: g.indices[0])
    modes = [""] * len(variants)
    for g in groups:
        for i in g.indices:
            modes[i] = g.label

    orders = []
    for v, ds in zip(variants, datasets, strict=True):
        t = v.experiment.training
        orders.append(
            batch_order_digest(t["seed"], ds.n_train, _trainer_batch_ends(v.experiment, ds), t["epochs"])
        )
    return RacePlan(
        experiment,
        setting,
        path,
        variants,
        groups,
        modes,
        batch_order_digests=orders,
        datasets=datasets,
        headline=headline_of(datasets[0]),
    )


def _trainer_batch_ends(exp: Experiment, ds: Dataset) -> list[int]:
    ends = batch_ends(ds.n_train, exp.training["batch_size"])
    # As Trainer.batch_ends: with BatchNorm a lone leftover sample joins the batch before it.
    if len(ends) > 1 and ends[-1] - ends[-2] == 1 and uses_batch_statistics(exp.model["layers"]):
        del ends[-2]
    return ends
