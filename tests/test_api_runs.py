"""losslab.train records every run in the run history unless told not to."""

from __future__ import annotations

import pytest

import losslab
from losslab.core.events import Notice
from losslab.core.runs import FINISHED, open_store

SMALL = {
    "format": "losslab",
    "schema_version": 1,
    "name": "api run",
    "dataset": {"kind": "moons", "n_samples": 200, "seed": 1},
    "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
    "loss": {"id": "bce_logits"},
    "optimizer": {"id": "adam", "lr": 0.02},
    "training": {"epochs": 4, "batch_size": 32, "device": "cpu"},
}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_train_records_by_default(data_dir):
    history = losslab.train(SMALL, epochs=3)
    assert isinstance(history.run_id, int)
    with open_store() as store:
        run = store.get_run(history.run_id)
        assert store.path == data_dir / "runs.sqlite3"
    assert run.summary.status == FINISHED and run.summary.source == "api" and run.summary.name == "api run"
    assert run.epochs == history.rows and run.summary.epochs_planned == 3
    assert set(run.weights) == {"final", "best"}


def test_record_false_stores_nothing(data_dir):
    history = losslab.train(SMALL, record=False)
    assert history.run_id is None and len(history) == 4
    assert not (data_dir / "runs.sqlite3").exists()


def test_the_callback_still_gets_every_event(data_dir):
    events = []
    history = losslab.train(SMALL, callback=events.append)
    assert events and not any(isinstance(e, Notice) for e in events)
    with open_store() as store:
        assert store.summary(history.run_id).epochs_done == 4


def test_a_damaged_history_warns_and_training_goes_on(data_dir):
    data_dir.mkdir()
    (data_dir / "runs.sqlite3").write_bytes(b"not a database" * 100)
    with pytest.warns(RuntimeWarning, match="not recorded in the run history.*damaged"):
        history = losslab.train(SMALL, epochs=2)
    assert len(history) == 2 and history.run_id is None
