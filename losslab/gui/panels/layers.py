"""The network panel: the hidden layers as a table with shapes and parameter counts, edited undoably.

Rows: the input (its width comes from the dataset), each hidden layer, and the output layer LossLab
adds (its width from the task, its activation from the loss). Every edit is a command on
``state.undo_stack`` (see losslab.gui.layer_commands), so Edit > Undo restores the network exactly.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.layers import (
    INITS,
    LAYERS,
    LayerSpec,
    describe_model,
    network_io,
    validate_layer,
)
from losslab.core.losses import resolve_loss
from losslab.core.params import Param
from losslab.gui.layer_commands import InitCommand, ModelCommand, SetLayersCommand
from losslab.gui.panels.layer_table import LayerTable, choice_labels, layer_field
from losslab.gui.param_form import error_message
from losslab.gui.state import ExperimentState
from losslab.gui.widgets import (
    ErrorLabel,
    FormSlot,
    add_labelled_row,
    hint_label,
    panel_content,
    registry_combo,
    wrap_panel,
)


class LayerPanel(QWidget):
    """Edits ``state.experiment.model`` through undo commands.

    ``selectionChanged(int)``: the selected hidden layer's index, or -1 (input, output or nothing).
    """

    selectionChanged = Signal(int)

    def __init__(self, state: ExperimentState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._selected: int | None = None
        self._row_errors: dict[int, str] = {}
        self._refreshing = False

        content, column = panel_content()

        net_box = QGroupBox("Network", content)
        net_layout = QVBoxLayout(net_box)
        self.table = LayerTable(net_box)
        net_layout.addWidget(self.table)

        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        style = self.style()
        self.add_button = QToolButton(net_box)
        self.add_button.setText("Add")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_button.setToolTip("Add a layer after the selected one")
        self.add_menu = self._make_add_menu(self.add_button)
        self.add_button.setMenu(self.add_menu)
        icon = style.standardIcon
        self.remove_action = self._action(
            "Remove",
            "Remove the selected layer",
            QKeySequence.StandardKey.Delete,
            icon(QStyle.StandardPixmap.SP_DialogDiscardButton),
        )
        self.up_action = self._action(
            "Move up",
            "Move the selected layer up",
            QKeySequence("Ctrl+Up"),
            icon(QStyle.StandardPixmap.SP_ArrowUp),
        )
        self.down_action = self._action(
            "Move down",
            "Move the selected layer down",
            QKeySequence("Ctrl+Down"),
            icon(QStyle.StandardPixmap.SP_ArrowDown),
        )
        self.duplicate_action = self._action(
            "Duplicate", "Insert a copy of the selected layer below it", QKeySequence("Ctrl+D"), None
        )
        self.remove_action.triggered.connect(self.remove_layer)
        self.up_action.triggered.connect(self.move_up)
        self.down_action.triggered.connect(self.move_down)
        self.duplicate_action.triggered.connect(self.duplicate_layer)
        buttons.addWidget(self.add_button)
        self.tool_buttons: dict[str, QToolButton] = {}
        for key, action, text_only in (
            ("remove", self.remove_action, False),
            ("up", self.up_action, False),
            ("down", self.down_action, False),
            ("duplicate", self.duplicate_action, True),
        ):
            button = QToolButton(net_box)
            button.setDefaultAction(action)
            button.setToolButtonStyle(
                Qt.ToolButtonStyle.ToolButtonTextOnly if text_only else Qt.ToolButtonStyle.ToolButtonIconOnly
            )
            buttons.addWidget(button)
            self.tool_buttons[key] = button
        buttons.addStretch(1)
        net_layout.addLayout(buttons)
        self.total_label = QLabel(net_box)
        self.total_label.setWordWrap(True)
        net_layout.addWidget(self.total_label)
        self.error = ErrorLabel(net_box)
        net_layout.addWidget(self.error)
        column.addWidget(net_box)

        self.layer_box = QGroupBox("Selected layer", content)
        layer_layout = QVBoxLayout(self.layer_box)
        type_form = QFormLayout()
        type_form.setContentsMargins(0, 0, 0, 0)
        self.type_combo = registry_combo(
            ((spec.name, spec.id, spec.description) for spec in self._ordered_specs()), self.layer_box
        )
        self.type_label = add_labelled_row(type_form, "&Type:", self.type_combo, self.layer_box)
        layer_layout.addLayout(type_form)
        self.layer_hint = hint_label("", self.layer_box)
        layer_layout.addWidget(self.layer_hint)
        self.form_slot = FormSlot(layer_layout, self.layer_box, self._on_param_changed)
        self.form = self.form_slot.form
        column.addWidget(self.layer_box)

        init_box = QGroupBox("Initial weights", content)
        init_layout = QFormLayout(init_box)
        init_layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.init_combo = QComboBox(init_box)
        for key, description in INITS.items():
            self.init_combo.addItem(description, key)
        self.init_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.init_combo.setMinimumContentsLength(10)
        init_label = add_labelled_row(init_layout, "&Init:", self.init_combo, init_box)
        init_label.setToolTip("How the weights are drawn before training starts")
        column.addWidget(init_box)

        wrap_panel(self, content, column)

        self.table.itemSelectionChanged.connect(self._on_table_selection)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.type_combo.activated.connect(self._on_type_activated)
        self.init_combo.activated.connect(self._on_init_activated)
        state.changed.connect(self._on_state_changed)
        self.refresh()

    # -- building ---------------------------------------------------------------------------
    @staticmethod
    def _ordered_specs() -> list[LayerSpec]:
        """Registry order, with the structural layers before the activations."""
        specs = list(LAYERS.values())
        return [s for s in specs if not s.is_activation] + [s for s in specs if s.is_activation]

    def _make_add_menu(self, parent: QWidget) -> QMenu:
        menu = QMenu("Add layer", parent)
        specs = list(LAYERS.values())
        for group in ([s for s in specs if not s.is_activation], [s for s in specs if s.is_activation]):
            if menu.actions():
                menu.addSection("Activations")
            for spec in group:
                action = menu.addAction(spec.name)
                action.setData(spec.id)
                action.setToolTip(spec.description)
        menu.setToolTipsVisible(True)
        menu.triggered.connect(self._on_add_triggered)
        return menu

    def _action(self, text: str, tip: str, shortcut: Any, icon: Any) -> QAction:
        action = QAction(text, self)
        keys = QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip} ({keys})")
        action.setShortcut(shortcut)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if icon is not None:
            action.setIcon(icon)
        self.table.addAction(action)
        return action

    # -- reading ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.state.experiment.model["layers"])

    def selected_layer(self) -> int | None:
        """The selected hidden layer's index, or None."""
        return self._selected

    def row_error(self, index: int) -> str:
        """The reason hidden layer ``index`` is flagged, or ''."""
        return self._row_errors.get(index, "")

    def _shape(self) -> tuple[int, int, str | None]:
        dataset = self.state.dataset
        try:
            spec = resolve_loss(self.state.experiment.loss, dataset.task)  # custom losses too
        except LossLabError:
            spec = None
        return network_io(
            dataset.task, dataset.n_features, dataset.n_classes, spec.output_activation if spec else None
        )

    # -- state -> widgets -------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in ("model", "dataset", "loss", "all"):
            if section in ("model", "all"):
                self._row_errors.clear()
                self.error.clear_message()
                self.form.clear_error()
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the table from the state (keeps the selection where it can)."""
        self._refreshing = True
        try:
            self._fill_table()
        finally:
            self._refreshing = False
        self._sync_editor()
        self._update_actions()
        blocked = self.init_combo.blockSignals(True)
        self.init_combo.setCurrentIndex(max(self.init_combo.findData(self.state.experiment.model["init"]), 0))
        self.init_combo.blockSignals(blocked)

    def _fill_table(self) -> None:
        layers = self.state.experiment.model["layers"]
        try:
            _, n_out, out_act = self._shape()
            in_shape, per_pixel = self.state.dataset.input_shape, self.state.dataset.masks
        except LossLabError as exc:  # a CSV that cannot be read any more
            n_out, out_act = 1, None
            in_shape, per_pixel = (0,), False
            self.error.show_message(str(exc))
        infos: dict[int, Any] = {}
        try:
            for info in describe_model(layers, in_shape, n_out, out_act, per_pixel):
                infos[info.index] = info
        except LossLabError as exc:
            index, _name = layer_field(exc.field)
            if index is not None:
                self._row_errors[index] = error_message(exc)
            else:
                self.error.show_message(str(exc))

        self.table.show_network(layers, in_shape, n_out, out_act, infos, self._row_errors)
        if len(infos) == len(layers) + 1:
            total = sum(info.n_params for info in infos.values())
            self.total_label.setText(
                f"<b>{total:,}</b> trainable parameters · "
                f"{len(layers)} hidden layer{'s' if len(layers) != 1 else ''}"
            )
        else:
            self.total_label.setText("Parameter count unavailable: fix the flagged layer.")
        if self._selected is not None and self._selected >= len(layers):
            self._selected = len(layers) - 1 if layers else None
        row = self._selected + 1 if self._selected is not None else -1
        blocked = self.table.blockSignals(True)
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.table.clearSelection()
        self.table.blockSignals(blocked)

    def _sync_editor(self) -> None:
        layers = self.state.experiment.model["layers"]
        index = self._selected
        if index is None or index >= len(layers):
            self.layer_box.setTitle("Selected layer")
            self.type_label.hide()
            self.type_combo.hide()
            self._rebuild_form(None)
            row = self.table.currentRow() if self.table.selectionModel().hasSelection() else -1
            if row == 0:
                self.layer_hint.setText("The input: its width is the number of features in the dataset.")
            elif row == len(layers) + 1:
                self.layer_hint.setText(
                    "The output layer LossLab adds: its width follows the task and its activation the loss."
                )
            else:
                self.layer_hint.setText("Select a hidden layer to edit it, or add one.")
            return
        layer = layers[index]
        spec = LAYERS[layer["type"]]
        self.layer_box.setTitle(f"Layer {index + 1}: {spec.name}")
        self.type_label.show()
        self.type_combo.show()
        blocked = self.type_combo.blockSignals(True)
        self.type_combo.setCurrentIndex(self.type_combo.findData(spec.id))
        self.type_combo.blockSignals(blocked)
        self.layer_hint.setText(spec.description)
        self._rebuild_form(spec)
        self.form.set_values(layer)

    def _rebuild_form(self, spec: LayerSpec | None) -> None:
        params: tuple[Param, ...] = spec.params if spec is not None else ()
        labels = choice_labels(spec) if spec is not None else None
        self.form = self.form_slot.show(spec, params, labels)

    def _update_actions(self) -> None:
        n = len(self.state.experiment.model["layers"])
        index = self._selected
        has = index is not None
        self.remove_action.setEnabled(has)
        self.duplicate_action.setEnabled(has)
        self.up_action.setEnabled(has and index > 0)  # type: ignore[operator]
        self.down_action.setEnabled(has and index < n - 1)  # type: ignore[operator]

    # -- selection --------------------------------------------------------------------------
    def select_layer(self, index: int | None) -> None:
        """Select hidden layer ``index`` (None: nothing)."""
        n = len(self.state.experiment.model["layers"])
        self._selected = index if index is not None and 0 <= index < n else None
        blocked = self.table.blockSignals(True)
        if self._selected is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(self._selected + 1)
        self.table.blockSignals(blocked)
        self._sync_editor()
        self._update_actions()
        self.selectionChanged.emit(-1 if self._selected is None else self._selected)

    @Slot()
    def _on_table_selection(self) -> None:
        if self._refreshing:
            return
        rows = {i.row() for i in self.table.selectedIndexes()}
        n = len(self.state.experiment.model["layers"])
        row = min(rows) if rows else -1
        self._selected = row - 1 if 1 <= row <= n else None
        self._sync_editor()
        self._update_actions()
        self.selectionChanged.emit(-1 if self._selected is None else self._selected)

    @Slot(QPoint)
    def _on_context_menu(self, pos: QPoint) -> None:
        row = self.table.rowAt(pos.y())
        if row >= 0:
            self.table.selectRow(row)
        menu = QMenu(self)
        add = menu.addMenu("Add layer")
        for action in self.add_menu.actions():
            add.addAction(action)
        menu.addSeparator()
        for action in (self.duplicate_action, self.up_action, self.down_action, self.remove_action):
            menu.addAction(action)
        menu.exec(self.table.viewport().mapToGlobal(pos))

    @Slot()
    def _on_double_clicked(self) -> None:
        if self._selected is not None and not self.form.is_empty():
            self.form.editor(self.form.names()[0]).setFocus()

    # -- edits (each one an undo command) ---------------------------------------------------
    def _push(self, command: ModelCommand, select: int | None = None) -> bool:
        """Validate, then push ``command``; True when the state now holds its ``after``."""
        model = self.state.experiment.model
        if all(model.get(k) == v for k, v in command.after.items()):
            return True
        try:
            self.state.experiment.replace("model", **command.after)
        except LossLabError as exc:
            self._show_edit_error(exc)
            return False
        after = copy.deepcopy(command.after)
        previous = self._selected
        if select is not None:
            self._selected = select
        self.state.undo_stack.push(command)  # redo() runs now; the guard may refuse
        applied = all(self.state.experiment.model.get(k) == v for k, v in after.items())
        if not applied:
            self._selected = previous
            self.refresh()
        elif self._selected != previous:
            self.selectionChanged.emit(-1 if self._selected is None else self._selected)
        return applied

    def _show_edit_error(self, exc: LossLabError) -> None:
        """Flag the layer a refused edit names (red row + tooltip) and show why under the field."""
        index, name = layer_field(exc.field)
        message = error_message(exc)
        if index is not None:
            self._row_errors[index] = message
        self.refresh()
        if index is None:
            self.error.show_message(str(exc))
        elif not (index == self._selected and name is not None and self.form.show_error(name, message)):
            self.error.show_message(f"Layer {index + 1}: {message}")

    def add_layer(self, type_id: str, index: int | None = None) -> bool:
        """Insert a ``type_id`` layer with default settings at ``index`` (default: after the selection)."""
        layers = self.layers
        if index is None:
            row = self.table.currentRow() if self.table.selectionModel().hasSelection() else -1
            index = self._selected + 1 if self._selected is not None else (0 if row == 0 else len(layers))
        try:
            layer = validate_layer({"type": type_id}, f"model.layers[{index}]")
        except LossLabError as exc:
            self._show_edit_error(exc)
            return False
        after = [*layers[:index], layer, *layers[index:]]
        command = SetLayersCommand(self.state, layers, after, f"Add {LAYERS[type_id].name}")
        return self._push(command, select=index)

    @Slot()
    def remove_layer(self) -> bool:
        index = self._selected
        if index is None:
            return False
        layers = self.layers
        after = layers[:index] + layers[index + 1 :]
        name = LAYERS[layers[index]["type"]].name
        select = min(index, len(after) - 1) if after else None
        return self._push(SetLayersCommand(self.state, layers, after, f"Remove {name}"), select=select)

    def move_layer(self, delta: int) -> bool:
        index = self._selected
        layers = self.layers
        if index is None or not 0 <= index + delta < len(layers):
            return False
        after = copy.deepcopy(layers)
        after[index], after[index + delta] = after[index + delta], after[index]
        name = LAYERS[layers[index]["type"]].name
        direction = "up" if delta < 0 else "down"
        return self._push(
            SetLayersCommand(self.state, layers, after, f"Move {name} {direction}"), select=index + delta
        )

    @Slot()
    def move_up(self) -> bool:
        return self.move_layer(-1)

    @Slot()
    def move_down(self) -> bool:
        return self.move_layer(1)

    @Slot()
    def duplicate_layer(self) -> bool:
        index = self._selected
        if index is None:
            return False
        layers = self.layers
        after = [*layers[: index + 1], copy.deepcopy(layers[index]), *layers[index + 1 :]]
        name = LAYERS[layers[index]["type"]].name
        return self._push(SetLayersCommand(self.state, layers, after, f"Duplicate {name}"), select=index + 1)

    def set_layer_param(self, index: int, name: str, value: Any) -> bool:
        """Set one parameter of hidden layer ``index``; consecutive edits of it merge into one undo step."""
        layers = self.layers
        after = copy.deepcopy(layers)
        after[index][name] = value
        spec = LAYERS[layers[index]["type"]]
        label = next((p.label for p in spec.params if p.name == name), name)
        command = SetLayersCommand(
            self.state, layers, after, f"Set {spec.name} {label.lower()}", merge_key=("param", index, name)
        )
        return self._push(command, select=index)

    def set_layer_type(self, index: int, type_id: str) -> bool:
        """Turn hidden layer ``index`` into a ``type_id`` layer, keeping parameters both types have."""
        layers = self.layers
        old = layers[index]
        if old["type"] == type_id:
            return True
        spec = LAYERS[type_id]
        kept = {p.name: old[p.name] for p in spec.params if p.name in old}
        try:
            layer = validate_layer({"type": type_id, **kept}, f"model.layers[{index}]")
        except LossLabError:
            layer = validate_layer({"type": type_id}, f"model.layers[{index}]")
        after = copy.deepcopy(layers)
        after[index] = layer
        text = f"Change {LAYERS[old['type']].name} to {spec.name}"
        return self._push(SetLayersCommand(self.state, layers, after, text), select=index)

    def set_init(self, init: str) -> bool:
        before = self.state.experiment.model["init"]
        if before == init:
            return True
        return self._push(InitCommand(self.state, before, init, "Change weight initialisation"))

    @Slot(QAction)
    def _on_add_triggered(self, action: QAction) -> None:
        type_id = action.data()
        if type_id in LAYERS:
            self.add_layer(type_id)

    @Slot(str, object)
    def _on_param_changed(self, name: str, value: Any) -> None:
        if self._selected is None:
            return
        self.error.clear_message()
        if not self.set_layer_param(self._selected, name, value):
            self.form.set_values(
                self.state.experiment.model["layers"][self._selected]
                if self._selected < len(self.state.experiment.model["layers"])
                else {}
            )

    @Slot(int)
    def _on_type_activated(self, index: int) -> None:
        if self._selected is not None:
            self.set_layer_type(self._selected, self.type_combo.itemData(index))

    @Slot(int)
    def _on_init_activated(self, index: int) -> None:
        if not self.set_init(self.init_combo.itemData(index)):
            self.refresh()
