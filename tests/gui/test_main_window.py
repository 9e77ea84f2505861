"""The window end to end: train, controls, files, undo, closing mid-run, start-up as a process."""

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QAction

from losslab.core.experiment import Experiment, load_experiment
from losslab.core.resources import examples_dir

FAST = {"epochs": 3, "batch_size": 32}


def _fast(window, **training):
    window.state.update("training", **{**FAST, **training})


def _wait_finished(qtbot, window, timeout=30_000):
    qtbot.waitUntil(lambda: not window.controller.running, timeout=timeout)


def test_window_has_the_named_parts(window):
    from PySide6.QtWidgets import QDockWidget

    for name in ("datasetPanel", "layerPanel", "lossPanel", "optimizerPanel"):
        assert window.findChild(QDockWidget, name) is not None
    for name in ("actionTrain", "actionPause", "actionStep", "actionStop", "actionReset"):
        assert window.findChild(QAction, name) is not None
    assert window.loss_plot.objectName() == "lossPlot"
    assert window.task_view.objectName() == "taskPlot"


def test_every_tab_is_a_view_in_the_registry_order(window):
    from losslab.gui.view_api import View, ViewBase
    from losslab.gui.views import VIEWS

    tabs = [window.views.widget(i) for i in range(window.views.count())]
    assert all(isinstance(tab, View) and isinstance(tab, ViewBase) for tab in tabs)
    assert [window.views.tabText(i) for i in range(len(tabs))] == ["Training"] + [d.title for d in VIEWS]
    assert [tab.objectName() for tab in tabs[1:]] == [d.object_name for d in VIEWS]
    # The host feeds the tabs first, then the views attached without a tab (the compact Network dock).
    assert window.host.tab_views == tabs == list(window.host)[: len(tabs)]
    assert window.network_compact in list(window.host)[len(tabs) :]


def test_train_to_the_end_fills_curves_and_task_view(qtbot, window):
    _fast(window)
    window.actionTrain.trigger()
    assert window.controller.running
    _wait_finished(qtbot, window)
    window.redraw()
    curves = window.loss_view.curves()
    assert sum(len(x) for x, _ in curves.values()) > 0
    steps = window.trainer.step
    assert steps == 3 * window.trainer.steps_per_epoch
    assert len(window.trainer.history) == 3
    assert window.status_labels["epoch"].text().startswith("epoch 3/3")
    assert window.task_view.surface.image is not None  # the decision surface was drawn
    assert window.task_view.surface.image.shape[:2] == (100, 100)


def test_pause_step_resume_stop(qtbot, window):
    _fast(window, epochs=1000)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer.step > 5, timeout=10_000)
    window.actionPause.trigger()
    assert window.controller.paused
    qtbot.wait(200)
    paused_at = window.trainer.step
    qtbot.wait(200)
    assert window.trainer.step == paused_at  # pause takes effect within a batch
    window.actionStep.trigger()
    qtbot.waitUntil(lambda: window.trainer.step == paused_at + 1, timeout=5000)
    qtbot.wait(100)
    assert window.trainer.step == paused_at + 1  # exactly one batch
    window.actionTrain.trigger()  # resume
    qtbot.waitUntil(lambda: window.trainer.step > paused_at + 20, timeout=10_000)
    window.actionStop.trigger()
    assert not window.controller.running


def test_step_before_training_runs_exactly_one_batch(qtbot, window):
    _fast(window)
    window.actionStep.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step == 1, timeout=10_000)
    qtbot.wait(150)
    assert window.trainer.step == 1
    window.actionStop.trigger()


def test_learning_rate_change_applies_mid_run(qtbot, window):
    _fast(window, epochs=1000)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer.step > 5, timeout=10_000)
    window.state.update("optimizer", lr=0.0005)
    qtbot.waitUntil(
        lambda: window.trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.0005), timeout=5000
    )
    assert window.controller.running  # no reset
    window.actionStop.trigger()


def test_structural_edit_during_run_asks_and_can_be_refused(qtbot, window, dialogs):
    _fast(window, epochs=1000)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer.step > 5, timeout=10_000)
    dialogs.answer = dialogs.answer.__class__.No
    before = window.state.experiment.dataset
    assert window.state.update("dataset", noise=0.3) is False
    assert window.state.experiment.dataset == before
    assert window.controller.running
    dialogs.answer = dialogs.answer.__class__.Yes
    assert window.state.update("dataset", noise=0.3) is True
    assert not window.controller.running
    assert window.state.experiment.dataset["noise"] == 0.3


def test_divergence_is_reported_not_crashed(qtbot, window, dialogs):
    exp = Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": "house_prices", "outlier_fraction": 0.1},
            "model": {"layers": []},
            "loss": {"id": "mse"},
            "optimizer": {"id": "sgd", "lr": 50.0},
            "training": {"epochs": 200, "batch_size": 0},
        }
    )
    window.state.replace_experiment(exp)
    window.actionTrain.trigger()
    _wait_finished(qtbot, window)
    titles = [t for _, t, _ in dialogs.seen]
    assert "Training diverged" in titles
    assert window.isVisible()


def test_save_and_open_round_trip(qtbot, window, tmp_path):
    window.state.update("optimizer", lr=0.0037)
    path = tmp_path / "mine.losslab"
    assert window.save_to(path)
    assert not window.state.modified
    assert load_experiment(path).optimizer["lr"] == pytest.approx(0.0037)
    window.new_experiment()
    assert window.state.experiment.optimizer["lr"] != pytest.approx(0.0037)
    assert window.open_file(path)
    assert window.state.experiment.to_dict() == load_experiment(path).to_dict()
    assert str(path) in window.recent_files()


def test_opening_a_broken_file_says_why(window, dialogs, tmp_path):
    bad = tmp_path / "bad.losslab"
    bad.write_text("{not json")
    assert not window.open_file(bad)
    assert any("not valid JSON" in text for _, _, text in dialogs.seen)


def test_examples_menu_lists_the_shipped_examples(window):
    names = {a.text() for a in window.examples_menu.actions()}
    assert len(names) == len(list(examples_dir().glob("*.losslab")))


def test_dropping_an_experiment_opens_it(qtbot, window, tmp_path):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDropEvent

    exp = Experiment.default().replace("optimizer", lr=0.042)
    path = tmp_path / "dropped.losslab"
    exp.save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.state.experiment.optimizer["lr"] == pytest.approx(0.042), timeout=3000)


def test_undo_redo_of_layer_edits(window):
    from losslab.gui.layer_commands import SetLayersCommand

    before = window.state.experiment.model["layers"]
    after = [*before, {"type": "linear", "units": 8, "bias": True}]
    window.state.undo_stack.push(SetLayersCommand(window.state, before, after, "Add layer"))
    assert window.state.experiment.model["layers"] == after
    window.actionUndo.trigger()
    assert window.state.experiment.model["layers"] == before
    window.actionRedo.trigger()
    assert window.state.experiment.model["layers"] == after


def test_layout_is_restored_at_next_start(qtbot, settings, dialogs):
    from losslab.gui.main_window import MainWindow

    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.show()
    first.docks["lossPanel"].hide()
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    second.show()
    assert not second.docks["lossPanel"].isVisible()
    assert second.docks["datasetPanel"].isVisible()


def test_closing_during_training_stops_cleanly(tmp_path):
    """A real process: train, close mid-run, and no Qt thread warning or crash."""
    code = f"""
import sys
from PySide6.QtCore import QSettings, QTimer
from losslab.gui.app import create_app
from losslab.gui.main_window import MainWindow
app = create_app()
w = MainWindow(settings=QSettings({str(tmp_path / "s.ini")!r}, QSettings.Format.IniFormat))
w.show()
w.state.update("training", epochs=100000)
w.state.mark_saved()
QTimer.singleShot(100, w.train)
def close_once_training():
    if w.controller.running and w.trainer.step > 50:
        w.close()
    else:
        QTimer.singleShot(50, close_once_training)
QTimer.singleShot(200, close_once_training)
QTimer.singleShot(40000, lambda: sys.exit(5))  # a hang fails the test instead of blocking it
app.exec()
print("closed", w.controller.running)
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90, env=env)
    assert result.returncode == 0, result.stderr
    assert "closed False" in result.stdout
    assert "QThread: Destroyed while thread is still running" not in result.stderr
    assert "Traceback" not in result.stderr


def test_losslab_starts_as_a_process_and_exits_cleanly(tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "LOSSLAB_QUIT_AFTER_MS": "1500",
        "XDG_CONFIG_HOME": str(tmp_path),
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "losslab"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
