"""The custom-loss editor: write ``def loss(pred, target):`` and see every problem at its line.

Typing only parses the code (nothing runs); Check and "Use this loss" run it on a real batch of the
current dataset in core's ``check_custom_loss`` (a short-lived thread with a time limit, so a loop
that never ends cannot freeze the window). Every problem is shown under the editor with its line,
which is marked in red.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from losslab.core.custom_loss import (
    CUSTOM_ID,
    CUSTOM_TASKS,
    DEFAULT_NAME,
    OUTPUTS,
    TEMPLATES,
    CustomLoss,
    CustomLossError,
    check_batch_size,
    check_custom_loss,
    parse_code,
    validate_custom_section,
)
from losslab.core.errors import LossLabError
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION, TASKS
from losslab.core.trust import allow_experiment_code
from losslab.gui.code_editor import CodeEditor
from losslab.gui.param_form import ERROR_COLOR, error_message
from losslab.gui.state import ExperimentState

OK_COLOR = "#2e7d32"
PARSE_DELAY_MS = 350
OUTPUT_TITLES = {"raw": "raw values / scores", "logits": "logits", "probabilities": "probabilities"}


def default_section(task: str | None) -> dict[str, Any]:
    """A first loss for ``task``: the first template written for it."""
    template = next((t for t in TEMPLATES if task in t.tasks), TEMPLATES[0])
    return {**template.to_section(), "name": DEFAULT_NAME}


class CustomLossDialog(QDialog):
    """Edits one custom-loss section; ``section()`` is the validated result after ``exec()`` accepted."""

    def __init__(
        self, state: ExperimentState, section: dict[str, Any] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("customLossDialog")
        self.setWindowTitle("Custom loss")
        self.resize(720, 620)
        self.state = state
        self._result: dict[str, Any] | None = None
        task = self._task()
        start = dict(section) if section else default_section(task)

        intro = QLabel(
            "Write <code>def loss(pred, target):</code> returning one number, a torch tensor; "
            "<code>torch</code>, <code>math</code> and <code>F</code> (torch.nn.functional) are ready to "
            "use. It is checked on a real batch of your data before it is used."
        )
        intro.setWordWrap(True)

        self.name_edit = QLineEdit(start.get("name", DEFAULT_NAME))
        self.name_edit.setObjectName("customLossName")
        self.name_edit.setMaxLength(60)
        self.template_combo = QComboBox()
        self.template_combo.setObjectName("customLossTemplate")
        self.template_combo.addItem("Start from an example…", None)
        for i, t in enumerate(TEMPLATES):
            self.template_combo.addItem(f"{t.name} ({', '.join(TASKS[x].lower() for x in t.tasks)})", i)
        name_row = QHBoxLayout()
        name_row.addWidget(self.name_edit, 1)
        name_row.addWidget(self.template_combo)

        self.task_checks: dict[str, QCheckBox] = {}
        tasks_row = QHBoxLayout()
        for t in CUSTOM_TASKS:
            box = QCheckBox(TASKS[t])
            box.setObjectName(f"customLossTask_{t}")
            box.setChecked(t in start.get("tasks", [REGRESSION]))
            box.toggled.connect(self._on_settings_changed)
            self.task_checks[t] = box
            tasks_row.addWidget(box)
        tasks_row.addStretch(1)
        self.output_combo = QComboBox()
        self.output_combo.setObjectName("customLossOutput")
        for key, text in OUTPUTS.items():
            self.output_combo.addItem(OUTPUT_TITLES.get(key, key), key)
            self.output_combo.setItemData(self.output_combo.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.output_combo.setCurrentIndex(max(self.output_combo.findData(start.get("output", "raw")), 0))
        self.output_combo.currentIndexChanged.connect(self._on_settings_changed)

        form = QFormLayout()
        form.addRow("Name:", name_row)
        form.addRow("Fits:", tasks_row)
        form.addRow("pred holds:", self.output_combo)

        self.shapes = QLabel()
        self.shapes.setObjectName("customLossShapes")
        self.shapes.setWordWrap(True)
        self.shapes.setStyleSheet("color: palette(placeholder-text);")

        self.editor = CodeEditor()
        self.editor.setObjectName("customLossEditor")
        self.editor.setPlainText(start.get("code", ""))

        self.status = QLabel()
        self.status.setObjectName("customLossStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setMinimumHeight(self.fontMetrics().height() * 2 + 6)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.check_button = QPushButton("&Check")
        self.check_button.setObjectName("customLossCheck")
        self.check_button.setToolTip("Run the loss on a real batch of the current data (Ctrl+Enter)")
        buttons = QDialogButtonBox.StandardButton
        self.buttons = QDialogButtonBox(buttons.Ok | buttons.Cancel)
        self.ok_button = self.buttons.button(buttons.Ok)
        self.ok_button.setText("Use this loss")
        self.buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.check_button.clicked.connect(self.check)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.check)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.shapes)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

        self._parse_timer = QTimer(self)
        self._parse_timer.setSingleShot(True)
        self._parse_timer.setInterval(PARSE_DELAY_MS)
        self._parse_timer.timeout.connect(self._parse_now)
        self.editor.textChanged.connect(self._parse_timer.start)
        self.template_combo.activated.connect(self._on_template)
        self._update_shapes()
        self._parse_now()
        self.editor.setFocus()

    # -- reading the form -------------------------------------------------------------------
    def _task(self) -> str | None:
        try:
            return self.state.task
        except LossLabError:
            return None

    def raw_section(self) -> dict[str, Any]:
        return {
            "id": CUSTOM_ID,
            "params": {},
            "name": self.name_edit.text(),
            "code": self.editor.toPlainText(),
            "tasks": [t for t, box in self.task_checks.items() if box.isChecked()],
            "output": self.output_combo.currentData(),
        }

    def section(self) -> dict[str, Any] | None:
        """The validated section once accepted (None before, or after Cancel)."""
        return self._result

    # -- feedback ---------------------------------------------------------------------------
    def show_problem(self, exc: LossLabError) -> None:
        line = getattr(exc, "line", None)
        text = getattr(exc, "detail", None) or error_message(exc)
        where = f"Line {line}: " if line else ""
        self.status.setText(
            f'<span style="color:{ERROR_COLOR}">&#9888; <b>{where}</b>{html.escape(text)}</span>'
        )
        self.editor.set_error_line(line)

    def show_ok(self, text: str) -> None:
        self.status.setText(f'<span style="color:{OK_COLOR}">&#10003; {html.escape(text)}</span>')
        self.editor.set_error_line(None)

    def problem(self) -> str:
        """The shown problem as plain text ('' when there is none)."""
        return self.status.text() if ERROR_COLOR in self.status.text() else ""

    @Slot()
    def _parse_now(self) -> None:
        """Syntax only, nothing runs: safe on every pause in typing."""
        try:
            parse_code(self.editor.toPlainText())
        except CustomLossError as exc:
            self.show_problem(exc)
            return
        self.editor.set_error_line(None)
        self.status.setText("Press Check (Ctrl+Enter) to try it on a real batch of your data.")

    @Slot()
    def _on_settings_changed(self, *_: Any) -> None:
        self._update_shapes()

    def _update_shapes(self) -> None:
        task = self._task()
        output = self.output_combo.currentData()
        try:
            ds = self.state.dataset
            n = check_batch_size(ds.n_train, self.state.experiment.training["batch_size"])
        except LossLabError:
            self.shapes.setText("")
            return
        what = {
            "raw": "values" if task == REGRESSION else "raw scores",
            "logits": "logits",
            "probabilities": "probabilities",
        }[output]
        if task == MULTICLASS:
            pred = f"pred: ({n}, {ds.n_classes}) float {what}, one column per class"
            target = f"target: ({n},) whole numbers 0 … {ds.n_classes - 1}"
        elif task == BINARY:
            pred, target = f"pred: ({n},) float {what}", f"target: ({n},) floats, 0 or 1"
        else:
            pred, target = f"pred: ({n},) float {what}", f"target: ({n},) floats (standardized)"
        self.shapes.setText(
            f"With the current data ({ds.name}, {TASKS.get(task, task).lower()}): {pred}; {target}."
        )

    @Slot(int)
    def _on_template(self, index: int) -> None:
        i = self.template_combo.itemData(index)
        if i is None:
            return
        t: CustomLoss = TEMPLATES[i]
        cursor = self.editor.textCursor()
        cursor.select(cursor.SelectionType.Document)
        cursor.insertText(t.code)  # one undoable edit: Ctrl+Z brings the old code back
        name = self.name_edit.text()
        if name in ("", DEFAULT_NAME) or any(name == x.name for x in TEMPLATES):
            self.name_edit.setText(t.name)
        for task, box in self.task_checks.items():
            box.setChecked(task in t.tasks)
        self.output_combo.setCurrentIndex(self.output_combo.findData(t.output))
        self.template_combo.setCurrentIndex(0)

    # -- checking ---------------------------------------------------------------------------
    @Slot()
    def check(self) -> bool:
        """Validate and run on a real batch; show the result. True when the loss is usable."""
        try:
            section = validate_custom_section(self.raw_section())
        except LossLabError as exc:
            self.show_problem(exc)
            return False
        try:
            dataset = self.state.dataset
        except LossLabError:
            dataset = None
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        allow_experiment_code({"loss": section})  # typed in LossLab's own editor: the user's code
        try:
            batch = self.state.experiment.training["batch_size"]  # the batch the header describes
            result = check_custom_loss(section, dataset, batch_size=batch)
        except LossLabError as exc:
            self.show_problem(exc)
            if getattr(exc, "line", None):
                self.editor.go_to_line(exc.line)
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        how = "" if result.per_sample == "vmap" else " (the per-sample views call it one sample at a time)"
        self.show_ok(
            f"Works on a real batch of {result.batch_size} samples: loss {result.value:.4g}, with a "
            f"usable gradient{how}."
        )
        self._checked = section
        return True

    @Slot()
    def accept(self) -> None:
        if not self.check():
            return
        self._result = self._checked
        super().accept()
