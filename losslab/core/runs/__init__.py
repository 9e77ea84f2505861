"""The run history: every training run kept in one SQLite file, crash-safe (see store.py).

The window's Runs panel, ``losslab runs`` and ``losslab.train`` use:

* ``open_store(path=None) -> RunStore`` (the user's history; ``RunStore(path)`` for any file);
* ``RunStore.list_runs(text, status, tag, group_id, include_deleted, limit) -> list[RunSummary]``,
  ``get_run(id) -> RunRecord``, ``experiment_of(id) -> Experiment``,
  ``load_weights(id, which="final"|"best") -> state_dict``, ``rename``, ``set_tags``, ``delete`` /
  ``undelete`` / ``purge_deleted``, ``purge``;
* ``Recorder(store, trainer, ...)`` with ``trainer.run(recorder.wrap(callback))`` to record a run;
* ``race_recorder(store)`` (in ``losslab.core.runs.race``) to store a race as a group of runs;
* ``export_run(store, id, folder)``: history.csv, steps.csv, weights.pt, experiment.losslab.
"""

from __future__ import annotations

from losslab.core.runs.export import export_run
from losslab.core.runs.location import DB_NAME, default_db_path
from losslab.core.runs.recorder import Recorder
from losslab.core.runs.records import (
    BEST,
    DIVERGED,
    FINAL,
    FINISHED,
    INTERRUPTED,
    RUNNING,
    STATUSES,
    STOPPED,
    RunRecord,
    RunSummary,
)
from losslab.core.runs.schema import SCHEMA_VERSION
from losslab.core.runs.store import RunStore, open_store

__all__ = [
    "BEST",
    "DB_NAME",
    "DIVERGED",
    "FINAL",
    "FINISHED",
    "INTERRUPTED",
    "RUNNING",
    "SCHEMA_VERSION",
    "STATUSES",
    "STOPPED",
    "Recorder",
    "RunRecord",
    "RunStore",
    "RunSummary",
    "default_db_path",
    "export_run",
    "open_store",
]
