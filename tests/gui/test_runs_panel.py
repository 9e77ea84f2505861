"""The window's run history: every run recorded through the real worker, the Runs panel, compare, seeds."""

import pytest

from losslab.core.runs import DIVERGED, FINISHED, STOPPED, RunStore, open_store

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {"epochs": 3, "batch_size": 64}


@pytest.fixture
def store(data_dir):
    s = open_store()
    yield s
    s.close()


def _train(qtbot, window, **training):
    window.state.update("training", **{**FAST, **training})
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()


def test_a_window_run_is_recorded_with_its_epochs(qtbot, store, window):
    window.state.update("optimizer", id="sgd", params={}, lr=0.05)
    _train(qtbot, window)
    runs = store.list_runs()
    assert len(runs) == 1
    run = runs[0]
    assert run.status == FINISHED
    assert run.loss == window.state.experiment.loss["id"] == "bce_logits"
    assert run.optimizer == "sgd"
    assert run.source == "window"
    assert run.epochs_done == 3
    record = store.get_run(run.id)
    assert [row["epoch"] for row in record.epochs] == [1, 2, 3]
    assert len(record.steps) > 0
    assert store.experiment_of(run.id).optimizer["lr"] == pytest.approx(0.05)


def test_stop_then_continue_is_one_run(qtbot, store, window):
    window.state.update("training", epochs=60, batch_size=32)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: len(window.trainer.history) >= 1, timeout=20_000)
    with qtbot.waitSignal(window.controller.finished, timeout=20_000):
        window.actionStop.trigger()
    (run,) = store.list_runs()
    assert run.status == STOPPED
    assert 1 <= run.epochs_done < 60
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()  # continues the same trainer: the same run goes on
    (again,) = store.list_runs()
    assert again.id == run.id and again.status == FINISHED
    assert again.epochs_done == 60
    assert [row["epoch"] for row in store.get_run(run.id).epochs] == list(range(1, 61))


def test_a_diverged_run_is_stored_as_diverged(qtbot, store, window):
    _diverging(window, epochs=200)
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()
    (run,) = store.list_runs()
    assert run.status == DIVERGED


def _diverging(window, epochs: int) -> None:
    """A linear model on house prices at learning rate 50: it blows up within a few epochs."""
    from losslab.core.experiment import Experiment

    doc = {
        "format": "losslab",
        "schema_version": 1,
        "dataset": {"kind": "house_prices", "outlier_fraction": 0.1},
        "model": {"layers": []},
        "loss": {"id": "mse"},
        "optimizer": {"id": "sgd", "lr": 50.0},
        "training": {"epochs": epochs, "batch_size": 0},
    }
    window.state.replace_experiment(Experiment.from_dict(doc))


def _damaged(tmp_path):
    bad = tmp_path / "damaged.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    return lambda: RunStore(bad)


def test_an_unreadable_history_still_trains(qtbot, tmp_path, window):
    window.run.recording.opener = _damaged(tmp_path)
    _train(qtbot, window)
    assert len(window.trainer.history) == 3
    assert "damaged" in window.run.recording.error


def test_train_after_stop_keeps_the_window_responsive(qtbot, store, window):
    """The stopped run's queued finished must not end (and wait for) the run Train starts next."""
    import time

    window.state.update("training", epochs=100_000, batch_size=32)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: len(window.trainer.history) >= 1, timeout=20_000)
    window.actionStop.trigger()
    window.actionTrain.trigger()
    t = time.perf_counter()
    qtbot.wait(50)
    assert time.perf_counter() - t < 2.0  # it blocked until the whole run ended
    assert window.controller.running
    qtbot.waitUntil(lambda: store.summary(store.list_runs()[0].id).status == "running", timeout=5000)
    window.actionStop.trigger()
    assert not window.controller.running
    (run,) = store.list_runs()
    assert run.status == STOPPED


def test_going_on_after_restoring_the_last_good_weights_is_the_same_run(qtbot, store, window):
    _diverging(window, epochs=20)
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()
    (run,) = store.list_runs()
    assert run.status == DIVERGED
    assert window.run.restore_last_good()
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()
    (again,) = store.list_runs()
    assert again.id == run.id
    assert again.status in (FINISHED, DIVERGED)
    epochs = [row["epoch"] for row in store.get_run(run.id).epochs]
    assert epochs == sorted(set(epochs)) and epochs[0] == 1


def test_a_gan_window_run_is_recorded(qtbot, store, window):
    from losslab.core.experiment import Experiment

    doc = {**Experiment.default().to_dict(), "dataset": {"kind": "gan_ring"}, "loss": {"id": "gan_d"}}
    doc["training"] = {**doc["training"], "epochs": 2}
    window.state.replace_experiment(Experiment.from_dict(doc))
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()
    (run,) = store.list_runs()
    assert run.status == FINISHED and run.task == "gan" and run.epochs_done == 2
