"""``RunStore``: the run history, one SQLite file (WAL mode) in LossLab's data folder.

Every write is a short transaction, so a process killed at any moment leaves the file as it was
after the last commit: the recorder commits each epoch as it ends. Opening the store marks runs
that a dead process on this machine left "running" as "interrupted". Nothing here ever deletes or
rewrites a file it cannot read: a damaged, locked or newer file raises ``LossLabError`` saying
what is wrong and what to do, and leaves the file alone.

A ``RunStore`` may be used from any thread (one lock serializes its calls). Give a recorder on a
training thread its own ``RunStore`` so that the window's reads never wait for its writes; WAL
lets readers and one writer work at the same time, also across processes.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np

from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.runs.describe import experiment_columns
from losslab.core.runs.liveness import host_name, pid_alive
from losslab.core.runs.location import default_db_path
from losslab.core.runs.records import (
    BEST,
    FINAL,
    INTERRUPTED,
    RUNNING,
    STATUSES,
    WEIGHTS,
    RunRecord,
    RunSummary,
)
from losslab.core.runs.schema import MIGRATIONS, SCHEMA_VERSION

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_TIMEOUT = 5.0  # seconds to wait for another process's write before calling the file locked
_SUMMARY_COLUMNS = (
    "id, name, tags, group_id, source, created, started, ended, status, message, dataset, task, "
    "architecture, param_count, loss, optimizer, lr, seed, epochs_planned, epochs_done, steps_done, "
    "elapsed, final_metrics, best_metrics, best_epoch, step_stride, torch_version, device, host, pid, "
    "deleted, diverged_epoch, diverged_step"
)
# Columns a caller may set when it creates a run or updates its progress.
_RUN_FIELDS = frozenset(
    {
        "name",
        "tags",
        "group_id",
        "source",
        "started",
        "ended",
        "status",
        "message",
        "dataset",
        "task",
        "architecture",
        "param_count",
        "loss",
        "optimizer",
        "lr",
        "seed",
        "epochs_planned",
        "epochs_done",
        "steps_done",
        "elapsed",
        "final_metrics",
        "diverged_epoch",
        "diverged_step",
        "best_metrics",
        "best_epoch",
        "step_stride",
        "torch_version",
        "device",
        "host",
        "pid",
        "pid_token",
    }
)


def explain(exc: sqlite3.Error, path: Path) -> LossLabError:
    """A LossLabError that says what is wrong with the run history file and how to fix it."""
    code = str(getattr(exc, "sqlite_errorname", ""))
    text = str(exc)
    where = f"the run history {path}"
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in text or "busy" in text:
        return LossLabError(
            f"{where} is locked by another program (probably another LossLab that is writing to it). "
            "Close the other LossLab, or wait for its training to end, and try again"
        )
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in text or "malformed" in text:
        return LossLabError(
            f"{where} is damaged or is not a LossLab run history ({text}). LossLab has left it as it "
            f"is. Move it aside (rename or move {path.name}, and any {path.name}-wal and -shm files "
            "beside it) and LossLab starts a new, empty history; keep the old file for recovery"
        )
    if code == "SQLITE_FULL" or "full" in text:
        return LossLabError(f"{where} cannot grow: the disk is full ({text}). Free some space and try again")
    if code.startswith("SQLITE_READONLY") or "readonly" in text:
        return LossLabError(
            f"{where} is read-only ({text}). Make the file and its folder writable, or set "
            "LOSSLAB_DATA_DIR to a writable folder"
        )
    if code.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return LossLabError(
            f"cannot open {where} ({text}). Check that its folder exists and is writable, or set "
            "LOSSLAB_DATA_DIR to a writable folder"
        )
    return LossLabError(f"{where}: {text}")


def _guarded(method: Callable[P, R]) -> Callable[P, R]:
    """Runs a RunStore method under its lock; SQLite errors become LossLabErrors naming the file."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store = args[0]
        assert isinstance(store, RunStore)
        with store._lock:
            try:
                return method(*args, **kwargs)
            except sqlite3.Error as exc:
                raise explain(exc, store.path) from None

    return wrapper


def _statements(script: str) -> list[str]:
    """A migration script split into statements (executescript would commit mid-transaction)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def _json_load(text: Any, default: Any) -> Any:
    if not isinstance(text, str):
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _row_to_summary(row: tuple[Any, ...]) -> RunSummary:
    (
        rid,
        name,
        tags,
        group_id,
        source,
        created,
        started,
        ended,
        status,
        message,
        dataset,
        task,
        architecture,
        param_count,
        loss,
        optimizer,
        lr,
        seed,
        epochs_planned,
        epochs_done,
        steps_done,
        elapsed,
        final,
        best,
        best_epoch,
        stride,
        torch_version,
        device,
        host,
        pid,
        deleted,
        diverged_epoch,
        diverged_step,
    ) = row
    tag_list = _json_load(tags, [])
    return RunSummary(
        id=rid,
        name=name,
        tags=tuple(str(t) for t in tag_list) if isinstance(tag_list, list) else (),
        group_id=group_id,
        source=source,
        created=created,
        started=started,
        ended=ended,
        status=status,
        message=message,
        dataset=dataset,
        task=task,
        architecture=architecture,
        param_count=param_count,
        loss=loss,
        optimizer=optimizer,
        lr=lr,
        seed=seed,
        epochs_planned=epochs_planned,
        epochs_done=epochs_done,
        steps_done=steps_done,
        elapsed=elapsed or 0.0,
        final=_json_load(final, {}),
        best=_json_load(best, {}),
        best_epoch=best_epoch,
        step_stride=stride,
        torch_version=torch_version,
        device=device,
        host=host,
        pid=pid,
        deleted=deleted,
        diverged_epoch=diverged_epoch,
        diverged_step=diverged_step,
    )


def best_key(row: Mapping[str, Any]) -> float:
    """What "best" minimizes: the validation loss, or the training loss without a validation split."""
    for key in ("val_loss", "train_loss"):
        value = row.get(key)
        if isinstance(value, float | int) and math.isfinite(value):
            return float(value)
    return math.inf


_INSERT_EPOCH = (
    "INSERT OR REPLACE INTO epochs (run_id, epoch, step, train_loss, val_loss, lr, elapsed, row) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _epoch_values(run_id: int, row: Mapping[str, float]) -> tuple[Any, ...]:
    """The epochs table's columns for one History row (the whole row kept as JSON too)."""
    return (
        run_id,
        int(row["epoch"]),
        int(row.get("step", 0)),
        row.get("train_loss"),
        row.get("val_loss"),
        row.get("lr"),
        row.get("elapsed_s"),
        _dumps(dict(row)),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # NaN/inf kept (Python's JSON reads them back)


def _clean_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        raise LossLabError(f"tags must be a list of strings, got the string {tags!r}", "tags")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise LossLabError(f"a tag must be a string, got {tag!r}", "tags")
        tag = tag.strip()
        if tag and tag not in out:
            out.append(tag)
    return out


class RunStore:
    """The run history. ``open_store()`` opens the user's; ``RunStore(path)`` any file."""

    def __init__(
        self, path: str | os.PathLike[str], timeout: float = DEFAULT_TIMEOUT, mark_interrupted: bool = True
    ) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._depth = 0  # nesting of write transactions (only the outermost commits)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LossLabError(
                f"cannot create the folder for the run history {self.path.parent}: {exc.strerror or exc}. "
                "Set LOSSLAB_DATA_DIR to a writable folder"
            ) from None
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise explain(exc, self.path) from None
        try:
            self._setup()
            if mark_interrupted:
                self.mark_interrupted()
        except BaseException:
            self._conn.close()
            raise

    # -- opening -------------------------------------------------------------------------------
    @_guarded
    def _setup(self) -> None:
        conn = self._conn
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise LossLabError(
                f"the run history {self.path} was written by a newer LossLab (history format {version}; "
                f"this LossLab reads formats up to {SCHEMA_VERSION}). Update LossLab, or set "
                "LOSSLAB_DATA_DIR to another folder to keep a separate history; the file is left as it is"
            )
        # WAL: readers and one writer at once, and a commit survives the process being killed.
        # (Some network drives cannot do WAL; SQLite then keeps its rollback journal, which works too.)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable against crashes of the process, fast commits
        conn.execute("PRAGMA foreign_keys=ON")
        if version < SCHEMA_VERSION:
            self._migrate()

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; others wait, then find it done
        try:
            version = self.schema_version()
            if version == 0:
                tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
                ).fetchone()[0]
                if tables:
                    raise LossLabError(
                        f"{self.path} is an SQLite database but not a LossLab run history (it has other "
                        "tables). LossLab has left it as it is; move it aside, or set LOSSLAB_DATA_DIR "
                        "to another folder"
                    )
            for v in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[v]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {v + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit (the recorder's epoch, a benchmark's batch of runs)."""
        with self._lock:
            outer = self._depth == 0
            try:
                if outer:
                    self._conn.execute("BEGIN IMMEDIATE")
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")
            except BaseException as exc:
                if outer:
                    with suppress(sqlite3.Error):
                        if self._conn.in_transaction:
                            self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise explain(exc, self.path) from None
                raise

    # -- writing (the recorder, race records, benchmarks) -------------------------------------
    @_guarded
    def create_run(
        self,
        experiment: Experiment,
        *,
        name: str = "",
        tags: Iterable[str] = (),
        group_id: str | None = None,
        source: str = "",
        status: str = RUNNING,
        **columns: Any,
    ) -> int:
        """A new run holding ``experiment`` as run; returns its id. ``columns``: see schema.py
        (architecture, param_count, device, torch_version, started, ...)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        fields: dict[str, Any] = {
            **experiment_columns(experiment),
            "name": name or experiment.name,
            "tags": _dumps(_clean_tags(tags)),
            "group_id": group_id,
            "source": source,
            "status": status,
            "host": host_name(),
            **columns,
        }
        unknown = set(fields) - _RUN_FIELDS
        if unknown:
            raise ValueError(f"unknown run columns: {sorted(unknown)}")
        names = ["created", *fields]
        values = [time.time(), *fields.values()]
        with self.transaction():
            cur = self._conn.execute(
                f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
            )
            run_id = int(cur.lastrowid or 0)
            self._conn.execute(
                "INSERT INTO experiments (run_id, doc) VALUES (?, ?)", (run_id, experiment.to_json())
            )
        return run_id

    @_guarded
    def update_run(self, run_id: int, **columns: Any) -> None:
        """Set columns of a run (status, epochs_done, final_metrics as a dict, ...)."""
        unknown = set(columns) - _RUN_FIELDS
        if unknown:
            raise ValueError(f"unknown run columns: {sorted(unknown)}")
        if not columns:
            return
        values = [
            _dumps(v) if k in ("final_metrics", "best_metrics", "tags") and not isinstance(v, str) else v
            for k, v in columns.items()
        ]
        with self.transaction():
            self._conn.execute(
                f"UPDATE runs SET {', '.join(f'{k} = ?' for k in columns)} WHERE id = ?", [*values, run_id]
            )

    @_guarded
    def add_epochs(self, run_id: int, rows: Iterable[Mapping[str, float]]) -> None:
        """Append History rows (``epoch``, ``step``, ``train_loss``, ``val_loss``, metrics, ``lr``, ...)."""
        with self.transaction():
            self._conn.executemany(_INSERT_EPOCH, [_epoch_values(run_id, row) for row in rows])

    @_guarded
    def record_epoch(self, run_id: int, row: Mapping[str, float]) -> None:
        """One epoch's row (a History row), committed at once: one statement, no more, as training
        waits for it. The run's progress columns are the caller's to update (``update_run``), less often;
        ``mark_interrupted`` rebuilds them from these rows after a crash."""
        self._conn.execute(_INSERT_EPOCH, _epoch_values(run_id, row))

    def _progress_from_epochs(self, run_id: int) -> dict[str, Any]:
        """epochs_done, final and best metrics as the stored epoch rows say (after a crash)."""
        rows = [
            _json_load(r, {})
            for (r,) in self._conn.execute(
                "SELECT row FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,)
            )
        ]
        if not rows:
            return {}
        last = rows[-1]
        best = min(rows, key=best_key)
        columns: dict[str, Any] = {
            "epochs_done": int(last.get("epoch", len(rows))),
            "steps_done": int(last.get("step", 0)),
            "elapsed": float(last.get("elapsed_s", 0.0)),
            "final_metrics": last,
        }
        if math.isfinite(best_key(best)):
            columns.update(best_metrics=best, best_epoch=int(best.get("epoch", 0)))
        return columns

    @_guarded
    def add_steps(self, run_id: int, steps: np.ndarray, losses: np.ndarray) -> None:
        """Append kept steps (step numbers and their losses) as one chunk."""
        steps = np.ascontiguousarray(steps, dtype="<i8")
        losses = np.ascontiguousarray(losses, dtype="<f4")
        if len(steps) != len(losses):
            raise ValueError("steps and losses differ in length")
        if not len(steps):
            return
        with self.transaction():
            (last,) = self._conn.execute(
                "SELECT coalesce(max(chunk), -1) FROM steps WHERE run_id = ?", (run_id,)
            ).fetchone()
            self._conn.execute(
                "INSERT INTO steps (run_id, chunk, first_step, last_step, n, steps, losses) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    last + 1,
                    int(steps[0]),
                    int(steps[-1]),
                    len(steps),
                    steps.tobytes(),
                    losses.tobytes(),
                ),
            )

    @_guarded
    def replace_steps(self, run_id: int, steps: np.ndarray, losses: np.ndarray, stride: int) -> None:
        """Replace every kept step of a run (after thinning them to every ``stride``-th)."""
        with self.transaction():
            self._conn.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
            self._conn.execute("UPDATE runs SET step_stride = ? WHERE id = ?", (stride, run_id))
            self.add_steps(run_id, steps, losses)

    @_guarded
    def save_weights(
        self, run_id: int, which: str, data: bytes, epoch: int | None = None, step: int | None = None
    ) -> None:
        """Keep ``data`` (``torch.save`` of a state_dict, weights.py) as the run's final or best weights."""
        if which not in WEIGHTS:
            raise ValueError(f"which must be one of {WEIGHTS}, got {which!r}")
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO weights (run_id, which, epoch, step, saved, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, which, epoch, step, time.time(), sqlite3.Binary(data)),
            )

    @_guarded
    def mark_interrupted(self) -> list[int]:
        """Runs left "running" by a process on this machine that no longer exists become "interrupted"."""
        rows = self._conn.execute(
            "SELECT id, pid, pid_token FROM runs WHERE status = ? AND host = ?", (RUNNING, host_name())
        ).fetchall()
        dead = [rid for rid, pid, token in rows if pid is None or not pid_alive(int(pid), token)]
        if dead:
            with self.transaction():
                for rid in dead:
                    self.update_run(rid, **self._progress_from_epochs(rid))
                    self._conn.execute(
                        "UPDATE runs SET status = ?, ended = coalesce(ended, started + elapsed, started), "
                        "message = ? WHERE id = ? AND status = ?",
                        (
                            INTERRUPTED,
                            "The process that ran it ended without finishing it (killed, crashed, or the "
                            "computer went down); every completed epoch and the last saved weights are kept.",
                            rid,
                            RUNNING,
                        ),
                    )
        return dead

    # -- reading -------------------------------------------------------------------------------
    @_guarded
    def list_runs(
        self,
        text: str = "",
        status: str | Iterable[str] | None = None,
        tag: str | None = None,
        group_id: str | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """Light summaries, newest first. ``text``: every word must appear in the name, dataset, loss,
        optimizer, architecture, status, tags or group (case-insensitive), or be the run's id."""
        where: list[str] = []
        args: list[Any] = []
        if not include_deleted:
            where.append("deleted IS NULL")
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if group_id is not None:
            where.append("group_id = ?")
            args.append(group_id)
        for word in text.split():
            like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            clause = (
                "(name || ' ' || dataset || ' ' || loss || ' ' || optimizer || ' ' || architecture || ' ' "
                "|| status || ' ' || tags || ' ' || coalesce(group_id, '')) LIKE ? ESCAPE '\\'"
            )
            if word.lstrip("#").isdigit():
                clause = f"({clause} OR id = ?)"
                args += [like, int(word.lstrip("#"))]
            else:
                args.append(like)
            where.append(clause)
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, id DESC"
        if limit is not None and tag is None:
            sql += f" LIMIT {int(limit)}"
        runs = [_row_to_summary(r) for r in self._conn.execute(sql, args)]
        if tag is not None:
            runs = [r for r in runs if tag in r.tags]
            if limit is not None:
                runs = runs[:limit]
        return runs

    @_guarded
    def summary(self, run_id: int) -> RunSummary:
        row = self._conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise LossLabError(f"there is no run {run_id} in the run history {self.path}")
        return _row_to_summary(row)

    @_guarded
    def get_run(self, run_id: int) -> RunRecord:
        """A run in full: summary, experiment, every epoch's row, the kept steps, which weights exist."""
        summary = self.summary(run_id)
        conn = self._conn
        (doc,) = conn.execute("SELECT doc FROM experiments WHERE run_id = ?", (run_id,)).fetchone() or ("{}",)
        epochs = [
            _json_load(r, {})
            for (r,) in conn.execute("SELECT row FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        ]
        step_parts, loss_parts = [], []
        for steps, losses in conn.execute(
            "SELECT steps, losses FROM steps WHERE run_id = ? ORDER BY chunk", (run_id,)
        ):
            step_parts.append(np.frombuffer(steps, dtype="<i8"))
            loss_parts.append(np.frombuffer(losses, dtype="<f4"))
        weights = {
            which: (epoch, step)
            for which, epoch, step in conn.execute(
                "SELECT which, epoch, step FROM weights WHERE run_id = ?", (run_id,)
            )
        }
        return RunRecord(
            summary,
            _json_load(doc, {}),
            epochs,
            np.concatenate(step_parts).astype(np.int64) if step_parts else np.zeros(0, np.int64),
            np.concatenate(loss_parts).astype(np.float32) if loss_parts else np.zeros(0, np.float32),
            weights,
        )

    @_guarded
    def experiment_of(self, run_id: int) -> Experiment:
        """The experiment exactly as the run trained it (seed, epochs and every override included)."""
        self.summary(run_id)  # a clear error for an unknown id
        row = self._conn.execute("SELECT doc FROM experiments WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise LossLabError(f"run {run_id} has no experiment stored in {self.path}")
        try:
            return Experiment.from_dict(json.loads(row[0]))
        except (ValueError, LossLabError) as exc:
            raise LossLabError(f"run {run_id}'s stored experiment cannot be read: {exc}") from None

    @_guarded
    def weights_bytes(self, run_id: int, which: str = FINAL) -> bytes:
        """The stored ``torch.save`` bytes of the run's final or best weights (what weights.pt holds)."""
        if which not in WEIGHTS:
            raise LossLabError(f"must be one of {', '.join(WEIGHTS)}, got {which!r}", "which")
        self.summary(run_id)
        row = self._conn.execute(
            "SELECT data FROM weights WHERE run_id = ? AND which = ?", (run_id, which)
        ).fetchone()
        if row is None:
            raise LossLabError(f"run {run_id} has no {which} weights stored (it ended before any were saved)")
        return bytes(row[0])

    def load_weights(self, run_id: int, which: str = FINAL, map_location: Any = "cpu") -> dict[str, Any]:
        """The run's final or best state_dict, loaded with ``torch.load(weights_only=True)``."""
        from losslab.core.runs.weights import state_from_bytes

        return state_from_bytes(
            self.weights_bytes(run_id, which), map_location, f"run {run_id}'s {which} weights"
        )

    # -- editing -------------------------------------------------------------------------------
    @_guarded
    def rename(self, run_id: int, name: str) -> None:
        if not isinstance(name, str):
            raise LossLabError(f"a name must be a string, got {name!r}", "name")
        self.summary(run_id)
        self.update_run(run_id, name=name.strip())

    @_guarded
    def set_tags(self, run_id: int, tags: Iterable[str]) -> None:
        clean = _clean_tags(tags)
        self.summary(run_id)
        self.update_run(run_id, tags=_dumps(clean))

    @_guarded
    def delete(self, run_id: int) -> None:
        """Hide a run from the list (``undelete`` brings it back; ``purge_deleted`` removes it for good)."""
        self.summary(run_id)
        with self.transaction():
            self._conn.execute("UPDATE runs SET deleted = ? WHERE id = ?", (time.time(), run_id))

    @_guarded
    def undelete(self, run_id: int) -> None:
        self.summary(run_id)
        with self.transaction():
            self._conn.execute("UPDATE runs SET deleted = NULL WHERE id = ?", (run_id,))

    @_guarded
    def purge(self, run_id: int) -> None:
        """Remove a run and everything it holds, for good."""
        self.summary(run_id)
        with self.transaction():
            for table in ("weights", "steps", "epochs", "experiments"):
                self._conn.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    @_guarded
    def purge_deleted(self, older_than_s: float = 0.0) -> list[int]:
        """Remove for good the runs deleted at least ``older_than_s`` seconds ago; returns their ids."""
        cutoff = time.time() - older_than_s
        ids = [
            rid
            for (rid,) in self._conn.execute(
                "SELECT id FROM runs WHERE deleted IS NOT NULL AND deleted <= ?", (cutoff,)
            )
        ]
        with self.transaction():
            for rid in ids:
                self.purge(rid)
        return ids

    @_guarded
    def groups(self, group_id: str) -> list[RunSummary]:
        """The runs of one group (the seeds of an experiment, the variants of a race), oldest first."""
        return sorted(self.list_runs(group_id=group_id), key=lambda r: r.id)

    def size_bytes(self) -> int:
        """The file's size on disk, with its write-ahead log."""
        total = 0
        for suffix in ("", "-wal"):
            with suppress(OSError):
                total += os.path.getsize(f"{self.path}{suffix}")
        return total

    @_guarded
    def checkpoint(self) -> None:
        """Fold the write-ahead log into the main file (SQLite also does this by itself now and then)."""
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def open_store(path: str | os.PathLike[str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> RunStore:
    """The user's run history (``$LOSSLAB_DATA_DIR`` or the platform's data folder), or ``path``."""
    return RunStore(default_db_path() if path is None else path, timeout)


__all__ = ["BEST", "FINAL", "RunStore", "explain", "open_store"]
