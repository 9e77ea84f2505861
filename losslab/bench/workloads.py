"""The standard benchmark workloads, each written out as a real ``.losslab`` file.

Every measurement (the plain loop, headless LossLab, the window) opens the same file, so they all
train the same model on the same data in the same batch order. The 64-feature, 10-class workload
has no built-in generator (those make 2-D points), so its data is generated here with a fixed seed
and saved as a CSV the experiment reads, which lets the window open it like any user's file.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from losslab.core.resources import list_examples

MOONS_EXAMPLE = "05_moons_bce_logits"
MLP64_SAMPLES, MLP64_FEATURES, MLP64_CLASSES = 1800, 64, 10
NOT_YET = "n/a (feature does not exist yet)"


@dataclass(frozen=True)
class Workload:
    id: str
    title: str


WORKLOADS = (
    Workload("moons_b32", "two-moons MLP 2-16-16-1, batch 32"),
    Workload("moons_full", "two-moons MLP 2-16-16-1, full batch"),
    Workload("mlp64_b64", "MLP 64-128-10, 1,800 samples, batch 64"),
    Workload("wide_b256", "wide MLP 64-512-512-10, 1,800 samples, batch 256"),
)
# Standard workloads that need LossLab features not built yet: reported, never silently dropped.
# (The shapes CNN is measured by bench/images.py: its figure is an accuracy in seconds, not a ratio.)
MISSING_WORKLOADS: dict[str, str] = {}


def example_path(stem: str) -> Path:
    for path in list_examples():
        if path.stem == stem:
            return path
    raise FileNotFoundError(f"example {stem} is not shipped")


def _moons(batch_size: int) -> dict[str, Any]:
    doc = json.loads(example_path(MOONS_EXAMPLE).read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    doc["training"]["batch_size"] = batch_size
    doc["training"]["device"] = "cpu"
    return doc


def write_mlp64_csv(path: Path, seed: int = 0) -> None:
    """10 Gaussian classes in 64 dimensions (fixed seed), labels in the last column."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, (MLP64_CLASSES, MLP64_FEATURES))
    y = np.arange(MLP64_SAMPLES) % MLP64_CLASSES
    x = centres[y] + rng.normal(0.0, 1.5, (MLP64_SAMPLES, MLP64_FEATURES))
    header = ",".join([*(f"x{i}" for i in range(MLP64_FEATURES)), "label"])
    rows = [",".join([*(f"{v:.6g}" for v in row), str(label)]) for row, label in zip(x, y, strict=True)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _mlp64(folder: Path) -> dict[str, Any]:
    csv_path = folder / "mlp64.csv"
    write_mlp64_csv(csv_path)
    return {
        "format": "losslab",
        "schema_version": 1,
        "name": "bench: MLP 64-128-10",
        "dataset": {
            "kind": "csv",
            "path": str(csv_path),
            "target_column": "label",
            "task": "multiclass",
            "val_fraction": 0.0,  # all 1,800 samples train
            "seed": 0,
        },
        "model": {"layers": [{"type": "linear", "units": 128}, {"type": "relu"}]},
        "loss": {"id": "cross_entropy"},
        "optimizer": {"id": "adam", "lr": 0.001},
        "training": {"epochs": 10, "batch_size": 64, "seed": 0, "device": "cpu"},
    }


def _wide(folder: Path) -> dict[str, Any]:
    """The same data through two 512-unit layers in batches of 256: the matrix products, not Python,
    take most of a step."""
    doc = _mlp64(folder)
    doc["name"] = "bench: wide MLP 64-512-512-10"
    doc["model"]["layers"] = [{"type": "linear", "units": 512}, {"type": "relu"}] * 2
    doc["training"]["batch_size"] = 256
    return doc


def write_workloads(folder: Path) -> dict[str, Path]:
    """Write one .losslab file per workload into ``folder``; returns {workload id: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = {
        "moons_b32": _moons(32),
        "moons_full": _moons(0),
        "mlp64_b64": _mlp64(folder),
        "wide_b256": _wide(folder),
    }
    paths = {}
    for wid, doc in docs.items():
        paths[wid] = folder / f"{wid}.losslab"
        paths[wid].write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return paths


def set_epochs(path: Path, epochs: int) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["training"]["epochs"] = int(epochs)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
