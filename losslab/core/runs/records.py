"""What the store hands out: light run summaries for lists, full records for one run.

Plain data, no database handles: safe to pass to another thread or keep after the store closes.
``to_json`` gives the documented, stable form (``losslab runs list/show --json``): NaN and
infinities become null, times are ISO 8601 in UTC.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

RUNNING, FINISHED, STOPPED, DIVERGED, INTERRUPTED = (
    "running",
    "finished",
    "stopped",
    "diverged",
    "interrupted",
)
STATUSES = (RUNNING, FINISHED, STOPPED, DIVERGED, INTERRUPTED)
FINAL, BEST = "final", "best"
WEIGHTS = (FINAL, BEST)


@dataclass(frozen=True)
class RunSummary:
    """One row of the runs list: everything but the curves, the experiment and the weights."""

    id: int
    name: str
    tags: tuple[str, ...]
    group_id: str | None
    source: str
    created: float  # Unix time
    started: float | None
    ended: float | None
    status: str
    message: str
    dataset: str
    task: str
    architecture: str
    param_count: int | None
    loss: str
    optimizer: str
    lr: float | None
    seed: int | None
    epochs_planned: int | None
    epochs_done: int
    steps_done: int
    elapsed: float
    final: dict[str, float]  # the last epoch's row: train_loss, val_loss, train_/val_ metrics, lr, ...
    best: dict[str, float]  # the row of the epoch with the lowest validation (else training) loss
    best_epoch: int | None
    step_stride: int
    torch_version: str
    device: str
    host: str
    pid: int | None
    deleted: float | None
    # Where a diverged run diverged (completed epochs + 1, step), when the store knows (schema v3).
    diverged_epoch: int | None = None
    diverged_step: int | None = None

    @property
    def headline(self) -> str:
        """The task's main metric ("accuracy", "r2", "iou" for masks), or "" when the task has none."""
        from losslab.core.metrics import headline, measured_masks

        return headline(self.task, measured_masks(self.task, self.final))

    def metric(self, which: str = FINAL) -> float:
        """The headline metric on validation data (training data when there is no validation split)."""
        row = self.final if which == FINAL else self.best
        for key in (f"val_{self.headline}", f"train_{self.headline}"):
            value = row.get(key)
            if isinstance(value, float | int) and math.isfinite(value):
                return float(value)
        return math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "tags": list(self.tags),
            "group_id": self.group_id,
            "source": self.source,
            "created": iso_time(self.created),
            "started": iso_time(self.started),
            "ended": iso_time(self.ended),
            "dataset": self.dataset,
            "task": self.task,
            "architecture": self.architecture,
            "param_count": self.param_count,
            "loss": self.loss,
            "optimizer": self.optimizer,
            "lr": plain(self.lr),
            "seed": self.seed,
            "epochs_planned": self.epochs_planned,
            "epochs_done": self.epochs_done,
            "steps_done": self.steps_done,
            "elapsed_s": plain(self.elapsed),
            "metric": self.headline,
            "final": plain(self.final),
            "best": plain(self.best),
            "best_epoch": self.best_epoch,
            "torch_version": self.torch_version,
            "device": self.device,
            "host": self.host,
            "pid": self.pid,
            "diverged_at": (
                {"epoch": self.diverged_epoch, "step": self.diverged_step}
                if self.diverged_step is not None
                else None
            ),
        }


@dataclass(frozen=True)
class RunRecord:
    """One run in full: its summary, every epoch's row, the kept steps, and which weights exist."""

    summary: RunSummary
    experiment: dict[str, Any]  # the .losslab document as run (see RunStore.experiment_of)
    epochs: list[dict[str, float]]  # History rows, in epoch order (the columns of history.csv)
    steps: np.ndarray  # int64 step numbers of the kept steps (every ``summary.step_stride``-th)
    losses: np.ndarray  # float32 loss at each kept step
    weights: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # which -> (epoch, step)

    @property
    def id(self) -> int:
        return self.summary.id

    def column(self, name: str) -> list[float]:
        """One column of the epoch rows (NaN where an epoch lacks it)."""
        return [row.get(name, math.nan) for row in self.epochs]

    def to_json(self) -> dict[str, Any]:
        doc = self.summary.to_json()
        doc["epochs"] = plain(self.epochs)
        doc["steps"] = {"stride": self.summary.step_stride, "kept": len(self.steps)}
        doc["weights"] = {k: {"epoch": e, "step": s} for k, (e, s) in self.weights.items()}
        doc["experiment"] = self.experiment
        return doc


def iso_time(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python numbers, containers walked."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
