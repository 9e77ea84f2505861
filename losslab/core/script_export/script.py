"""An experiment as one standalone PyTorch script: ``script_text(experiment)``.

The script is the template (template.py) with its slots filled from the experiment and from
LossLab's own functions (sources.py): the dataset's generator, the layers' classes, the loss's
torch function and the optimizer's constructor are copied, not rewritten.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from string import Template
from typing import Any

import numpy as np
import torch
from torch import nn

from losslab.core import blocks, model
from losslab.core.custom_loss import is_custom
from losslab.core.data import CSV_KIND, DATASETS, CsvTable, Dataset, make_dataset, read_csv_table, soft_labels
from losslab.core.data import dataset as data_split
from losslab.core.data.csv_parse import parse_csv
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.files import save_text_atomic
from losslab.core.layers import ACTIVATIONS, network_io
from losslab.core.losses import LossSpec, check_pairing, resolve_loss
from losslab.core.model import build_model
from losslab.core.optim import get_optimizer_spec
from losslab.core.script_export import template
from losslab.core.script_export.sources import Collector
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION

# The modules LossLab's layer registry builds, as constructor calls a person can read and edit.
# _model_section checks each call against the module LossLab built (same repr), so a layer that
# has no entry here is refused with a clear message rather than exported wrongly.
_PLAIN = (nn.ReLU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Identity, nn.Flatten)


def _module_call(module: nn.Module, collector: Collector) -> str:
    m: Any = module
    if isinstance(m, blocks.ResidualBlock):
        collector.add(blocks.ResidualBlock)
        first = m.body[0]
        depth = sum(isinstance(c, nn.Linear) for c in m.body)
        act = _activation_id(m.act)
        return f"ResidualBlock({first.in_features}, {depth}, {act!r})"
    if type(m) is nn.Sequential:
        return "nn.Sequential(" + ", ".join(_module_call(c, collector) for c in m) + ")"
    if isinstance(m, nn.Linear):
        return f"nn.Linear({m.in_features}, {m.out_features}, bias={m.bias is not None})"
    if isinstance(m, nn.Conv2d):
        return (
            f"nn.Conv2d({m.in_channels}, {m.out_channels}, {m.kernel_size[0]}, stride={m.stride[0]}, "
            f"padding={m.padding[0]})"
        )
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        return f"nn.{type(m).__name__}({m.kernel_size!r})"
    if isinstance(m, nn.AdaptiveAvgPool2d):
        return f"nn.AdaptiveAvgPool2d({m.output_size!r})"
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return f"nn.{type(m).__name__}({m.num_features})"
    if isinstance(m, nn.LayerNorm):
        return f"nn.LayerNorm({list(m.normalized_shape)!r})"
    if isinstance(m, nn.Dropout):
        return f"nn.Dropout({m.p!r})"
    if isinstance(m, nn.LeakyReLU):
        return f"nn.LeakyReLU({m.negative_slope!r})"
    if type(m) in _PLAIN:
        return f"nn.{type(m).__name__}()"
    raise LossLabError(f"the layer {type(m).__name__} cannot be exported as a script yet")


def _activation_id(module: nn.Module) -> str:
    """The layers.ACTIVATIONS id blocks.activation_module builds ``module`` for."""
    for kind in ACTIVATIONS:
        if type(blocks.activation_module(kind, {})) is type(module):
            return kind
    raise LossLabError(f"the activation {type(module).__name__} cannot be exported as a script yet")


def _checked_call(module: nn.Module, collector: Collector) -> str:
    call = _module_call(module, collector)
    namespace = {"nn": nn, "ResidualBlock": blocks.ResidualBlock}
    if repr(eval(call, namespace)) != repr(module):  # the call must build the very same layer
        raise LossLabError(f"the layer {type(module).__name__} cannot be exported faithfully as a script")
    return call


def refuse_gan(task: str) -> None:
    if task == GAN:
        raise LossLabError(
            "a GAN experiment cannot be exported: it trains two networks (generator and discriminator) "
            "against each other, and the script and model exports hold one network trained on one loss; "
            "export a regression or classification experiment"
        )


class _Parts:
    """What script_text gathers before filling the template."""

    def __init__(self, experiment: Experiment, dataset: Dataset, loss: LossSpec) -> None:
        self.exp, self.ds, self.loss = experiment, dataset, loss
        self.imports: set[str] = set()  # what the copied code's annotations name (Collector.imports)
        self.in_features, self.out_features, self.output_activation = network_io(
            dataset.task, dataset.n_features, dataset.n_classes, loss.output_activation
        )


def _data_section(parts: _Parts) -> tuple[str, bool]:
    """The data code and whether the script needs the csv module."""
    cfg = parts.exp.dataset
    task = parts.ds.task
    collector = Collector(parts.imports)
    collector.add(data_split.split_indices)
    collector.add(data_split._moments)
    settings = [
        f"DATA_SEED = {cfg['seed']!r}  # the dataset's own seed: which samples, which split",
        f"VAL_FRACTION = {cfg['val_fraction']!r}  # share of the samples held out for validation",
        f"STANDARDIZE = {cfg['standardize']!r}  # scale features (and regression targets) to mean 0, std 1",
    ]
    uses_csv = cfg["kind"] == CSV_KIND
    image = False
    if uses_csv:
        settings += _csv_settings(cfg)
        loader = template.CSV_LOADER.substitute(target_codes=_csv_target_codes(cfg, task))
    else:
        spec = DATASETS[cfg["kind"]]
        image = spec.image
        name = collector.add(spec.generate)
        settings.insert(1, f"N_SAMPLES = {cfg['n_samples']!r}")
        args = ", ".join(f"{p.name}={cfg[p.name]!r}" for p in spec.params)
        call = f"{name}(rng, N_SAMPLES{', ' if args else ''}{args})"
        votes, soft = "", ""
        if parts.ds.soft_train is not None:  # annotators' votes: a hard label and a soft one
            hard_and_soft = collector.add(soft_labels.hard_and_soft)
            votes = f"    y, soft = {hard_and_soft}(y, {cfg['n_classes']!r})\n"
            soft = ", soft" if parts.loss.soft_targets else ""
        loader = template.GENERATED_LOADER.substitute(name=spec.name, call=call, votes=votes, soft=soft)
    targets = {
        REGRESSION: template.REGRESSION_TARGETS,
        BINARY: template.BINARY_TARGETS,
        MULTICLASS: template.MULTICLASS_TARGETS,
    }[task]
    if parts.loss.soft_targets and parts.ds.soft_train is not None:
        targets = template.SOFT_TARGETS  # what the trainer trains such a loss on
    stratify = task != REGRESSION and not parts.ds.masks
    split = (template.IMAGE_SPLIT if image else template.TABLE_SPLIT).substitute(
        stratified=" (stratified by class)" if stratify else "",
        labels="np.asarray(y)" if stratify else "None",
        targets=targets,
    )
    text = template.DATA.substitute(
        settings="\n".join(settings), sources=collector.text().rstrip(), loader=loader, split=split
    )
    return text, uses_csv


def _csv_table(cfg: dict[str, Any]) -> CsvTable:
    table = read_csv_table(cfg["path"], cfg["target_column"], cfg["task"], cfg["features"], cfg["missing"])
    if table.feature_names != table.feature_columns or table.notes:
        raise LossLabError(
            f"{cfg['path']}: the script export reads CSV files whose feature columns are all numbers and "
            "complete; this one has text columns (one-hot encoded) or missing values. Save the table "
            "with those columns encoded and the gaps filled, or leave those columns out of the features"
        )
    return table


def _csv_settings(cfg: dict[str, Any]) -> list[str]:
    table = _csv_table(cfg)
    fmt = table.format
    lines = [
        f"CSV_PATH = {os.path.abspath(cfg['path'])!r}  # --csv reads another file with the same columns",
        f"DELIMITER, DECIMAL = {fmt.delimiter!r}, {fmt.decimal!r}  # LossLab found it {fmt.describe()}",
        f"FEATURE_COLUMNS = {table.feature_columns!r}",
        f"TARGET_COLUMN = {table.target_name!r}",
    ]
    if table.task != REGRESSION:
        target = parse_csv(cfg["path"]).column(table.target_name)
        if target.is_numeric:  # LossLab numbers the distinct values 0..k-1 in sorted order
            values = [float(v) for v in np.unique(target.values)]
            lines.append(f"CLASS_VALUES = {values!r}  # class i is the i-th of these values")
        else:
            lines.append(f"CLASS_NAMES = {table.class_names!r}  # class i is the i-th of these labels")
    return lines


def _csv_target_codes(cfg: dict[str, Any], task: str) -> str:
    if task == REGRESSION:
        return "    y = numbers(labels)"
    if parse_csv(cfg["path"]).column(_csv_table(cfg).target_name).is_numeric:
        return "    y = np.searchsorted(np.asarray(CLASS_VALUES), numbers(labels))"
    return "    y = np.asarray([CLASS_NAMES.index(label) for label in labels])"


def _model_section(parts: _Parts) -> str:
    exp, ds = parts.exp, parts.ds
    layers = exp.model["layers"]
    collector = Collector(parts.imports)
    with torch.random.fork_rng(devices=[]):  # building the network to read it must not move the caller's RNG
        net = build_model(
            layers,
            ds.image_shape or parts.in_features,
            parts.out_features,
            parts.output_activation,
            exp.model["init"],
            per_pixel=ds.masks,
        )
    calls = [f"        {_checked_call(module, collector)}," for module in net.hidden]
    head = _checked_call(net.head, collector)
    collector.add(model._output_activation)
    collector.add(model._init_weights)
    collector.add(model.Network)
    shape = "x".join(str(d) for d in ds.input_shape)
    summary = f"{shape} inputs -> {len(layers)} hidden layers -> {parts.out_features} outputs"
    if ds.masks:
        summary += " per pixel"
    return template.MODEL.substitute(
        sources=collector.text().rstrip(),
        summary=summary + (f" ({parts.output_activation})" if parts.output_activation else ""),
        layers="\n".join(calls) if calls else "        # no hidden layers: a linear model",
        head=head,
        output_activation=repr(parts.output_activation),
        image_shape=repr(net.image_shape),
        init=repr(exp.model["init"]),
    )


def _loss_section(parts: _Parts) -> tuple[str, set[str]]:
    """The loss code, and the top-level names the experiment's own code defines (custom losses)."""
    section, spec = parts.exp.loss, parts.loss
    if is_custom(section):
        code = section["code"].rstrip() + "\n"
        body = (
            f"# The custom loss {spec.name!r}, copied verbatim from the experiment\n"
            "# (LossLab runs it with torch, math and F in scope, as this script does).\n"
            f"{code}\n\n# (the end of the experiment's code)"
        )
        doc = f"{spec.name}: the experiment's own loss(pred, target), one number per batch."
        return template.LOSS.substitute(
            body=body, doc=doc, compute="return loss(pred, target).reshape(())"
        ), _defined_names(code)
    collector = Collector(parts.imports)
    params = dict(section["params"])
    if spec.set_value is not None:
        compute = f"return {collector.add(spec.set_value)}(pred, target, **LOSS_PARAMS)"
    elif spec.fused_mean is not None:
        compute = f"return {collector.add(spec.fused_mean)}(pred, target, **LOSS_PARAMS)"
    else:
        values = collector.add(spec.per_sample)
        compute = f"return {values}(pred, target, **LOSS_PARAMS).mean()"
        if spec.sample_weight is not None:
            weights = collector.add(spec.sample_weight)
            compute = (
                f"values = {values}(pred, target, **LOSS_PARAMS)\n"
                f"    weights = {weights}(pred, target, **LOSS_PARAMS)\n"
                "    return values.mean() if weights is None else values.sum() / weights.sum()"
            )
    body = f"LOSS_PARAMS: dict[str, Any] = {params!r}\n\n\n{collector.text().rstrip()}\n"
    doc = f"{spec.name}, as LossLab computes it for a training batch."
    return template.LOSS.substitute(body=body, doc=doc, compute=compute), set()


def _defined_names(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


def _optimizer_section(parts: _Parts) -> str:
    opt = parts.exp.optimizer
    spec = get_optimizer_spec(opt["id"])
    collector = Collector(parts.imports)
    build = collector.add(spec.build)
    schedule = opt["schedule"]
    sid, sparams = schedule["id"], schedule["params"]
    return template.OPTIMIZER.substitute(
        sources=collector.text().rstrip(),
        params=repr(dict(opt["params"])),
        name=spec.name,
        build=build,
        schedule=sid,
        schedule_params="\n".join(f"{k.upper()} = {v!r}" for k, v in sparams.items() if sid != "plateau"),
        warmup=schedule["warmup_epochs"],
        plateau=repr((sparams["factor"], sparams["patience"])) if sid == "plateau" else "None",
        factor=template.SCHEDULE_FACTORS[sid],
    )


def script_text(experiment: Experiment, source: str = "the window", filename: str = "train.py") -> str:
    """The experiment as a standalone script; ``source`` names where it came from (a file, a run)."""
    dataset = make_dataset(experiment.dataset)
    refuse_gan(dataset.task)
    loss = resolve_loss(experiment.loss, dataset.task)
    check_pairing(loss, dataset.task, dataset.name)
    parts = _Parts(experiment, dataset, loss)
    data, uses_csv = _data_section(parts)
    model_text = _model_section(parts)
    loss_text, user_names = _loss_section(parts)
    optimizer_text = _optimizer_section(parts)
    stdlib = {*template.STDLIB_IMPORTS, *parts.imports, *(["import csv"] if uses_csv else [])}
    imports = "\n".join(sorted(stdlib, key=lambda line: (line.startswith("from"), line)))
    functional = (
        "import torch.nn.functional as F  # noqa: F401 (custom losses may use F)\n" if user_names else ""
    )
    imports += "\n\n" + Template(template.TORCH_IMPORTS).substitute(functional=functional)
    training = experiment.training
    about = [f"# {line}".rstrip() for line in _about(experiment)]
    header = template.HEADER.substitute(
        filename=filename,
        source=source,
        about="\n".join(about) + "\n" if about else "",
        imports=imports,
        seed=training["seed"],
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        lr=repr(experiment.optimizer["lr"]),
        grad_clip=repr(experiment.optimizer["grad_clip"]),
        l1=repr(experiment.regularization["l1"]),
        l2=repr(experiment.regularization["l2"]),
        patience=training.get("early_stopping", 0),
        device=repr(training["device"]),
        weights_file=repr(f"{Path(filename).stem}-weights.pt"),
    )
    ours = header + data + model_text + optimizer_text + template.TRAINING
    clash = sorted(user_names & (_defined_names(ours) | {"data_loss", "LOSS_PARAMS"}))
    if clash:
        raise LossLabError(
            f"the custom loss's code defines {', '.join(clash)}, which the exported script also defines; "
            "rename it in the loss (Loss panel, Edit…) and export again",
            "loss.code",
        )
    text = header + data + model_text + loss_text + optimizer_text + template.TRAINING
    ast.parse(text)  # a script that does not parse is LossLab's bug: fail here, not in the user's hands
    return text


def _about(experiment: Experiment) -> list[str]:
    lines = []
    if experiment.name:
        lines.append(f"Experiment: {experiment.name}")
    if experiment.description:
        import textwrap

        lines += textwrap.wrap(experiment.description, 96)
    return lines


def write_script(experiment: Experiment, path: str | os.PathLike[str], source: str = "the window") -> Path:
    """Write ``script_text`` to ``path`` atomically; returns the path."""
    out = Path(path)
    text = script_text(experiment, source, out.name)
    try:
        save_text_atomic(out, text)
    except OSError as exc:
        raise LossLabError(f"cannot write the script to {out}: {exc.strerror or exc}") from None
    return out
