"""The Gradients, Landscape and LR finder views, overfitting/early-stopping marks and divergence recovery."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from losslab.core.experiment import load_experiment
from losslab.core.landscape import LandscapeGrid, LandscapeLine
from losslab.core.resources import examples_dir

FAST = {"epochs": 3, "batch_size": 32}


def _view(window, name: str) -> QWidget:
    view = window.findChild(QWidget, name)
    assert view is not None, name
    window.views.setCurrentWidget(view)  # drawn only while visible
    return view


def _train(qtbot, window, timeout=30_000) -> None:
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=timeout)


def _example(window, stem: str) -> None:
    window.state.replace_experiment(load_experiment(examples_dir() / f"{stem}.losslab"))


def test_the_views_are_tabs_and_the_panel_has_their_settings(window):
    titles = [window.views.tabText(i) for i in range(window.views.count())]
    for title in ("Gradients", "Landscape", "LR finder"):
        assert title in titles
    form = window.optimizer_panel.train_form
    assert {"early_stopping", "diagnostics_every"} <= set(form.names())


def test_gradient_view_has_a_line_per_layer_after_a_short_training(qtbot, window):
    window.state.update("training", **FAST)
    _train(qtbot, window)
    view = _view(window, "gradientView")
    window.redraw()
    grads = view.curve_data("grad")
    assert len(grads) == 3  # Linear 1, Linear 2, Output of the default network
    for x, y in grads:
        assert len(x) > 3 and np.all(np.isfinite(y))  # (log10 of the norms: the axis is logarithmic)
    assert len(view.curve_data("ratio")) == 3 and len(view.curve_data("frac")) == 2
    assert view.hist_combo.count() == 5  # weights of 3 layers, outputs of 2 tanh layers
    assert view.hist_image.image is not None
    assert not view.banner.isVisible()
    window.actionReset.trigger()
    assert view.curve_data("grad") == []


def test_gradient_view_warns_about_vanishing_gradients(qtbot, window):
    _example(window, "16_vanishing_gradients_sigmoid")
    window.state.update("training", epochs=2)
    _train(qtbot, window)
    view = _view(window, "gradientView")
    window.redraw()
    assert view.banner.isVisible() and "Vanishing gradients" in view.banner.text()
    assert "ReLU" in view.banner.text()


def test_landscape_grid_is_computed_in_the_background_and_drawn(qtbot, window):
    window.state.update("training", **FAST)
    _train(qtbot, window)
    view = _view(window, "landscapeView")
    view.steps_spin.setValue(9)
    view.compute_button.click()
    assert view.runner.busy and view.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=30_000)
    result = view.result
    assert isinstance(result, LandscapeGrid) and result.losses.shape == (9, 9)
    trainer = window.trainer
    loss, _ = trainer.evaluate(trainer.x_train, trainer.y_train)
    assert result.center == pytest.approx(loss, abs=1e-5)
    assert view.image.image is not None and view.contour_count() > 0
    assert result.trajectory is not None and len(result.trajectory) >= 3  # the path is drawn too
    assert "current weights" in view.status.text()


def test_landscape_line_and_pca(qtbot, window):
    window.state.update("training", **FAST)
    _train(qtbot, window)
    view = _view(window, "landscapeView")
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("line"))
    view.compute()
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=30_000)
    assert isinstance(view.result, LandscapeLine)
    assert view.result.start_loss > view.result.end_loss
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("grid"))
    view.dir_combo.setCurrentIndex(view.dir_combo.findData("pca"))
    view.steps_spin.setValue(7)
    view.compute()
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=30_000)
    assert view.result.directions == "pca" and view.result.explained is not None


def test_landscape_does_not_block_or_disturb_a_running_training(qtbot, window):
    window.state.update("training", epochs=100_000)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer.step > 30, timeout=10_000)
    view = _view(window, "landscapeView")
    view.steps_spin.setValue(15)
    view.compute()
    before = window.trainer.step
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=30_000)
    assert window.controller.running, "the training stopped while the landscape was computed"
    assert window.trainer.step > before, "the training made no step while the landscape was computed"
    assert isinstance(view.result, LandscapeGrid) and math.isfinite(view.result.center_loss)
    window.actionStop.trigger()


def test_landscape_cancel(qtbot, window):
    view = _view(window, "landscapeView")
    view.steps_spin.setValue(101)
    view.compute()  # nothing trained: the initial weights
    view.cancel_button.click()
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=30_000)
    assert view.status.text() in ("Cancelled.",) or view.result is not None


def test_lr_finder_sets_the_learning_rate_with_one_click(qtbot, window):
    _example(window, "11_learning_rate_too_high")
    view = _view(window, "lrFinderView")
    assert not view.use_button.isEnabled()
    view.run_button.click()
    qtbot.waitUntil(lambda: not view.runner.busy, timeout=60_000)
    suggestion = view.result.suggestion
    assert suggestion is not None and 1e-3 < suggestion < 1
    assert view.use_button.isEnabled() and f"{suggestion:g}" in view.use_button.text()
    view.use_button.click()
    assert window.state.experiment.optimizer["lr"] == suggestion
    assert window.optimizer_panel.common_form.value("lr") == pytest.approx(suggestion)


def test_divergence_dialog_restores_the_last_good_weights_and_halves_the_rate(qtbot, window, monkeypatch):
    _example(window, "11_learning_rate_too_high")
    window.state.update("optimizer", lr=1.5)  # diverges; 0.75 trains
    offered = []

    def click_restore(box):
        offered.append((box.windowTitle(), [b.text() for b in box.buttons()]))
        (button,) = [b for b in box.buttons() if b.objectName() == "restoreLastGood"]
        button.click()

    monkeypatch.setattr(QMessageBox, "exec", click_restore)
    _train(qtbot, window)
    qtbot.waitUntil(lambda: bool(offered), timeout=10_000)
    title, buttons = offered[0]
    assert title == "Training diverged"
    assert "Restore last good weights and halve the learning rate" in buttons
    trainer = window.trainer
    assert trainer.lr.base_lr == pytest.approx(0.75)
    assert window.state.experiment.optimizer["lr"] == pytest.approx(0.75)
    step = trainer.step
    _train(qtbot, window)  # Train goes on with the same trainer, from the restored weights
    assert window.trainer is trainer and trainer.step > step
    assert trainer.history and all(math.isfinite(v) for v in trainer.history["train_loss"])
    assert trainer.epoch == trainer.experiment.training["epochs"]


def test_closing_the_divergence_dialog_leaves_a_fresh_start(qtbot, window, dialogs):
    _example(window, "11_learning_rate_too_high")
    _train(qtbot, window)
    qtbot.waitUntil(lambda: any(t == "Training diverged" for _, t, _ in dialogs.seen), timeout=10_000)
    assert window.run.finished  # the next Train starts over
    assert window.state.experiment.optimizer["lr"] == 10.0


def test_early_stopping_marks_the_loss_plot_and_says_so(qtbot, window):
    _example(window, "20_overfitting_early_stopping")
    _train(qtbot, window)
    labels = [line.label.format for line in window.loss_view._marks]
    assert any("restored" in text for text in labels), labels
    assert any("overfitting" in text for text in labels), labels
    assert "Early stopping at epoch" in window.statusBar().currentMessage()
    assert window.run.finished


def test_building_the_window_with_these_tabs_does_not_import_torch(tmp_path):
    """The window shows before torch loads (app.py): the tabs import their torch-side code lazily."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from PySide6.QtCore import QSettings\n"
        "from losslab.gui.main_window import MainWindow\n"
        f"w = MainWindow(QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat))\n"
        "assert 'torch' not in sys.modules, 'torch imported while building the window'\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
