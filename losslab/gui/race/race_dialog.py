"""The Race dialog: which setting differs, its values, the number of epochs; checked by plan_race.

The settings offered come from the current experiment and the registries (the losses that fit its
task, the optimizers, the activations, the numeric parameters of its loss and optimizer), so a new
loss or optimizer shows up here without a change to this file. Every edit re-plans the race
(``losslab.core.race.plan_race``, numpy only, quick): a refusal shows in the dialog with its reason
and Start stays disabled, so nothing trains that cannot be fair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.layers import LAYERS
from losslab.core.losses import (
    LOSSES,
    SUGGEST_MARGIN,
    SUGGEST_PLAIN,
    SUGGEST_ROBUST,
    losses_for_task,
    resolve_loss,
)
from losslab.core.optim import OPTIMIZERS
from losslab.core.params import Param
from losslab.core.race import RacePlan, parse_vary, plan_race
from losslab.gui.widgets import ErrorLabel, hint_label

REPLAN_MS = 200  # re-plan this long after the last edit


@dataclass(frozen=True)
class Choice:
    """One setting a race can vary, as the dialog offers it.

    ``options`` (label, value) make a list of checkboxes (a loss, an optimizer, an activation);
    without them the values are typed as a comma-separated list, prefilled with ``text``.
    """

    setting: str  # what plan_race is given: "loss", "optimizer.lr", "loss.params.delta"
    title: str  # "Loss", "Learning rate"
    options: tuple[tuple[str, Any], ...] = ()
    checked: tuple[Any, ...] = ()
    text: str = ""
    note: str = ""
    more_options: tuple[tuple[str, Any], ...] = ()  # shown with "losses for other tasks too"


def _g(value: float) -> str:
    return f"{value:g}"


def _spread(value: float, integer: bool = False, param: Param | None = None) -> str:
    """Values around ``value`` a factor of 10 (4 for integers) apart, "0.001, 0.01, 0.1", inside the
    parameter's range; a rate near 1 (Adam's betas) spreads its distance to 1: "0.99, 0.999, 0.9999"."""
    lo = param.minimum if param is not None else None
    hi = param.maximum if param is not None else None
    if integer:
        v = max(1, int(value))
        values: list[float] = [max(1, v // 4), v, v * 4]
    elif value <= 0:
        values = [0.0, 0.001, 0.01]
    elif hi is not None and hi <= 1 and 0.5 < value < 1:
        gap = 1 - value
        values = [1 - gap * 10, value, 1 - gap / 10]
    else:
        values = [value / 10, value, value * 10]
    if lo is not None:
        values = [max(lo, x) for x in values]
    if hi is not None:
        values = [min(hi, x) for x in values]
    values = sorted(dict.fromkeys(round(x, 12) for x in values))
    return ", ".join(str(int(x)) if integer else _g(x) for x in values)


def _other(current: Any, candidates: Sequence[Any]) -> Any:
    return next((c for c in candidates if c != current), None)


def _param_choices(section: str, title: str, params: Sequence[Param], values: dict[str, Any]) -> list[Choice]:
    out = []
    for p in params:
        value = values.get(p.name, p.default)
        if p.kind not in ("float", "int") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out.append(
            Choice(
                f"{section}.params.{p.name}", f"{title}: {p.label}", text=_spread(value, p.kind == "int", p)
            )
        )
    return out


def race_choices(experiment: Experiment, task: str) -> list[Choice]:
    """What a race of ``experiment`` (its data's task ``task``) can vary, loss first."""
    exp = experiment
    choices: list[Choice] = []

    # Loss: the losses that fit the task (every other one behind "other tasks too").
    loss_id = exp.loss.get("id")
    fitting = losses_for_task(task)
    options = [(spec.name, spec.id) for spec in fitting]
    current: Any = loss_id
    if loss_id not in LOSSES:  # the user's own loss: raced as its whole section
        own = resolve_loss(exp.loss, task)
        current = dict(exp.loss)
        options.insert(0, (f"{own.name} (your loss)", current))
    # The other loss ticked at first teaches most: a robust one against the usual one (regression),
    # a margin loss (classification); two forms of one loss (BCE on probabilities or logits) race equal.
    suggested = [
        spec.id
        for role in (SUGGEST_ROBUST, SUGGEST_MARGIN, SUGGEST_PLAIN)
        for spec in fitting
        if role in spec.suggested_as
    ]
    other = _other(current, suggested + [spec.id for spec in fitting])
    more = tuple(
        (f"{spec.name} (for {', '.join(sorted(spec.tasks))})", spec.id)
        for spec in LOSSES.values()
        if spec not in fitting
    )
    choices.append(
        Choice(
            "loss",
            "Loss",
            tuple(options),
            tuple(v for v in (current, other) if v is not None),
            note="Each variant's loss is on its own scale: compare the headline metric.",
            more_options=more,
        )
    )

    # Optimizer: the registry; learning rate, clipping and schedule kept, its own parameters default.
    opt = exp.optimizer
    opt_ids = list(OPTIMIZERS)
    choices.append(
        Choice(
            "optimizer",
            "Optimizer",
            tuple((spec.name, spec.id) for spec in OPTIMIZERS.values()),
            tuple(v for v in (opt["id"], _other(opt["id"], ["adam", "sgd", *opt_ids])) if v is not None),
            note="The learning rate, clipping and schedule stay as they are; each optimizer's own "
            "parameters start from their defaults.",
        )
    )
    choices.append(Choice("optimizer.lr", "Learning rate", text=_spread(float(opt["lr"]))))
    bs = int(exp.training["batch_size"])
    choices.append(
        Choice(
            "training.batch_size",
            "Batch size",
            text="8, 32, 0" if bs == 0 else _spread(bs, integer=True),
            note="0 is the full batch. Variants of different batch sizes train one after another.",
        )
    )

    # Activation: only when the network has one to swap.
    layers = exp.model["layers"]
    acts = [layer["type"] for layer in layers if LAYERS[layer["type"]].is_activation]
    acts += [layer.get("activation") for layer in layers if layer["type"] == "residual"]
    acts = [a for a in acts if a]
    if acts:
        act_ids = [k for k, spec in LAYERS.items() if spec.is_activation]
        first = acts[0]
        choices.append(
            Choice(
                "activation",
                "Activation",
                tuple((LAYERS[k].name, k) for k in act_ids),
                tuple(v for v in (first, _other(first, ["relu", "tanh", *act_ids])) if v is not None),
                note="Every activation layer of the network is replaced.",
            )
        )

    reg = exp.regularization
    choices.append(Choice("regularization.l2", "L2 regularization", text=_spread(float(reg["l2"]))))
    choices.append(Choice("regularization.l1", "L1 regularization", text=_spread(float(reg["l1"]))))
    choices.append(
        Choice("optimizer.grad_clip", "Gradient clipping", text="0, 0.5, 5", note="0: no clipping.")
    )

    try:
        loss_spec = resolve_loss(exp.loss, task)
        choices += _param_choices("loss", "Loss", loss_spec.params, exp.loss.get("params", {}))
    except LossLabError:
        pass
    if opt["id"] in OPTIMIZERS:
        choices += _param_choices("optimizer", "Optimizer", OPTIMIZERS[opt["id"]].params, opt["params"])

    seed = int(exp.training["seed"])
    choices.append(
        Choice(
            "training.seed",
            "Seed",
            text=", ".join(str(seed + i) for i in range(3)),
            note="Each seed has its own initial weights and batch order: a seed race shows the spread "
            "of one setting, and is not fair by design.",
        )
    )
    return choices


class RaceDialog(QDialog):
    """Choose the setting and its values; ``plan`` is the accepted RacePlan (None until valid)."""

    def __init__(
        self,
        experiment: Experiment,
        task: str,
        parent: QWidget | None = None,
        setting: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("raceDialog")
        self.setWindowTitle("Race")
        self.experiment = experiment
        self.task = task
        self.choices = race_choices(experiment, task)
        self.plan: RacePlan | None = None
        self._error = ""
        self._entries: list[tuple[str, Any]] = []  # the checkbox list's (label, value), in order
        self._entries_for = ""  # the setting they belong to

        layout = QVBoxLayout(self)
        intro = QLabel(
            "Train variants of this experiment that differ in exactly one setting, from the same "
            "initial weights and the same batch order, side by side."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)

        form = QFormLayout()
        self.setting_combo = QComboBox()
        self.setting_combo.setObjectName("raceSetting")
        for choice in self.choices:
            self.setting_combo.addItem(choice.title, choice.setting)
        form.addRow("Setting that differs:", self.setting_combo)

        self.epochs = QSpinBox()
        self.epochs.setObjectName("raceEpochs")
        self.epochs.setRange(1, 100_000)
        self.epochs.setValue(int(experiment.training["epochs"]))
        form.addRow("Epochs:", self.epochs)
        layout.addLayout(form)

        # The values: checkboxes for a registry, a typed list for numbers.
        self.stack = QStackedWidget()
        self.options = QListWidget()
        self.options.setObjectName("raceOptions")
        self.options.setMinimumHeight(150)
        self.show_all = QCheckBox("Show losses for other tasks too")
        self.show_all.setObjectName("raceShowAll")
        options_page = QWidget()
        ol = QVBoxLayout(options_page)
        ol.setContentsMargins(0, 0, 0, 0)
        ol.addWidget(QLabel("Values (tick two or more):"))
        ol.addWidget(self.options, 1)
        ol.addWidget(self.show_all)
        self.values_edit = QLineEdit()
        self.values_edit.setObjectName("raceValues")
        self.values_edit.setPlaceholderText("e.g. 0.001, 0.01, 0.1")
        text_page = QWidget()
        tl = QVBoxLayout(text_page)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(QLabel("Values, separated by commas:"))
        tl.addWidget(self.values_edit)
        tl.addStretch(1)
        self.stack.addWidget(options_page)
        self.stack.addWidget(text_page)
        layout.addWidget(self.stack, 1)

        self.note = hint_label()
        self.note.setObjectName("raceNote")
        layout.addWidget(self.note)
        self.preview = QLabel()
        self.preview.setObjectName("racePreview")
        self.preview.setWordWrap(True)
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.preview)
        self.error = ErrorLabel()
        self.error.setObjectName("raceError")
        layout.addWidget(self.error)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = QPushButton("Start race")
        self.start_button.setObjectName("raceStart")
        self.start_button.setDefault(True)
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self._replan_timer = QTimer(self)
        self._replan_timer.setSingleShot(True)
        self._replan_timer.setInterval(REPLAN_MS)
        self._replan_timer.timeout.connect(self.replan)
        self.setting_combo.currentIndexChanged.connect(self._on_setting)
        self.options.itemChanged.connect(self._schedule)
        self.values_edit.textChanged.connect(self._schedule)
        self.epochs.valueChanged.connect(self._schedule)
        self.show_all.toggled.connect(self._fill_options)

        self.resize(520, 520)
        index = self.setting_combo.findData(setting) if setting else 0
        self.setting_combo.setCurrentIndex(max(index, 0))
        self._on_setting()

    # -- what is chosen -------------------------------------------------------------------------
    @property
    def choice(self) -> Choice:
        return self.choices[self.setting_combo.currentIndex()]

    def select(self, setting: str) -> None:
        """Show ``setting`` (as plan_race names it); raises KeyError when it is not offered."""
        index = self.setting_combo.findData(setting)
        if index < 0:
            raise KeyError(setting)
        self.setting_combo.setCurrentIndex(index)

    def set_checked(self, values: Sequence[Any]) -> None:
        self.options.blockSignals(True)
        for i, (_, value) in enumerate(self._entries):
            checked = value in values
            self.options.item(i).setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.options.blockSignals(False)
        self.replan()

    def set_values_text(self, text: str) -> None:
        self.values_edit.setText(text)
        self.replan()

    def values(self) -> list[Any]:
        """The values as plan_race takes them (raises LossLabError for a list it cannot read)."""
        choice = self.choice
        if choice.options:
            return [
                value
                for i, (_, value) in enumerate(self._entries)
                if self.options.item(i).checkState() == Qt.CheckState.Checked
            ]
        text = self.values_edit.text().strip()
        if not text:
            raise LossLabError("type the values to race, separated by commas, such as 0.001, 0.01, 0.1")
        ((_, values),) = parse_vary(f"{choice.setting}={text}").items()
        return values

    def vary(self) -> dict[str, list[Any]]:
        """``{setting: [values]}``, as ``plan_race`` and ``losslab race --vary`` take it."""
        return {self.choice.setting: self.values()}

    def race_experiment(self) -> Experiment:
        """The experiment the race starts from: the current one with the dialog's number of epochs."""
        epochs = self.epochs.value()
        if epochs == self.experiment.training["epochs"]:
            return self.experiment
        return self.experiment.replace("training", epochs=epochs)

    # -- checking -------------------------------------------------------------------------------
    @Slot()
    def _on_setting(self, *_: Any) -> None:
        choice = self.choice
        self.note.setText(choice.note)
        self.note.setVisible(bool(choice.note))
        self.show_all.setVisible(bool(choice.more_options))
        if choice.options:
            self.stack.setCurrentIndex(0)
            self._fill_options()
        else:
            self.stack.setCurrentIndex(1)
            self.values_edit.blockSignals(True)
            self.values_edit.setText(choice.text)
            self.values_edit.blockSignals(False)
            self.replan()

    @Slot()
    def _fill_options(self, *_: Any) -> None:
        choice = self.choice
        # The same setting again ("other tasks too" toggled): keep what is ticked.
        keep = self.values() if self._entries_for == choice.setting else list(choice.checked)
        self.options.blockSignals(True)
        self.options.clear()
        entries = list(choice.options)
        if self.show_all.isChecked():
            entries += list(choice.more_options)
        self._entries, self._entries_for = entries, choice.setting
        for label, value in entries:
            item = QListWidgetItem(label)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if value in keep else Qt.CheckState.Unchecked)
            self.options.addItem(item)
        self.options.blockSignals(False)
        self.replan()

    @Slot()
    def _schedule(self, *_: Any) -> None:
        self.plan = None  # stale until re-planned; Start re-plans at once, so it may be clicked now
        self._replan_timer.start()

    @Slot()
    def replan(self) -> RacePlan | None:
        """Plan the race as chosen: the plan, or None with the refusal shown under the values."""
        self._replan_timer.stop()
        self.plan = None
        try:
            plan = plan_race(self.race_experiment(), self.vary())
        except LossLabError as exc:
            self._error = str(exc).removeprefix("vary: ").removeprefix("--vary: ")
            self.error.show_message(self._error)
            self.preview.clear()
            self.start_button.setEnabled(False)
            return None
        self._error = ""
        self.error.clear_message()
        self.plan = plan
        modes = sorted(set(plan.modes))
        self.preview.setText(
            f"{len(plan.variants)} variants: {', '.join(plan.labels)}\nTraining: {'; '.join(modes)}"
        )
        self.start_button.setEnabled(True)
        return plan

    @property
    def refusal(self) -> str:
        """Why the race as chosen cannot run ("" when it can)."""
        return self._error

    def accept(self) -> None:
        if self.replan() is None:
            return  # the reason shows in the dialog; nothing trains
        super().accept()
