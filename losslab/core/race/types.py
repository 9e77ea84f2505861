"""What a race reports while it runs and what it returns: plain data (floats, fresh numpy arrays).

Events carry the index of the variant they belong to, so a window can draw N curves live:

* ``RaceStarted`` once, with every variant's label, mode and fairness digests;
* ``RaceSteps`` about every 50 ms per running variant (a :class:`~losslab.core.events.StepBatch`);
* ``RaceEpoch`` at each epoch end of a variant (an :class:`~losslab.core.events.EpochEnd`);
* ``RaceNotice`` for something worth a line (a device fallback, a divergence);
* ``RaceVariantEnded`` when a variant is done (finished, stopped, diverged);
* ``RaceFinished`` last, with the whole :class:`RaceResult`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from losslab.core.events import Diverged, EpochEnd, StepBatch
from losslab.core.experiment import Experiment
from losslab.core.history import History

BATCHED = "batched"
SEQUENTIAL = "sequential"

# Variant status once a race is over.
FINISHED, STOPPED, DIVERGED, NOT_RUN = "finished", "stopped", "diverged", "not run"


@dataclass(frozen=True)
class Variant:
    """One contestant: a full validated experiment, labelled by the one setting that differs."""

    index: int
    label: str  # "loss=mae"
    value: Any  # the value of the varied setting, as given
    experiment: Experiment


@dataclass(frozen=True)
class RaceGroup:
    """Variants trained together (``mode == "batched"``) or one after another (``"sequential"``)."""

    mode: str
    reason: str  # why sequential ("" when batched)
    indices: tuple[int, ...]

    @property
    def label(self) -> str:
        return self.mode if self.mode == BATCHED else f"{SEQUENTIAL} ({self.reason})"


@dataclass
class RaceStarted:
    labels: list[str]
    modes: list[str]  # per variant: "batched" or "sequential (reason)"
    init_digests: list[str]
    batch_order_digests: list[str]
    setting: str  # the varied setting, as given ("loss", "optimizer.lr")


@dataclass
class RaceSteps:
    variant: int
    batch: StepBatch


@dataclass
class RaceEpoch:
    variant: int
    end: EpochEnd


@dataclass
class RaceNotice:
    variant: int  # -1: about the whole race
    message: str


@dataclass
class VariantResult:
    index: int
    label: str
    setting: str
    value: Any
    experiment: Experiment
    mode: str  # "batched" or "sequential (reason)"
    init_digest: str  # SHA-256 of the initial weights' bytes, state_dict order
    batch_order_digest: str  # SHA-256 of every batch's index array, in order, over the planned epochs
    status: str = NOT_RUN  # finished / stopped / diverged / not run
    epochs_done: int = 0
    steps: int = 0
    elapsed: float = 0.0  # seconds this variant trained (for batched variants: their group's wall time)
    history: History = field(default_factory=History)
    diverged: Diverged | None = None
    early_stop: Any = None  # early_stopping.EarlyStopped when that ended the run
    state_dict: dict[str, Any] = field(default_factory=dict)  # final weights (tensors, detached copies)
    headline: str = ""  # the task's main metric ("accuracy", "r2")

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's row (train/val loss, metrics, lr, ...), plus ``metric`` and ``metric_value``
        (the headline metric on validation data, or on training data without a validation split)."""
        if not self.history.rows:
            return {"metric": self.headline, "metric_value": math.nan}
        row: dict[str, Any] = dict(self.history.rows[-1])
        value = row.get(f"val_{self.headline}", math.nan)
        if not isinstance(value, float) or math.isnan(value):
            value = row.get(f"train_{self.headline}", math.nan)
        row["metric"] = self.headline
        row["metric_value"] = value
        return row

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "vary": {self.setting: _plain(self.value)},
            "init_digest": self.init_digest,
            "batch_order_digest": self.batch_order_digest,
            "mode": self.mode,
            "status": self.status,
            "epochs_done": self.epochs_done,
            "steps": self.steps,
            "elapsed_s": self.elapsed,
            "steps_per_second": self.steps_per_second,
            "final": _plain(self.final),
            "diverged": None if self.diverged is None else self.diverged.message,
            "history": _plain(self.history.rows),
        }


@dataclass
class RaceVariantEnded:
    variant: int
    result: VariantResult


@dataclass
class RaceResult:
    setting: str
    variants: list[VariantResult]
    group_id: str
    stopped: bool
    elapsed: float

    @property
    def fair(self) -> bool:
        """Every variant started from the same weights and saw the same batches."""
        return (
            len({v.init_digest for v in self.variants}) == 1
            and len({v.batch_order_digest for v in self.variants}) == 1
        )

    @property
    def aggregate_steps_per_second(self) -> float:
        return sum(v.steps for v in self.variants) / self.elapsed if self.elapsed > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """The documented ``losslab race --json`` document (NaN and infinities become null)."""
        return {
            "group_id": self.group_id,
            "vary": self.setting,
            "fair": self.fair,
            "stopped": self.stopped,
            "elapsed_s": _plain(self.elapsed),
            "aggregate_steps_per_second": _plain(self.aggregate_steps_per_second),
            "variants": [v.to_json() for v in self.variants],
        }


@dataclass
class RaceFinished:
    result: RaceResult


def number_text(value: Any, missing: str = "-") -> str:
    """A result for a table: 4 significant digits, ``missing`` for NaN, infinities and non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return missing
    return f"{number:.4g}" if math.isfinite(number) else missing


def _plain(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python numbers, containers walked."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if isinstance(value, float) or hasattr(value, "dtype"):
        if not math.isfinite(number):
            return None
        if hasattr(value, "dtype") and float(number).is_integer() and "int" in str(value.dtype):
            return int(number)
        return number
    return str(value)
