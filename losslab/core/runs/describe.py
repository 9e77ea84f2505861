"""The columns of a run that come from its experiment and its network, for the runs list."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from losslab.core.data import CSV_KIND, get_dataset_spec
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment


def dataset_label(experiment: Experiment) -> str:
    data = experiment.dataset
    if data["kind"] == CSV_KIND:
        return f"csv: {Path(str(data.get('path', ''))).name}"
    return str(data["kind"])


def task_of(experiment: Experiment, trainer: Any = None) -> str:
    dataset = getattr(trainer, "dataset", None)
    if dataset is not None and isinstance(getattr(dataset, "task", None), str):
        return str(dataset.task)
    data = experiment.dataset
    if data["kind"] == CSV_KIND:
        return str(data.get("task") or "")
    try:
        return get_dataset_spec(data["kind"]).task
    except LossLabError:
        return ""


def describe_weights(state: Mapping[str, Any]) -> tuple[str, int]:
    """("2-16-16-1", parameter count) from a state_dict: the widths of its weight matrices in order."""
    widths: list[int] = []
    count = 0
    for key, tensor in state.items():
        shape = tuple(getattr(tensor, "shape", ()))
        if key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            continue  # batch-norm statistics are buffers, not parameters
        count += math.prod(shape) if shape else 1
        if len(shape) == 2 and key.endswith("weight"):
            if not widths:
                widths.append(int(shape[1]))
            widths.append(int(shape[0]))
    return "-".join(str(w) for w in widths), count


def experiment_columns(experiment: Experiment) -> dict[str, Any]:
    opt = experiment.optimizer
    loss_id, name = str(experiment.loss["id"]), str(experiment.loss.get("name") or "")
    return {
        "dataset": dataset_label(experiment),
        "task": task_of(experiment),
        "loss": f"{loss_id}: {name}" if name else loss_id,
        "optimizer": str(opt["id"]),
        "lr": float(opt["lr"]),
        "seed": int(experiment.training["seed"]),
        "epochs_planned": int(experiment.training["epochs"]),
    }
