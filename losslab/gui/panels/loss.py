"""The loss panel: every registered loss grouped by task, its formula and character, and regularization.

Losses that do not fit the current dataset's task stay visible but disabled, with the reason
(core's ``check_pairing`` message) as their tooltip, so the list itself teaches which loss goes with
which task. The user's own losses (custom_loss_dialog.py) are listed under the tasks they declare,
and the pairing advisor's warnings (core/advisor.py) appear under the list with a Fix button.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from losslab.core.advisor import Advice, advise, apply_fix
from losslab.core.custom_loss import CUSTOM_ID, is_custom, run_limited
from losslab.core.errors import LossLabError
from losslab.core.experiment import REGULARIZATION_PARAMS, Experiment
from losslab.core.losses import LOSSES, LossSpec, check_pairing, resolve_loss
from losslab.core.tasks import TASKS
from losslab.core.trust import trust
from losslab.gui.custom_losses import library_for
from losslab.gui.panels.advice import AdviceBox
from losslab.gui.param_form import ParamForm, error_message
from losslab.gui.state import ExperimentState
from losslab.gui.widgets import (
    BAD,
    GOOD,
    INFO,
    ErrorLabel,
    FlowLayout,
    FormSlot,
    badge,
    hint_label,
    math_font,
    panel_content,
    set_badge,
    try_update,
    wrap_panel,
)

LOSS_ROLE = Qt.ItemDataRole.UserRole
TASK_ROLE = Qt.ItemDataRole.UserRole + 1
CUSTOM_ROLE = Qt.ItemDataRole.UserRole + 2  # a custom loss's name
ADVICE_DELAY_MS = 120  # edits come in bursts; look at the set-up once they settle
ADVICE_SECONDS = 3.0  # the most the advisor may spend running a custom loss
TREE_HEIGHT = 230
# The trait badges' tooltips, for a loss that has the trait and for one that has not.
CONVEX_TIP = "Convex in the prediction: one bowl, no bad local minima from the loss itself"
NON_CONVEX_TIP = "Not convex in the prediction"
ROBUST_TIP = "A far-off sample cannot dominate the loss"
SENSITIVE_TIP = "Samples far from the prediction pull hard on training"
SMOOTH_TIP = "Differentiable everywhere"
KINKED_TIP = "Not differentiable everywhere: the gradient jumps at a kink"
OUTPUT_TEXT = {
    "raw": "raw scores (no activation)",
    "logits": "logits (raw scores; the loss applies the sigmoid/softmax itself)",
    "probabilities": "probabilities",
}


def pairing_problem(loss_id: str | LossSpec, task: str, dataset_name: str | None = None) -> str | None:
    """Why ``loss_id`` does not fit ``task`` (core's message), or None when it fits."""
    try:
        check_pairing(loss_id, task, dataset_name)
    except LossLabError as exc:
        return error_message(exc)
    return None


class LossPanel(QWidget):
    """Edits ``state.experiment.loss`` and ``state.experiment.regularization``."""

    def __init__(self, state: ExperimentState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state

        content, column = panel_content()

        pick_box = QGroupBox("Loss function", content)
        pick_layout = QVBoxLayout(pick_box)
        self.tree = QTreeWidget(pick_box)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setRootIsDecorated(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setUniformRowHeights(True)
        self.tree.setFixedHeight(TREE_HEIGHT)
        self.tree.setAccessibleName("Loss functions by task")
        pick_layout.addWidget(self.tree)
        self.fit_hint = hint_label("", pick_box)
        pick_layout.addWidget(self.fit_hint)
        custom_row = QHBoxLayout()
        self.new_custom_button = QPushButton("New custom loss…", pick_box)
        self.new_custom_button.setObjectName("newCustomLoss")
        self.new_custom_button.setToolTip("Write your own loss in Python: def loss(pred, target): …")
        self.edit_custom_button = QPushButton("Edit code…", pick_box)
        self.edit_custom_button.setObjectName("editCustomLoss")
        self.edit_custom_button.setToolTip("Change the code of the custom loss in use")
        custom_row.addWidget(self.new_custom_button)
        custom_row.addWidget(self.edit_custom_button)
        custom_row.addStretch(1)
        pick_layout.addLayout(custom_row)
        self.error = ErrorLabel(pick_box)
        pick_layout.addWidget(self.error)
        column.addWidget(pick_box)

        self.advice = AdviceBox(content)
        column.addWidget(self.advice)

        self.details = QGroupBox("", content)
        details_layout = QVBoxLayout(self.details)
        self.formula = QLabel(self.details)
        self.formula.setTextFormat(Qt.TextFormat.RichText)
        self.formula.setWordWrap(True)
        self.formula.setFont(math_font(self.font()))
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formula.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.formula.setContentsMargins(4, 4, 4, 6)
        self.formula.setAccessibleName("Formula")
        details_layout.addWidget(self.formula)
        badge_row = QWidget(self.details)
        badges = FlowLayout(badge_row)
        self.convex_badge = badge("", GOOD, parent=badge_row)
        self.robust_badge = badge("", GOOD, parent=badge_row)
        self.smooth_badge = badge("", GOOD, parent=badge_row)
        for b in (self.convex_badge, self.robust_badge, self.smooth_badge):
            badges.addWidget(b)
        details_layout.addWidget(badge_row)
        facts = QFormLayout()
        facts.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        facts.setContentsMargins(0, 4, 0, 0)
        self.fits_label = self._fact_label()
        self.target_label = self._fact_label()
        self.output_label = self._fact_label()
        facts.addRow("Fits:", self.fits_label)
        facts.addRow("Targets:", self.target_label)
        facts.addRow("Model output:", self.output_label)
        details_layout.addLayout(facts)
        self.notes = hint_label("", self.details)
        details_layout.addWidget(self.notes)
        self.params_title = QLabel("<b>Parameters</b>", self.details)
        details_layout.addWidget(self.params_title)
        self.form_slot = FormSlot(details_layout, self.details, self._on_param_changed)
        self.form = self.form_slot.form
        self.params_error = ErrorLabel(self.details)
        details_layout.addWidget(self.params_error)
        column.addWidget(self.details)

        reg_box = QGroupBox("Regularization", content)
        reg_layout = QVBoxLayout(reg_box)
        self.reg_form = ParamForm(REGULARIZATION_PARAMS, state.experiment.regularization, reg_box)
        reg_layout.addWidget(self.reg_form)
        self.reg_error = ErrorLabel(reg_box)
        reg_layout.addWidget(self.reg_error)
        column.addWidget(reg_box)

        wrap_panel(self, content, column)

        self.library = library_for(state)
        self._fill_tree()
        self.tree.currentItemChanged.connect(self._on_current_item_changed)
        self.reg_form.valueChanged.connect(self._on_reg_changed)
        self.new_custom_button.clicked.connect(self.new_custom_loss)
        self.edit_custom_button.clicked.connect(self.edit_custom_loss)
        self.advice.fixRequested.connect(self.apply_advice)
        self.library.changed.connect(self._on_library_changed)
        state.changed.connect(self._on_state_changed)
        self._advice_timer = QTimer(self)
        self._advice_timer.setSingleShot(True)
        self._advice_timer.setInterval(ADVICE_DELAY_MS)
        self._advice_timer.timeout.connect(self.update_advice)
        self._sync()
        self.update_advice()

    def _fact_label(self) -> QLabel:
        label = QLabel(self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        return label

    # -- the tree ---------------------------------------------------------------------------
    def _fill_tree(self) -> None:
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for task, title in TASKS.items():
            specs = [s for s in LOSSES.values() if task in s.tasks]
            if not specs:
                continue
            group = QTreeWidgetItem(self.tree, [title])
            group.setFont(0, bold)
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)  # expandable, not selectable
            group.setData(0, TASK_ROLE, task)
            for spec in specs:
                item = QTreeWidgetItem(group, [spec.name])
                item.setData(0, LOSS_ROLE, spec.id)
                item.setData(0, TASK_ROLE, task)
        self._fill_custom_items()
        self.tree.expandAll()

    def _fill_custom_items(self) -> None:
        """The session's custom losses, under each task they declare, after the built-in ones."""
        italic = QFont(self.tree.font())
        italic.setItalic(True)
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for c in reversed(range(group.childCount())):
                if group.child(c).data(0, LOSS_ROLE) == CUSTOM_ID:
                    group.removeChild(group.child(c))
            task = group.data(0, TASK_ROLE)
            for section in self.library.sections():
                if task in section["tasks"]:
                    item = QTreeWidgetItem(group, [f"{section['name']}  (your code)"])
                    item.setFont(0, italic)
                    item.setData(0, LOSS_ROLE, CUSTOM_ID)
                    item.setData(0, TASK_ROLE, task)
                    item.setData(0, CUSTOM_ROLE, section["name"])

    @Slot()
    def _on_library_changed(self) -> None:
        blocked = self.tree.blockSignals(True)
        self._fill_custom_items()
        self.tree.blockSignals(blocked)
        self._sync()

    def loss_items(self, loss_id: str) -> list[QTreeWidgetItem]:
        """Every tree entry for ``loss_id`` (a loss fitting two tasks is listed under both)."""
        items = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for c in range(group.childCount()):
                if group.child(c).data(0, LOSS_ROLE) == loss_id:
                    items.append(group.child(c))
        return items

    def loss_item(self, loss_id: str, custom_name: str | None = None) -> QTreeWidgetItem | None:
        """The entry for ``loss_id`` under the current task's group, else its first entry."""
        items = self.loss_items(loss_id)
        if loss_id == CUSTOM_ID:
            items = [i for i in items if i.data(0, CUSTOM_ROLE) == custom_name]
        task = self._task()
        return next((i for i in items if i.data(0, TASK_ROLE) == task), items[0] if items else None)

    def _task(self) -> str | None:
        try:
            return self.state.task
        except LossLabError:
            return None

    def _dataset_name(self) -> str | None:
        try:
            return self.state.dataset.name
        except LossLabError:
            return None

    def _update_enabled(self) -> None:
        task = self._task()
        dataset_name = self._dataset_name()
        selectable = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for c in range(group.childCount()):
                item = group.child(c)
                spec = self._item_spec(item)
                if spec is None:
                    continue
                problem = pairing_problem(spec, task, dataset_name) if task else None
                item.setFlags(selectable if problem is None else Qt.ItemFlag.NoItemFlags)
                item.setToolTip(0, problem or self._summary(spec))

    @staticmethod
    def _summary(spec: LossSpec) -> str:
        return spec.notes

    def _item_spec(self, item: QTreeWidgetItem) -> LossSpec | None:
        loss_id = item.data(0, LOSS_ROLE)
        if loss_id != CUSTOM_ID:
            return LOSSES.get(loss_id)
        section = self.library.get(item.data(0, CUSTOM_ROLE))
        return resolve_loss(section, item.data(0, TASK_ROLE)) if section else None

    # -- state -> widgets -------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in ("loss", "dataset", "model", "all"):
            self._advice_timer.start()
        if section in ("loss", "dataset", "regularization", "all"):
            if section == "all":
                self.error.clear_message()
                self.params_error.clear_message()
                self.reg_error.clear_message()
                self.form.clear_error()
                self.reg_form.clear_error()
            self._sync()

    def _sync(self) -> None:
        self._update_enabled()
        loss = self.state.experiment.loss
        spec = resolve_loss(loss, self._task())
        item = self.loss_item(spec.id, loss.get("name"))
        self.edit_custom_button.setEnabled(spec.custom)
        blocked = self.tree.blockSignals(True)
        self.tree.setCurrentItem(item)
        self.tree.blockSignals(blocked)
        if item is not None:
            self.tree.scrollToItem(item, QAbstractItemView.ScrollHint.PositionAtCenter)
        task = self._task()
        self.fit_hint.setText(
            f"Greyed-out losses do not fit {TASKS.get(task, task).lower()}; hover one to see why."
            if task
            else ""
        )
        self._show_spec(spec)
        self._rebuild_form(spec, loss.get("code"))
        self.form.set_values(loss["params"])
        self.reg_form.set_values(self.state.experiment.regularization)

    def _show_spec(self, spec: LossSpec) -> None:
        self.details.setTitle(spec.name)
        self.formula.setText(spec.formula)
        for b in (self.robust_badge, self.smooth_badge):
            b.setVisible(not spec.custom)
        if spec.custom:  # its traits are not claimed: the Loss inspector measures them on its curve
            set_badge(
                self.convex_badge,
                "your code",
                INFO,
                "Convexity and kinks of your loss are measured in the Loss inspector tab",
            )
        else:
            self._show_traits(spec)
        self.fits_label.setText(", ".join(title for task, title in TASKS.items() if task in spec.tasks))
        self.target_label.setText(spec.target_format)
        output = OUTPUT_TEXT.get(spec.output, spec.output)
        if spec.output_activation:
            output += f"; LossLab adds a {spec.output_activation} after the last layer"
        self.output_label.setText(output)
        self.notes.setText(spec.notes)

    def _show_traits(self, spec: LossSpec) -> None:
        traits = (
            (
                self.convex_badge,
                spec.convex,
                ("convex", GOOD, CONVEX_TIP),
                ("non-convex", BAD, NON_CONVEX_TIP),
            ),
            (
                self.robust_badge,
                spec.robust_to_outliers,
                ("robust to outliers", GOOD, ROBUST_TIP),
                ("outlier-sensitive", BAD, SENSITIVE_TIP),
            ),
            (
                self.smooth_badge,
                spec.differentiable,
                ("smooth", INFO, SMOOTH_TIP),
                ("kinked", BAD, KINKED_TIP),
            ),
        )
        for label, has, yes, no in traits:
            text, tone, tip = yes if has else no
            set_badge(label, text, tone, tip)

    def _rebuild_form(self, spec: LossSpec, code: str | None = None) -> None:
        key = spec.id if not spec.custom else f"{spec.id}:{code}"
        if key == self.form_slot.key:
            return
        self.form = self.form_slot.show(key, spec.params)
        self.params_title.setText("<b>Parameters</b>" if spec.params else "<i>No parameters</i>")

    # -- widgets -> state -------------------------------------------------------------------
    @Slot(QTreeWidgetItem, QTreeWidgetItem)
    def _on_current_item_changed(self, current: QTreeWidgetItem | None, _previous: Any) -> None:
        loss_id = current.data(0, LOSS_ROLE) if current is not None else None
        if loss_id is None:  # a task heading
            self._sync()
            return
        if loss_id == CUSTOM_ID:
            self.select_custom(current.data(0, CUSTOM_ROLE))
            return
        self.select_loss(loss_id)

    def select_loss(self, loss_id: str) -> bool:
        """Use ``loss_id`` (default parameters) if it fits the task; True if the state now uses it."""
        if loss_id == self.state.experiment.loss["id"]:
            return True
        return self._use_loss_section({"id": loss_id, "params": {}}, loss_id)

    def select_custom(self, name: str) -> bool:
        """Use the session's custom loss called ``name``."""
        section = self.library.get(name)
        if section is None:
            self._sync()
            return False
        if section == self.state.experiment.loss:
            return True
        return self._use_loss_section(section, resolve_loss(section, self._task()))

    def _use_loss_section(self, section: dict[str, Any], spec: str | LossSpec) -> bool:
        """Replace the whole loss section (a custom loss's keys go when a built-in comes, and back)."""
        task = self._task()
        problem = pairing_problem(spec, task, self._dataset_name()) if task else None
        if problem is not None:
            self.error.show_message(problem)
            self._sync()
            return False
        doc = self.state.experiment.to_dict()
        doc["loss"] = section
        try:
            applied = self.state.set_experiment_sections(Experiment.from_dict(doc), ("loss",))
        except LossLabError as exc:
            self.error.show_message(str(exc))
            applied = False
        else:
            if applied:
                self.error.clear_message()
        if not applied:
            self._sync()
        return applied

    # -- custom losses ----------------------------------------------------------------------
    @Slot()
    def new_custom_loss(self) -> bool:
        return self._edit(None)

    @Slot()
    def edit_custom_loss(self) -> bool:
        loss = self.state.experiment.loss
        return self._edit(loss if is_custom(loss) else None)

    def _edit(self, section: dict[str, Any] | None) -> bool:
        from losslab.gui.custom_loss_dialog import CustomLossDialog

        dialog = CustomLossDialog(self.state, section, self.window())
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.section() is None:
            return False
        return self.use_custom_section(dialog.section())

    def use_custom_section(self, section: dict[str, Any]) -> bool:
        """Use a checked custom loss written here: its code is trusted (the user wrote it)."""
        trust(section["code"])
        self.library.add(section)
        return self._use_loss_section(section, resolve_loss(section, self._task()))

    # -- advice -----------------------------------------------------------------------------
    @Slot()
    def update_advice(self) -> None:
        try:
            dataset = self.state.dataset
        except LossLabError:
            self.advice.set_advice([])
            return
        experiment = self.state.experiment
        if is_custom(experiment.loss):  # it runs the user's code: on a helper thread, with a time limit
            try:
                found = run_limited(lambda: advise(experiment, dataset), ADVICE_SECONDS, "advising")
            except LossLabError:
                found = []
        else:
            found = advise(experiment, dataset)
        self.advice.set_advice(found)

    @Slot(object)
    def apply_advice(self, advice: Advice) -> bool:
        try:
            new = apply_fix(self.state.experiment, advice)
        except LossLabError as exc:
            self.error.show_message(str(exc))
            return False
        if is_custom(new.loss):
            trust(new.loss["code"])  # LossLab's own edit of code the user already trusted
        applied = self.state.set_experiment_sections(new, tuple(advice.fix))
        if applied:
            self.update_advice()
        return applied

    @Slot(str, object)
    def _on_param_changed(self, name: str, value: Any) -> None:
        params = {**self.state.experiment.loss["params"], name: value}
        applied = try_update(self.state, "loss", {"params": params}, self.form, self.params_error)
        if applied is not True:
            self.form.set_values(self.state.experiment.loss["params"])

    @Slot(str, object)
    def _on_reg_changed(self, name: str, value: Any) -> None:
        applied = try_update(self.state, "regularization", {name: value}, self.reg_form, self.reg_error)
        if applied is not True:
            self.reg_form.set_values(self.state.experiment.regularization)
