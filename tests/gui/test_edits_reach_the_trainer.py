"""Every setting the panels show is the one the trainer uses: after Stop, Train starts from them, and
an edit during a run either applies at once (the learning rate) or asks to stop the run."""

from __future__ import annotations

import torch
from PySide6.QtWidgets import QMessageBox

FAST = {"epochs": 1000, "batch_size": 64}


def _run_then_stop(qtbot, window) -> None:
    window.state.update("training", **FAST)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step > 3, timeout=10_000)
    window.actionStop.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)


def _train_a_little(qtbot, window) -> None:
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step > 3, timeout=10_000)
    window.actionStop.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)


def test_after_stop_train_uses_the_optimizer_shown(qtbot, window) -> None:
    _run_then_stop(qtbot, window)
    assert isinstance(window.trainer.optimizer, torch.optim.Adam)
    window.state.update("optimizer", id="sgd", params={"momentum": 0.5})
    _train_a_little(qtbot, window)
    optimizer = window.trainer.optimizer
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["momentum"] == 0.5


def test_after_stop_train_uses_the_clipping_and_batch_size_shown(qtbot, window) -> None:
    _run_then_stop(qtbot, window)
    window.state.update("optimizer", grad_clip=0.25)
    window.state.update("training", batch_size=16)
    _train_a_little(qtbot, window)
    assert window.trainer.experiment.optimizer["grad_clip"] == 0.25
    assert window.trainer.batch_size == 16


def test_a_learning_rate_change_reaches_the_running_trainer_without_a_restart(qtbot, window) -> None:
    window.state.update("training", **FAST)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step > 3, timeout=10_000)
    trainer = window.trainer
    window.state.update("optimizer", lr=0.002)
    qtbot.waitUntil(lambda: abs(trainer.lr.lr - 0.002) < 1e-12, timeout=10_000)
    assert window.trainer is trainer and window.controller.running
    window.actionStop.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)


def test_another_optimizer_during_a_run_asks_and_then_applies(qtbot, window, dialogs) -> None:
    window.state.update("training", **FAST)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step > 3, timeout=10_000)
    dialogs.answer = QMessageBox.StandardButton.No
    assert window.state.update("optimizer", id="rmsprop", params={}) is False  # kept running, unchanged
    assert window.controller.running and window.state.experiment.optimizer["id"] == "adam"
    dialogs.answer = QMessageBox.StandardButton.Yes
    assert window.state.update("optimizer", id="rmsprop", params={})
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert any("needs a fresh run" in text for _, _, text in dialogs.seen)
    _train_a_little(qtbot, window)
    assert isinstance(window.trainer.optimizer, torch.optim.RMSprop)
