"""The optimizer panel: optimizer and its settings, learning rate, schedule with warm-up, training settings.

A learning-rate change reaches a run in progress at once; every other edit here (the optimizer, its
parameters, clipping, the schedule, batch size, epochs...) needs a fresh trainer, so the edit guard
asks before it stops a run, and Train then starts from the settings shown (state.needs_fresh_run).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.experiment import OPTIMIZER_COMMON, TRAINING_PARAMS, WARMUP
from losslab.core.optim import OPTIMIZERS, SCHEDULES, OptimizerSpec, ScheduleSpec
from losslab.gui.param_form import ParamForm, align_forms
from losslab.gui.state import ExperimentState
from losslab.gui.widgets import (
    EntryBox,
    ErrorLabel,
    hint_label,
    panel_content,
    try_update,
    wrap_panel,
)

BATCH = next(p for p in TRAINING_PARAMS if p.name == "batch_size")  # the schema's field; 0 = full batch
FULL_BATCH_TEXT = "all"  # what the batch-size box shows at 0


class OptimizerPanel(QWidget):
    """Edits ``state.experiment.optimizer`` and ``state.experiment.training``."""

    def __init__(self, state: ExperimentState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._last_batch = BATCH.default or 32

        content, column = panel_content()

        opt_box = EntryBox(
            "Optimizer",
            "&Optimizer:",
            ((spec.name, spec.id, spec.description) for spec in OPTIMIZERS.values()),
            self._on_opt_param_changed,
            content,
            extra=lambda box: ParamForm(OPTIMIZER_COMMON, state.experiment.optimizer, box),
        )
        self.opt_combo, self.opt_description = opt_box.combo, opt_box.description
        self.common_form: ParamForm = opt_box.extra  # type: ignore[assignment]
        self.opt_slot, self.opt_error = opt_box.slot, opt_box.error
        self.opt_form = self.opt_slot.form
        column.addWidget(opt_box)

        sched_box = EntryBox(
            "Learning-rate schedule",
            "&Schedule:",
            ((sched.name, sched.id, sched.description) for sched in SCHEDULES.values()),
            self._on_sched_param_changed,
            content,
        )
        self.sched_combo, self.sched_description = sched_box.combo, sched_box.description
        self.sched_slot, self.sched_error = sched_box.slot, sched_box.error
        self.sched_form = self.sched_slot.form
        column.addWidget(sched_box)

        # Training ------------------------------------------------------------------------------
        train_box = QGroupBox("Training", content)
        train_layout = QVBoxLayout(train_box)
        self.train_form = ParamForm(TRAINING_PARAMS, state.experiment.training, train_box)
        batch_editor = self.train_form.editor(BATCH.name)
        batch_editor.setSpecialValueText(FULL_BATCH_TEXT)  # type: ignore[attr-defined]
        self.full_batch = QCheckBox("Full batch", train_box)
        self.full_batch.setToolTip("Use every training sample in each step (batch size 0)")
        self.train_form.field_layout(BATCH.name).addWidget(self.full_batch)
        train_layout.addWidget(self.train_form)
        self.steps_hint = hint_label("", train_box)
        train_layout.addWidget(self.steps_hint)
        self.train_error = ErrorLabel(train_box)
        train_layout.addWidget(self.train_error)
        column.addWidget(train_box)

        wrap_panel(self, content, column)

        self.opt_combo.activated.connect(self._on_optimizer_activated)
        self.sched_combo.activated.connect(self._on_schedule_activated)
        self.common_form.valueChanged.connect(self._on_common_changed)
        self.train_form.valueChanged.connect(self._on_training_changed)
        self.full_batch.toggled.connect(self._on_full_batch_toggled)
        state.changed.connect(self._on_state_changed)
        self._sync()

    # -- state -> widgets -------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in ("optimizer", "training", "dataset", "all"):
            if section == "all":
                for label in (self.opt_error, self.sched_error, self.train_error):
                    label.clear_message()
                for form in (self.common_form, self.opt_form, self.sched_form, self.train_form):
                    form.clear_error()
            self._sync()

    def _sync(self) -> None:
        opt = self.state.experiment.optimizer
        training = self.state.experiment.training
        spec = OPTIMIZERS[opt["id"]]
        self._select(self.opt_combo, spec.id)
        self.opt_description.setText(spec.description)
        self.common_form.set_values(opt)
        self._rebuild_opt_form(spec)
        self.opt_form.set_values(opt["params"])
        align_forms(self.common_form, self.opt_form)

        schedule = opt["schedule"]
        sched = SCHEDULES[schedule["id"]]
        self._select(self.sched_combo, sched.id)
        self.sched_description.setText(sched.description)
        self._rebuild_sched_form(sched)
        self.sched_form.set_values({**schedule["params"], WARMUP.name: schedule["warmup_epochs"]})

        self.train_form.set_values(training)
        batch = training[BATCH.name]
        if batch:
            self._last_batch = batch
        blocked = self.full_batch.blockSignals(True)
        self.full_batch.setChecked(batch == 0)
        self.full_batch.blockSignals(blocked)
        self.train_form.editor(BATCH.name).setEnabled(batch != 0)
        self._update_steps_hint()

    def _update_steps_hint(self) -> None:
        try:
            n_train = self.state.dataset.n_train
        except LossLabError:
            self.steps_hint.clear()
            return
        training = self.state.experiment.training
        batch = training[BATCH.name]
        epochs = training.get("epochs", 0)
        size = n_train if batch == 0 or batch >= n_train else batch
        steps = math.ceil(n_train / size) if size else 0
        total = f" · {steps * epochs:,} in all" if epochs else ""
        self.steps_hint.setText(
            f"{n_train:,} training samples → {steps:,} step{'s' if steps != 1 else ''} per epoch{total}"
        )

    @staticmethod
    def _select(combo: QComboBox, data: Any) -> None:
        blocked = combo.blockSignals(True)
        combo.setCurrentIndex(max(combo.findData(data), 0))
        combo.blockSignals(blocked)

    def _rebuild_opt_form(self, spec: OptimizerSpec) -> None:
        self.opt_form = self.opt_slot.show(spec.id, spec.params)

    def _rebuild_sched_form(self, sched: ScheduleSpec) -> None:
        self.sched_form = self.sched_slot.show(sched.id, (*sched.params, WARMUP))

    # -- widgets -> state -------------------------------------------------------------------
    def _update(
        self, section: str, changes: dict[str, Any], form: ParamForm | None, banner: ErrorLabel
    ) -> bool:
        applied = try_update(self.state, section, changes, form, banner)
        if applied is not True:
            self._sync()
        return applied is True

    @Slot(int)
    def _on_optimizer_activated(self, index: int) -> None:
        opt_id = self.opt_combo.itemData(index)
        if opt_id != self.state.experiment.optimizer["id"]:
            self._update("optimizer", {"id": opt_id, "params": {}}, None, self.opt_error)

    @Slot(str, object)
    def _on_common_changed(self, name: str, value: Any) -> None:
        """Learning rate (taken by a running trainer at once) and clipping (a fresh run: the edit guard)."""
        self._update("optimizer", {name: value}, self.common_form, self.opt_error)

    @Slot(str, object)
    def _on_opt_param_changed(self, name: str, value: Any) -> None:
        params = {**self.state.experiment.optimizer["params"], name: value}
        self._update("optimizer", {"params": params}, self.opt_form, self.opt_error)

    @Slot(int)
    def _on_schedule_activated(self, index: int) -> None:
        sched_id = self.sched_combo.itemData(index)
        schedule = self.state.experiment.optimizer["schedule"]
        if sched_id != schedule["id"]:
            new = {"id": sched_id, "params": {}, "warmup_epochs": schedule["warmup_epochs"]}
            self._update("optimizer", {"schedule": new}, None, self.sched_error)

    @Slot(str, object)
    def _on_sched_param_changed(self, name: str, value: Any) -> None:
        schedule = dict(self.state.experiment.optimizer["schedule"])
        if name == WARMUP.name:
            schedule[WARMUP.name] = value
        else:
            schedule["params"] = {**schedule["params"], name: value}
        self._update("optimizer", {"schedule": schedule}, self.sched_form, self.sched_error)

    @Slot(str, object)
    def _on_training_changed(self, name: str, value: Any) -> None:
        self._update("training", {name: value}, self.train_form, self.train_error)

    @Slot(bool)
    def _on_full_batch_toggled(self, checked: bool) -> None:
        current = self.state.experiment.training[BATCH.name]
        if current:
            self._last_batch = current
        self._update(
            "training", {BATCH.name: 0 if checked else self._last_batch}, self.train_form, self.train_error
        )
