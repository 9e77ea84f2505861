"""The editing panels: they build from the default experiment, edit it only through ExperimentState,
show bad values inline, respect the edit guard and keep the network edits undoable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from losslab.core.data import CSV_KIND, DATASETS
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.layers import LAYERS
from losslab.core.losses import LOSSES, check_pairing
from losslab.core.optim import OPTIMIZERS, SCHEDULES
from losslab.core.tasks import MULTICLASS, REGRESSION
from losslab.gui.panels.dataset import DatasetPanel
from losslab.gui.panels.layers import LayerPanel
from losslab.gui.panels.loss import LossPanel
from losslab.gui.panels.optimizer import OptimizerPanel
from losslab.gui.param_form import FloatSpinBox, IntSpinBox, ParamForm
from losslab.gui.state import ExperimentState

PANELS = (DatasetPanel, LayerPanel, LossPanel, OptimizerPanel)
GUI_DIR = Path(__file__).resolve().parents[2] / "losslab" / "gui"


@pytest.fixture
def state() -> ExperimentState:
    return ExperimentState()


def _show(qtbot: Any, widget: QWidget) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(320, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _type(qtbot: Any, editor: QWidget, text: str) -> None:
    """Replace the editor's text the way a person does: select all, type, press Enter."""
    editor.setFocus()
    line = editor if isinstance(editor, QLineEdit) else editor.lineEdit()  # type: ignore[attr-defined]
    line.selectAll()
    if text:
        qtbot.keyClicks(editor, text)
    else:
        qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def _refuse_all(state: ExperimentState) -> list[str]:
    asked: list[str] = []

    def guard(section: str) -> bool:
        asked.append(section)
        return False

    state.edit_guard = guard
    return asked


def _activate(combo: QComboBox, data: Any) -> None:
    """Pick the entry holding ``data`` as a click in the popup does (setCurrentIndex + activated)."""
    index = combo.findData(data, Qt.ItemDataRole.UserRole)
    assert index >= 0, data
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


# -- all panels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("panel_type", PANELS, ids=lambda t: t.__name__)
def test_each_panel_builds_from_the_default_state_and_fits_a_narrow_dock(qtbot, state, panel_type):
    panel = _show(qtbot, panel_type(state))
    assert panel.minimumSizeHint().width() <= 320
    assert state.experiment.to_dict() == Experiment.default().to_dict()  # building edits nothing
    assert not state.modified


@pytest.mark.parametrize("panel_type", PANELS, ids=lambda t: t.__name__)
def test_panels_resync_after_a_new_experiment_is_loaded(qtbot, state, panel_type):
    panel = _show(qtbot, panel_type(state))
    doc = Experiment.default().to_dict()
    doc["dataset"] = {"kind": "house_prices", "noise": 2.0}
    doc["loss"] = {"id": "huber", "params": {"delta": 0.5}}
    doc["optimizer"]["lr"] = 0.002
    doc["model"]["layers"] = [{"type": "linear", "units": 8}]
    state.replace_experiment(Experiment.from_dict(doc))
    if isinstance(panel, DatasetPanel):
        assert panel.kind_combo.currentData() == "house_prices"
        assert panel.form.value("noise") == 2.0
    elif isinstance(panel, LayerPanel):
        assert panel.table.rowCount() == 3  # input, one hidden, output
    elif isinstance(panel, LossPanel):
        assert panel.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == "huber"
        assert panel.form.value("delta") == 0.5
    else:
        assert panel.common_form.value("lr") == 0.002


def test_panel_code_lists_registries_instead_of_naming_their_members():
    ids = set(DATASETS) | set(LOSSES) | set(LAYERS) | set(OPTIMIZERS) | set(SCHEDULES)
    sources = [
        GUI_DIR / "param_form.py",
        GUI_DIR / "layer_commands.py",
        *sorted((GUI_DIR / "panels").glob("*.py")),
    ]
    for path in sources:
        literals = set(re.findall(r"""["']([a-z0-9_]+)["']""", path.read_text(encoding="utf-8")))
        assert not literals & ids, f"{path.name} hard-codes registry members {sorted(literals & ids)}"


# -- dataset panel ---------------------------------------------------------------------------------


def test_dataset_combo_groups_generators_under_task_headers(qtbot, state):
    panel = _show(qtbot, DatasetPanel(state))
    combo = panel.kind_combo
    headers = [combo.itemText(i) for i in range(combo.count()) if combo.is_header(i)]
    assert headers[:3] == ["Regression", "Binary classification", "Multi-class classification"]
    entries = {
        combo.itemData(i, Qt.ItemDataRole.UserRole) for i in range(combo.count()) if not combo.is_header(i)
    }
    assert entries == set(DATASETS)


def test_choosing_a_dataset_with_the_keyboard_changes_the_state(qtbot, state):
    panel = _show(qtbot, DatasetPanel(state))
    combo = panel.kind_combo
    following = combo.itemData(combo.currentIndex() + 1, Qt.ItemDataRole.UserRole)
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)
    assert state.experiment.dataset["kind"] == following
    assert state.experiment.dataset["n_samples"] == 1000  # common settings carry over
    assert panel.description.text() == DATASETS[following].description
    assert set(panel.form.names()) >= {p.name for p in DATASETS[following].params}


def test_switching_to_a_regression_dataset_switches_the_loss(qtbot, state):
    panel = _show(qtbot, DatasetPanel(state))
    loss_panel = _show(qtbot, LossPanel(state))
    notices: list[str] = []
    panel.notice.connect(notices.append)
    assert state.experiment.dataset["kind"] == "moons"
    _activate(panel.kind_combo, "house_prices")
    assert state.experiment.dataset["kind"] == "house_prices"
    assert state.task == REGRESSION
    assert REGRESSION in LOSSES[state.experiment.loss["id"]].tasks
    assert notices and LOSSES[state.experiment.loss["id"]].name in notices[0]
    assert loss_panel.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == state.experiment.loss["id"]


def test_switching_between_datasets_of_one_task_keeps_the_loss(qtbot, state):
    panel = _show(qtbot, DatasetPanel(state))
    state.update("loss", id="hinge", params={})
    _activate(panel.kind_combo, "circles")
    assert state.experiment.loss["id"] == "hinge"


def test_dataset_parameter_edit_regenerates_the_data(qtbot, state):
    panel = _show(qtbot, DatasetPanel(state))
    with qtbot.waitSignal(state.datasetChanged):
        _type(qtbot, panel.form.editor("label_noise"), "0.1")
    assert state.experiment.dataset["label_noise"] == 0.1
    assert state.dataset.outliers_train.any()
    assert "flipped labels" in panel.caption.text()


def test_out_of_range_dataset_value_is_shown_inline_and_not_applied(qtbot, state):
    panel = _show(qtbot, DatasetPanel(state))
    before = state.experiment.dataset
    _type(qtbot, panel.form.editor("noise"), "7")
    assert "at most" in panel.form.error("noise")
    assert state.experiment.dataset == before
    _type(qtbot, panel.form.editor("noise"), "0.3")  # the next valid edit clears the message
    assert panel.form.error("noise") == ""
    assert state.experiment.dataset["noise"] == 0.3


def test_refused_dataset_edit_leaves_state_and_widgets_unchanged(qtbot, state):
    panel = _show(qtbot, DatasetPanel(state))
    asked = _refuse_all(state)
    before = state.experiment.to_dict()
    _type(qtbot, panel.form.editor("noise"), "0.4")
    _activate(panel.kind_combo, "house_prices")
    assert asked == ["dataset", "dataset"]
    assert state.experiment.to_dict() == before
    assert panel.form.value("noise") == before["dataset"]["noise"]
    assert panel.form.editor("noise").value() == before["dataset"]["noise"]
    assert panel.kind_combo.currentData() == "moons"


def test_load_csv_infers_the_task_and_switches_the_loss(qtbot, state, tmp_path, monkeypatch):
    path = tmp_path / "houses.csv"
    rows = ["area,rooms,price"] + [f"{50 + i},{1 + i % 4},{100 + 3.5 * i}" for i in range(30)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    panel = _show(qtbot, DatasetPanel(state))
    monkeypatch.setattr(
        "losslab.gui.panels.dataset.QFileDialog.getOpenFileName", lambda *a, **k: (str(path), "")
    )
    qtbot.mouseClick(panel.csv_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(panel.wizard.import_button.isEnabled)  # the import wizard read the whole file
    panel.wizard.import_button.click()
    assert state.experiment.dataset["kind"] == CSV_KIND
    assert state.task == REGRESSION
    assert REGRESSION in LOSSES[state.experiment.loss["id"]].tasks
    assert panel.csv_box.isVisible()
    assert "Regression" in panel.csv_info.text() and "price" in panel.csv_info.text()
    columns = [panel.target_combo.itemText(i) for i in range(panel.target_combo.count())]
    assert columns == ["area", "rooms", "price"]
    # Predicting the number of rooms instead: whole numbers with few values -> classes.
    _activate(panel.target_combo, "rooms")
    assert state.experiment.dataset["target_column"] == "rooms"
    assert state.task == MULTICLASS
    assert MULTICLASS in LOSSES[state.experiment.loss["id"]].tasks
    assert [panel.target_combo.itemText(i) for i in range(panel.target_combo.count())] == columns
    assert panel.target_combo.currentText() == "rooms"
    _activate(panel.task_combo, REGRESSION)  # or say it is a number after all
    assert state.task == REGRESSION
    assert REGRESSION in LOSSES[state.experiment.loss["id"]].tasks


def test_bad_csv_shows_the_reason_inline_and_keeps_the_data(qtbot, state, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\noops,3\n" + "4,5\n" * 12, encoding="utf-8")
    panel = _show(qtbot, DatasetPanel(state))
    before = state.experiment.to_dict()
    assert not panel.load_csv(str(path))
    assert "line 3" in panel.error.message() and "oops" in panel.error.message()
    assert state.experiment.to_dict() == before


# -- loss panel ------------------------------------------------------------------------------------


def test_losses_are_grouped_by_task(qtbot, state):
    panel = _show(qtbot, LossPanel(state))
    groups = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert groups[:3] == ["Regression", "Binary classification", "Multi-class classification"]
    listed = {item.data(0, Qt.ItemDataRole.UserRole) for spec in LOSSES for item in panel.loss_items(spec)}
    assert listed == set(LOSSES)


def test_a_loss_that_does_not_fit_is_disabled_with_the_reason_and_cannot_be_chosen(qtbot, state):
    DatasetPanel(state).set_kind("house_prices")
    panel = _show(qtbot, LossPanel(state))
    item = panel.loss_item("cross_entropy")
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    with pytest.raises(LossLabError) as why:
        check_pairing("cross_entropy", REGRESSION, "House prices")
    assert item.toolTip(0) and item.toolTip(0) in str(why.value)
    assert "regression" in item.toolTip(0)
    before = state.experiment.loss
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert state.experiment.loss == before
    assert not panel.select_loss("cross_entropy")
    panel.tree.setCurrentItem(item)  # even programmatically the panel refuses it
    assert state.experiment.loss == before
    assert panel.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == before["id"]
    fitting = panel.loss_item("huber")
    assert fitting.flags() & Qt.ItemFlag.ItemIsEnabled


def test_clicking_a_fitting_loss_selects_it_and_shows_its_formula(qtbot, state):
    panel = _show(qtbot, LossPanel(state))
    item = panel.loss_item("hinge")
    panel.tree.scrollToItem(item)
    qtbot.mouseClick(
        panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=panel.tree.visualItemRect(item).center()
    )
    assert state.experiment.loss == {"id": "hinge", "params": {"margin": 1.0}}
    assert panel.formula.textFormat() == Qt.TextFormat.RichText
    assert panel.formula.text() == LOSSES["hinge"].formula
    assert "<i>" in panel.formula.text()
    assert panel.form.names() == [p.name for p in LOSSES["hinge"].params]
    assert panel.convex_badge.text() == "convex"
    assert panel.smooth_badge.text() == "kinked"


def test_loss_params_are_edited_and_bad_ones_shown_inline(qtbot, state):
    DatasetPanel(state).set_kind("blobs")
    panel = _show(qtbot, LossPanel(state))
    assert panel.select_loss("cross_entropy")
    _type(qtbot, panel.form.editor("class_weights"), "1, 2.5, 1, 1")
    assert state.experiment.loss["params"]["class_weights"] == [1.0, 2.5, 1.0, 1.0]
    before = state.experiment.loss
    _type(qtbot, panel.form.editor("class_weights"), "1, x")
    assert "not a number" in panel.form.error("class_weights")
    _type(qtbot, panel.form.editor("class_weights"), "1, -2")
    assert "at least 0" in panel.form.error("class_weights")
    assert state.experiment.loss == before
    _type(qtbot, panel.form.editor("class_weights"), "")
    assert state.experiment.loss["params"]["class_weights"] is None
    assert panel.form.error("class_weights") == ""


def test_regularization_uses_log_sliders_with_exact_entries(qtbot, state):
    panel = _show(qtbot, LossPanel(state))
    _type(qtbot, panel.reg_form.editor("l2"), "0.0003")
    assert state.experiment.regularization["l2"] == 0.0003
    slider = panel.reg_form.slider("l2")
    assert slider is not None and slider.value() > 0
    slider.setValue(slider.minimum())  # leftmost is exactly zero
    assert state.experiment.regularization["l2"] == 0.0


def test_refused_loss_change_keeps_the_selection(qtbot, state):
    panel = _show(qtbot, LossPanel(state))
    asked = _refuse_all(state)
    assert not panel.select_loss("hinge")
    assert asked == ["loss"]
    assert state.experiment.loss["id"] == "bce_logits"
    assert panel.tree.currentItem().data(0, Qt.ItemDataRole.UserRole) == "bce_logits"
    _type(qtbot, panel.reg_form.editor("l1"), "0.01")
    assert state.experiment.regularization["l1"] == 0.0
    assert panel.reg_form.editor("l1").value() == 0.0


# -- layer panel -----------------------------------------------------------------------------------


def _layers(state: ExperimentState) -> list[dict[str, Any]]:
    return state.experiment.model["layers"]


def test_layer_table_shows_input_hidden_and_output_rows(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    n = len(_layers(state))
    assert panel.table.rowCount() == n + 2
    assert panel.table.item(0, 0).text() == "Input"
    assert panel.table.item(0, 2).text() == str(state.dataset.n_features)
    assert panel.table.item(n + 1, 0).text() == "Output"
    # 2->16 (48) + 16->16 (272) + output 16->1 (17)
    assert [panel.table.item(r, 3).text() for r in range(1, n + 2)] == ["48", "0", "272", "0", "17"]
    assert "337" in panel.total_label.text()


def test_output_row_follows_the_loss_activation(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    state.update("loss", id="bce", params={})
    last = panel.table.rowCount() - 1
    assert LOSSES["bce"].output_activation in panel.table.item(last, 1).text()


def test_layer_edits_undo_and_redo_exactly(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    original = state.experiment.model
    snapshots = [original]

    panel.select_layer(1)
    action = next(a for a in panel.add_menu.actions() if a.data() == "dropout")
    action.trigger()  # add after the selection
    assert [x["type"] for x in _layers(state)][:3] == ["linear", "tanh", "dropout"]
    assert panel.selected_layer() == 2
    snapshots.append(state.experiment.model)

    qtbot.mouseClick(panel.tool_buttons["up"], Qt.MouseButton.LeftButton)
    assert _layers(state)[1]["type"] == "dropout"
    snapshots.append(state.experiment.model)

    panel.select_layer(0)
    _type(qtbot, panel.form.editor("units"), "24")
    _type(qtbot, panel.form.editor("units"), "32")  # same field again: merges into one step
    assert _layers(state)[0]["units"] == 32
    snapshots.append(state.experiment.model)

    qtbot.mouseClick(panel.tool_buttons["duplicate"], Qt.MouseButton.LeftButton)
    assert _layers(state)[1] == {"type": "linear", "units": 32, "bias": True}
    snapshots.append(state.experiment.model)

    panel.select_layer(3)
    qtbot.mouseClick(panel.tool_buttons["remove"], Qt.MouseButton.LeftButton)
    snapshots.append(state.experiment.model)

    _activate(panel.init_combo, "xavier")
    assert state.experiment.model["init"] == "xavier"
    snapshots.append(state.experiment.model)

    stack = state.undo_stack
    assert stack.count() == len(snapshots) - 1
    for expected in reversed(snapshots[:-1]):
        stack.undo()
        assert state.experiment.model == expected
        assert panel.table.rowCount() == len(expected["layers"]) + 2
    assert state.experiment.model == original
    for expected in snapshots[1:]:
        stack.redo()
        assert state.experiment.model == expected
        assert panel.init_combo.currentData() == expected["init"]
    assert [panel.table.item(r + 1, 0).text() for r in range(len(_layers(state)))] == [
        LAYERS[x["type"]].name for x in _layers(state)
    ]


def test_changing_a_layer_type_keeps_shared_settings(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    panel.select_layer(1)
    _activate(panel.type_combo, "relu")
    assert _layers(state)[1] == {"type": "relu"}
    state.undo_stack.undo()
    assert _layers(state)[1] == {"type": "tanh"}


def test_typed_zero_units_is_shown_inline_and_not_applied(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    panel.select_layer(0)
    before = state.experiment.model
    _type(qtbot, panel.form.editor("units"), "0")
    assert "at least 1" in panel.form.error("units")
    assert state.experiment.model == before
    assert state.undo_stack.count() == 0
    assert panel.form.editor("units").value() == before["layers"][0]["units"]


def test_invalid_layer_edit_flags_the_row_with_the_reason(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    panel.select_layer(2)
    before = state.experiment.model
    assert not panel.set_layer_param(2, "units", 0)
    assert state.experiment.model == before and state.undo_stack.count() == 0
    assert "at least 1" in panel.row_error(2)
    item = panel.table.item(3, 0)
    assert "at least 1" in item.toolTip()
    assert item.background().color().red() > item.background().color().green()
    assert "at least 1" in panel.form.error("units")
    assert panel.set_layer_param(2, "units", 8)  # a valid edit clears the flag
    assert panel.row_error(2) == ""


def test_refused_layer_edits_leave_no_undo_entry(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    panel.select_layer(0)
    asked = _refuse_all(state)
    before = state.experiment.model
    assert not panel.add_layer("relu")
    _type(qtbot, panel.form.editor("units"), "20")
    assert asked == ["model", "model"]
    assert state.experiment.model == before
    assert state.undo_stack.count() == 0
    assert panel.table.rowCount() == len(before["layers"]) + 2
    assert panel.form.editor("units").value() == before["layers"][0]["units"]


def test_undo_refused_by_the_guard_keeps_state_and_stack_consistent(qtbot, state):
    panel = _show(qtbot, LayerPanel(state))
    panel.add_layer("relu", 0)
    after = state.experiment.model
    _refuse_all(state)
    state.undo_stack.undo()
    assert state.experiment.model == after
    assert state.undo_stack.count() == 0  # the entry that could not be undone is dropped
    assert panel.table.item(1, 0).text() == LAYERS["relu"].name


# -- optimizer panel -------------------------------------------------------------------------------


def test_learning_rate_typed_exactly_lands_in_state_without_asking_the_guard(qtbot, state):
    panel = _show(qtbot, OptimizerPanel(state))
    asked = _refuse_all(state)  # a run in progress: structural edits would be refused
    _type(qtbot, panel.common_form.editor("lr"), "0.00037")
    assert state.experiment.optimizer["lr"] == 0.00037
    _type(qtbot, panel.common_form.editor("lr"), "1e-5")
    assert state.experiment.optimizer["lr"] == 1e-5
    assert panel.common_form.editor("lr").text() == "1e-5"
    assert asked == []


def test_learning_rate_slider_and_entry_stay_in_sync(qtbot, state):
    panel = _show(qtbot, OptimizerPanel(state))
    slider = panel.common_form.slider("lr")
    assert slider is not None
    slider.setValue(slider.value() + 20)  # one decade up
    assert state.experiment.optimizer["lr"] == pytest.approx(0.1)
    assert panel.common_form.editor("lr").value() == state.experiment.optimizer["lr"]
    state.update("optimizer", lr=0.001)
    assert slider.value() == slider.to_position(0.001)


def test_optimizer_and_schedule_choices_rebuild_their_forms(qtbot, state):
    panel = _show(qtbot, OptimizerPanel(state))
    _activate(panel.opt_combo, "sgd")
    assert state.experiment.optimizer["id"] == "sgd"
    assert panel.opt_form.names() == [p.name for p in OPTIMIZERS["sgd"].params]
    _type(qtbot, panel.opt_form.editor("momentum"), "0.9")
    assert state.experiment.optimizer["params"]["momentum"] == 0.9
    _activate(panel.sched_combo, "cosine")
    assert state.experiment.optimizer["schedule"]["id"] == "cosine"
    _type(qtbot, panel.sched_form.editor("warmup_epochs"), "3")
    assert state.experiment.optimizer["schedule"]["warmup_epochs"] == 3
    _type(qtbot, panel.sched_form.editor("min_factor"), "0.1")
    assert state.experiment.optimizer["schedule"]["params"] == {"min_factor": 0.1}


def test_full_batch_checkbox_sets_batch_size_zero_and_back(qtbot, state):
    panel = _show(qtbot, OptimizerPanel(state))
    box = panel.full_batch
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(4, box.height() // 2))
    assert state.experiment.training["batch_size"] == 0
    assert not panel.train_form.editor("batch_size").isEnabled()
    assert "1 step per epoch" in panel.steps_hint.text()
    panel.full_batch.setChecked(False)
    assert state.experiment.training["batch_size"] == 32
    _type(qtbot, panel.train_form.editor("batch_size"), "0")  # typing 0 ticks the box too
    assert panel.full_batch.isChecked()


# -- the form itself -------------------------------------------------------------------------------


def test_param_form_set_values_does_not_emit(qtbot):
    from losslab.core.experiment import OPTIMIZER_COMMON, TRAINING_PARAMS

    form = ParamForm(OPTIMIZER_COMMON + TRAINING_PARAMS, {})
    qtbot.addWidget(form)
    seen: list[tuple[str, Any]] = []
    form.valueChanged.connect(lambda n, v: seen.append((n, v)))
    form.set_values({"lr": 0.5, "epochs": 7, "device": "cpu", "unknown": 1})
    assert seen == []
    assert form.value("lr") == 0.5 and form.editor("epochs").value() == 7
    assert form.editor("device").currentData() == "cpu"
    assert isinstance(form.editor("lr"), FloatSpinBox) and isinstance(form.editor("epochs"), IntSpinBox)
    assert form.label("lr").buddy() is form.editor("lr")
    assert form.editor("lr").toolTip() == OPTIMIZER_COMMON[0].help


def test_float_entry_accepts_scientific_notation_and_a_decimal_comma(qtbot):
    from losslab.core.experiment import OPTIMIZER_COMMON

    form = _show(qtbot, ParamForm(OPTIMIZER_COMMON, {"lr": 0.01, "grad_clip": 0.0}))
    seen: list[tuple[str, Any]] = []
    form.valueChanged.connect(lambda n, v: seen.append((n, v)))
    _type(qtbot, form.editor("lr"), "2.5e-4")
    _type(qtbot, form.editor("grad_clip"), "0,5")
    assert seen == [("lr", 0.00025), ("grad_clip", 0.5)]


def test_float_spin_boxes_keep_small_values_exact(qtbot):
    from losslab.core.experiment import OPTIMIZER_COMMON, REGULARIZATION_PARAMS

    form = ParamForm(OPTIMIZER_COMMON + REGULARIZATION_PARAMS, {})
    qtbot.addWidget(form)
    for name, value in (("lr", 1e-5), ("lr", 3.7e-7), ("l1", 2e-6), ("grad_clip", 0.005)):
        form.set_value(name, value)
        assert form.editor(name).value() == value, name
