"""Edit > Undo / Redo cover every edit (dataset, network, loss, optimizer, training settings): the
panels show the restored values and the next Train uses them."""

from __future__ import annotations

from typing import Any

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget


def _activate(combo: QComboBox, data: Any) -> None:
    index = combo.findData(data, Qt.ItemDataRole.UserRole)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def _type(qtbot: Any, editor: QWidget, text: str) -> None:
    editor.setFocus()
    editor.lineEdit().selectAll()  # type: ignore[attr-defined]
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def _train_a_little(qtbot: Any, window: Any) -> None:
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step > 2, timeout=10_000)
    window.actionStop.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)


def test_undo_and_redo_each_kind_of_edit_through_the_panels(qtbot, window) -> None:
    state, undo, redo = window.state, window.actionUndo, window.actionRedo
    ds, loss, opt = window.dataset_panel, window.loss_panel, window.optimizer_panel
    start = state.experiment

    _activate(ds.kind_combo, "circles")  # dataset
    assert state.experiment.loss["id"] != "hinge"
    assert loss.select_loss("hinge")  # loss
    _activate(opt.opt_combo, "sgd")  # optimizer
    _type(qtbot, opt.train_form.editor("batch_size"), "16")  # training settings
    edited = state.experiment
    assert state.undo_stack.count() == 4

    undo.trigger()
    assert state.experiment.training["batch_size"] == start.training["batch_size"]
    assert opt.train_form.editor("batch_size").value() == start.training["batch_size"]
    undo.trigger()
    assert state.experiment.optimizer["id"] == "adam" and opt.opt_combo.currentData() == "adam"
    undo.trigger()
    assert state.experiment.loss == start.loss
    assert loss.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == start.loss["id"]
    undo.trigger()
    assert state.experiment.to_dict() == start.to_dict()
    assert ds.kind_combo.currentData() == "moons" and state.dataset.spec_id == "moons"
    assert not undo.isEnabled()

    for _ in range(4):
        redo.trigger()
    assert state.experiment.to_dict() == edited.to_dict()
    assert ds.kind_combo.currentData() == "circles" and opt.opt_combo.currentData() == "sgd"
    assert opt.train_form.editor("batch_size").value() == 16


def test_the_trainer_gets_the_undone_values(qtbot, window) -> None:
    window.state.update("training", epochs=1000, batch_size=64)
    _train_a_little(qtbot, window)
    _activate(window.optimizer_panel.opt_combo, "sgd")
    _type(qtbot, window.optimizer_panel.train_form.editor("batch_size"), "16")
    window.actionUndo.trigger()
    window.actionUndo.trigger()
    _train_a_little(qtbot, window)
    assert isinstance(window.trainer.optimizer, torch.optim.Adam)
    assert window.trainer.batch_size == 64
    window.actionRedo.trigger()
    _train_a_little(qtbot, window)
    assert isinstance(window.trainer.optimizer, torch.optim.SGD)


def test_rapid_spin_box_edits_are_one_undo_step(qtbot, window) -> None:
    state = window.state
    editor = window.optimizer_panel.train_form.editor("epochs")
    first = state.experiment.training["epochs"]
    for _ in range(5):
        editor.stepUp()
    assert state.experiment.training["epochs"] > first
    assert state.undo_stack.count() == 1
    window.actionUndo.trigger()
    assert state.experiment.training["epochs"] == first and editor.value() == first


def test_network_and_other_edits_undo_in_the_order_made(qtbot, window) -> None:
    state = window.state
    layers = state.experiment.model["layers"]
    window.layer_panel.add_layer("relu", 0)
    state.update("optimizer", lr=0.05)
    window.actionUndo.trigger()
    assert state.experiment.optimizer["lr"] != 0.05
    assert len(state.experiment.model["layers"]) == len(layers) + 1
    window.actionUndo.trigger()
    assert state.experiment.model["layers"] == layers
    assert window.layer_panel.table.rowCount() == len(layers) + 2


def test_an_undo_refused_during_a_run_keeps_the_run_and_the_edit(qtbot, window, dialogs) -> None:
    from PySide6.QtWidgets import QMessageBox

    state = window.state
    state.update("training", epochs=1000, batch_size=64)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step > 2, timeout=10_000)
    dialogs.answer = QMessageBox.StandardButton.No
    state.undo_stack.undo()  # the action is disabled while running; the stack itself still asks
    assert window.controller.running and state.experiment.training["batch_size"] == 64
    assert window.optimizer_panel.train_form.editor("batch_size").value() == 64
    window.actionStop.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)


def test_undoing_every_edit_clears_the_modified_mark_and_saving_moves_it(qtbot, window) -> None:
    state = window.state
    assert not state.modified
    state.update("optimizer", lr=0.05)
    state.update("training", batch_size=16)
    assert state.modified and window.isWindowModified()
    window.actionUndo.trigger()
    assert state.modified
    window.actionUndo.trigger()
    assert not state.modified and not window.isWindowModified()  # back to the experiment as opened
    window.actionRedo.trigger()
    state.mark_saved()  # as Save does
    assert not state.modified
    window.actionUndo.trigger()
    assert state.modified  # now it differs from what was saved
