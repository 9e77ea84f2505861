"""The run history store: round trips, migrations, damaged/locked/newer files, interrupted runs, weights."""

from __future__ import annotations

import copy
import json
import math
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
import torch

from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.runs import (
    FINISHED,
    INTERRUPTED,
    RUNNING,
    SCHEMA_VERSION,
    RunStore,
    default_db_path,
    export_run,
    open_store,
)
from losslab.core.runs.liveness import process_token
from losslab.core.runs.schema import MIGRATIONS
from losslab.core.runs.weights import state_to_bytes

EXP = {
    "format": "losslab",
    "schema_version": 1,
    "name": "moons test",
    "dataset": {"kind": "moons", "n_samples": 200, "noise": 0.2, "seed": 1},
    "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
    "loss": {"id": "bce_logits"},
    "optimizer": {"id": "adam", "lr": 0.02},
    "training": {"epochs": 3, "batch_size": 32, "device": "cpu", "seed": 4},
}


def experiment(**training) -> Experiment:
    doc = copy.deepcopy(EXP)
    doc["training"].update(training)
    return Experiment.from_dict(doc)


def row(epoch: int, val_loss: float = 0.5, accuracy: float = 0.8) -> dict[str, float]:
    return {
        "epoch": epoch,
        "step": 7 * epoch,
        "train_loss": 1.0 / epoch,
        "val_loss": val_loss,
        "train_accuracy": accuracy,
        "val_accuracy": accuracy,
        "lr": 0.02,
        "l1": 0.0,
        "l2": 0.0,
        "elapsed_s": 0.1 * epoch,
    }


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.sqlite3") as s:
        yield s


def test_the_default_file_lives_in_the_data_folder():
    # conftest points LOSSLAB_DATA_DIR at a throwaway folder: no test writes to the user's home.
    assert str(default_db_path()).startswith(os.environ["LOSSLAB_DATA_DIR"])
    assert default_db_path().name == "runs.sqlite3"


def test_round_trip(store):
    exp = experiment()
    rid = store.create_run(exp, tags=["a", "b", "a"], group_id="g1", source="test", architecture="2-8-1")
    store.record_epoch(rid, row(1, 0.6))
    store.record_epoch(rid, row(2, math.nan))
    store.update_run(
        rid,
        epochs_done=2,
        steps_done=14,
        final_metrics=row(2, math.nan),
        best_metrics=row(1, 0.6),
        best_epoch=1,
    )
    store.add_steps(rid, np.arange(1, 15), np.linspace(1, 0.1, 14))
    store.add_steps(rid, np.array([15, 16]), np.array([np.nan, np.inf]))
    weights = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(2)}
    store.save_weights(rid, "final", state_to_bytes(weights), 2, 14)
    store.update_run(rid, status=FINISHED)

    (summary,) = store.list_runs()
    assert summary.id == rid and summary.name == "moons test" and summary.tags == ("a", "b")
    assert summary.status == FINISHED and summary.epochs_done == 2 and summary.steps_done == 14
    assert summary.dataset == "moons" and summary.loss == "bce_logits" and summary.optimizer == "adam"
    assert summary.task == "binary" and summary.architecture == "2-8-1" and summary.seed == 4
    assert summary.best_epoch == 1 and summary.best["val_loss"] == 0.6
    assert math.isnan(summary.final["val_loss"])
    assert summary.metric() == 0.8

    run = store.get_run(rid)
    assert [r["epoch"] for r in run.epochs] == [1, 2]
    assert run.epochs[0] == row(1, 0.6)
    assert run.steps.tolist() == list(range(1, 17))
    assert np.isnan(run.losses[-2]) and np.isinf(run.losses[-1])
    assert run.weights == {"final": (2, 14)}
    assert store.experiment_of(rid).to_dict() == exp.to_dict()
    loaded = store.load_weights(rid)
    assert torch.equal(loaded["w"], weights["w"]) and torch.equal(loaded["b"], weights["b"])
    doc = run.to_json()
    assert doc["final"]["val_loss"] is None  # NaN becomes null in JSON
    assert doc["steps"] == {"stride": 1, "kept": 16}


def test_list_filters_rename_tags_and_soft_delete(store):
    a = store.create_run(experiment(), name="alpha", tags=["baseline"])
    b = store.create_run(experiment(), name="beta", status=FINISHED)
    c = store.create_run(Experiment.from_dict({**EXP, "loss": {"id": "hinge"}}), name="gamma")
    assert [r.id for r in store.list_runs()] == [c, b, a]  # newest first
    assert [r.id for r in store.list_runs("beta")] == [b]
    assert [r.id for r in store.list_runs("HINGE")] == [c]  # any word, any case, in the columns listed
    assert [r.id for r in store.list_runs(str(a))] == [a]
    assert [r.id for r in store.list_runs(status=FINISHED)] == [b]
    assert [r.id for r in store.list_runs(status=[FINISHED, RUNNING])] == [c, b, a]
    assert [r.id for r in store.list_runs(tag="baseline")] == [a]
    store.rename(b, "  renamed ")
    store.set_tags(b, ["x", " y "])
    assert store.summary(b).name == "renamed" and store.summary(b).tags == ("x", "y")
    store.delete(b)
    assert [r.id for r in store.list_runs()] == [c, a]
    assert store.summary(b).deleted is not None
    store.undelete(b)  # the window's Undo
    assert [r.id for r in store.list_runs()] == [c, b, a]
    store.delete(b)
    assert store.purge_deleted() == [b]
    with pytest.raises(LossLabError, match=f"no run {b}"):
        store.get_run(b)
    store.purge(a)
    assert [r.id for r in store.list_runs(include_deleted=True)] == [c]
    with pytest.raises(LossLabError, match="tags"):
        store.set_tags(c, "one-string")


def test_unknown_ids_and_missing_weights_are_clear(store):
    rid = store.create_run(experiment())
    for call in (store.get_run, store.experiment_of, store.delete, lambda i: store.rename(i, "x")):
        with pytest.raises(LossLabError, match="no run 999"):
            call(999)
    with pytest.raises(LossLabError, match="no best weights"):
        store.load_weights(rid, "best")
    with pytest.raises(LossLabError, match="final, best"):
        store.load_weights(rid, "latest")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_weights_load_with_weights_only(store):
    rid = store.create_run(experiment())
    store.save_weights(rid, "final", state_to_bytes({"x": Evil()}))  # torch.save pickles it
    with pytest.raises(LossLabError, match="cannot be read"):
        store.load_weights(rid)


def _v1_file(path):
    """A history as the first LossLab that had one wrote it: schema 1, one finished run."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(MIGRATIONS[0])
    conn.execute(
        "INSERT INTO runs (name, created, status, dataset, epochs_done, final_metrics) "
        "VALUES ('old run', 1700000000, 'finished', 'moons', 1, ?)",
        ('{"epoch": 1, "val_loss": 0.25}',),
    )
    conn.execute("INSERT INTO experiments (run_id, doc) VALUES (1, ?)", (experiment().to_json(),))
    conn.execute("INSERT INTO epochs (run_id, epoch, step, row) VALUES (1, 1, 7, ?)", ('{"epoch": 1}',))
    conn.execute("PRAGMA user_version = 1")
    conn.close()


def test_a_version_1_file_is_migrated_with_its_data(tmp_path):
    path = tmp_path / "runs.sqlite3"
    _v1_file(path)
    with RunStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
        (old,) = store.list_runs()
        assert (old.name, old.status, old.dataset, old.final["val_loss"]) == (
            "old run",
            "finished",
            "moons",
            0.25,
        )
        assert old.deleted is None  # the column v2 added
        assert store.get_run(old.id).epochs == [{"epoch": 1}]
        assert store.experiment_of(old.id).to_dict() == experiment().to_dict()
        store.delete(old.id)  # soft delete, which v2 added, works on the migrated file
        assert store.list_runs() == []
    with RunStore(path) as again:  # opening a current file changes nothing
        assert again.schema_version() == SCHEMA_VERSION


def test_a_newer_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "runs.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(LossLabError, match="newer LossLab") as err:
        RunStore(path)
    assert str(path) in str(err.value) and "Update LossLab" in str(err.value)
    assert path.read_bytes() == before


def test_a_damaged_file_gives_a_clear_message_and_is_kept(tmp_path):
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    before = path.read_bytes()
    with pytest.raises(LossLabError) as err:
        open_store(path)
    message = str(err.value)
    assert str(path) in message and "damaged" in message and "Move it aside" in message
    assert "Traceback" not in message
    assert path.read_bytes() == before  # never deleted, never rewritten


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "runs.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(LossLabError, match="not a LossLab run history"):
        RunStore(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("recipes",)]
    conn.close()


def test_a_locked_file_says_to_close_the_other_losslab(tmp_path):
    path = tmp_path / "runs.sqlite3"
    RunStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LossLabError) as err:
            store = RunStore(path, timeout=0.1)
            store.create_run(experiment())  # in case opening got through: writing cannot
        assert "locked" in str(err.value) and "Close the other LossLab" in str(err.value)
        assert str(path) in str(err.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with RunStore(path) as store:  # and once the other one lets go, it works
        store.create_run(experiment())


def test_runs_left_running_by_a_dead_process_become_interrupted(tmp_path):
    path = tmp_path / "runs.sqlite3"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    with RunStore(path) as store:
        gone = store.create_run(experiment(), pid=dead_pid, started=1.0, elapsed=2.0)
        store.record_epoch(gone, row(1))
        store.record_epoch(gone, row(2, val_loss=0.7))  # committed; the run's progress columns lag behind
        alive = store.create_run(experiment(), pid=os.getpid(), pid_token=process_token(os.getpid()))
        elsewhere = store.create_run(experiment(), pid=dead_pid, host="another-machine")
    with RunStore(path) as store:
        assert store.summary(gone).status == INTERRUPTED
        assert "completed epoch" in store.summary(gone).message
        interrupted = store.summary(gone)
        assert interrupted.ended == 1.0 + row(2)["elapsed_s"]  # started + elapsed: when last heard of
        assert store.get_run(gone).epochs == [row(1), row(2, val_loss=0.7)]
        # Its progress is rebuilt from the committed epochs.
        assert (interrupted.epochs_done, interrupted.steps_done) == (2, 14)
        assert interrupted.final == row(2, val_loss=0.7)
        assert interrupted.best == row(1) and interrupted.best_epoch == 1
        assert store.summary(alive).status == RUNNING  # this process is alive
        assert store.summary(elsewhere).status == RUNNING  # another machine's processes are unknown


def test_a_reused_pid_does_not_keep_a_run_running(tmp_path):
    if process_token(os.getpid()) is None:
        pytest.skip("no /proc: the pid alone decides here")
    with RunStore(tmp_path / "runs.sqlite3") as store:
        rid = store.create_run(experiment(), pid=os.getpid(), pid_token="a process before this one")
        assert store.mark_interrupted() == [rid]


def test_export_writes_the_files_atomically(store, tmp_path):
    rid = store.create_run(experiment())
    store.record_epoch(rid, row(1))
    store.add_steps(rid, np.array([1, 2]), np.array([0.5, 0.25]))
    weights = {"w": torch.ones(2, 2)}
    store.save_weights(rid, "final", state_to_bytes(weights))
    out = tmp_path / "export"
    written = export_run(store, rid, out)
    assert sorted(p.name for p in written) == ["experiment.losslab", "history.csv", "steps.csv", "weights.pt"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)  # no temporary files
    assert (out / "history.csv").read_text().splitlines()[0].startswith("epoch,step,train_loss,val_loss")
    assert (out / "steps.csv").read_text() == "step,loss\n1,0.5\n2,0.25\n"
    assert torch.equal(torch.load(out / "weights.pt", weights_only=True)["w"], weights["w"])
    assert Experiment.from_dict(json.loads((out / "experiment.losslab").read_text())).name == "moons test"
    (tmp_path / "file").write_text("x")
    with pytest.raises(LossLabError, match="not a folder"):
        export_run(store, rid, tmp_path / "file")


def test_the_benchmarks_filler_writes_runs_the_store_lists(store):
    from losslab.bench.runs import fill

    fill(store, 3, steps=500, epochs=5)
    runs = store.list_runs()
    assert len(runs) == 3 and {r.epochs_done for r in runs} == {5} and {r.steps_done for r in runs} == {500}
    run = store.get_run(runs[0].id)
    assert len(run.steps) == 500 and run.steps[-1] == 500 and set(run.weights) == {"final", "best"}
