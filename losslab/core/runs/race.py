"""Races in the run history: each variant becomes a run, the race their group.

    result = run_race(plan, record=race_recorder(store))

``race_recorder`` returns a ``losslab.core.race.run.Record``: ``run_race`` calls it once per variant
when that variant is done, with the race's group id, so a race reopens as a group of runs. A race
reports per-epoch rows, not per-step losses, so its runs have epochs and weights but no steps.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from losslab.core.race.run import Record
from losslab.core.race.types import DIVERGED, FINISHED, STOPPED, VariantResult
from losslab.core.runs.describe import describe_weights
from losslab.core.runs.records import DIVERGED as RUN_DIVERGED
from losslab.core.runs.records import FINAL
from losslab.core.runs.records import FINISHED as RUN_FINISHED
from losslab.core.runs.records import STOPPED as RUN_STOPPED
from losslab.core.runs.store import RunStore
from losslab.core.runs.weights import state_to_bytes

_STATUS = {FINISHED: RUN_FINISHED, STOPPED: RUN_STOPPED, DIVERGED: RUN_DIVERGED}


def record_variant(store: RunStore, group_id: str, result: VariantResult, device: str = "") -> int:
    """Store one race variant's result as a finished (stopped, diverged) run in ``group_id``."""
    rows = list(result.history.rows)
    best_row: dict[str, float] | None = None
    best_key = math.inf
    for row in rows:
        val = row.get("val_loss", math.nan)
        key = val if math.isfinite(val) else row.get("train_loss", math.nan)
        if math.isfinite(key) and key < best_key:
            best_key, best_row = key, row
    architecture, params = describe_weights(result.state_dict) if result.state_dict else ("", None)
    message = result.diverged.message if result.diverged is not None else ""
    if not message and result.early_stop is not None:
        message = str(getattr(result.early_stop, "notice", ""))
    now = time.time()
    with store.transaction():
        run_id = store.create_run(
            result.experiment,
            name=_name(result),
            tags=("race",),
            group_id=group_id,
            source="race",
            status=_STATUS.get(result.status, RUN_STOPPED),
            message=message,
            diverged_epoch=result.diverged.epoch if result.diverged is not None else None,
            diverged_step=result.diverged.step if result.diverged is not None else None,
            started=now - result.elapsed,
            ended=now,
            architecture=architecture,
            param_count=params,
            device=device,
            torch_version=str(torch.__version__),
            epochs_done=result.epochs_done,
            steps_done=result.steps,
            elapsed=result.elapsed,
        )
        store.add_epochs(run_id, rows)
        columns: dict[str, Any] = {}
        if rows:
            columns["final_metrics"] = rows[-1]
        if best_row is not None:
            columns.update(best_metrics=best_row, best_epoch=int(best_row["epoch"]))
        store.update_run(run_id, **columns)
        if result.state_dict:
            last = rows[-1] if rows else {}
            store.save_weights(
                run_id,
                FINAL,
                state_to_bytes(result.state_dict),
                int(last.get("epoch", result.epochs_done)),
                int(last.get("step", result.steps)),
            )
    return run_id


def _name(result: VariantResult) -> str:
    name = result.experiment.name
    return name if result.label in name else f"{name or 'race'}: {result.label}"


def race_recorder(store: RunStore, device: str = "") -> Record:
    """A ``Record`` callable for ``run_race(record=...)`` that stores each variant in ``store``."""

    def record(group_id: str, result: VariantResult) -> None:
        record_variant(store, group_id, result, device)

    return record
