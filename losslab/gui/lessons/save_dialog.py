"""Save Window as Lesson: the experiment in the window, an instructor's text, one claim and the locks.

A lesson ships only with a checked claim, so the dialog asks for one, offering the last run's value
of the chosen history column as the threshold; the file keeps the preset inline and can be checked
with ``losslab lessons --check --folder FOLDER``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
)

from losslab.core.classroom import SECTIONS
from losslab.core.errors import LossLabError
from losslab.core.lessons import SUFFIX, lesson_from_dict, save_lesson

if TYPE_CHECKING:
    from losslab.gui.main_window import MainWindow

COLUMNS = ("val_loss", "train_loss", "val_accuracy", "train_accuracy", "val_r2", "train_r2", "val_mae")
OPS = (("below", "below"), ("above", "above"))


class SaveLessonDialog(QDialog):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("saveLessonDialog")
        self.setWindowTitle("Save Window as Lesson")
        self.window_ = window
        exp = window.state.experiment
        form = QFormLayout()
        self.title = QLineEdit(exp.name or "My lesson")
        self.idea = QLineEdit(exp.name or "")
        self.do = QPlainTextEdit("Press Train.")
        self.look = QPlainTextEdit(exp.description or "")
        self.try_ = QPlainTextEdit("")
        self.formulas = QPlainTextEdit("")
        self.formulas.setPlaceholderText(r"one per line, e.g. \frac{1}{N} \sum_i (\hat{y}_i - y_i)^2")
        for edit in (self.do, self.look, self.try_, self.formulas):
            edit.setMaximumHeight(60)
        form.addRow("&Title:", self.title)
        form.addRow("&Idea:", self.idea)
        form.addRow("&Do:", self.do)
        form.addRow("&Look at:", self.look)
        form.addRow("T&ry this:", self.try_)
        form.addRow("&Formulas:", self.formulas)

        claim = QGroupBox("Claim (checked by losslab lessons --check)")
        cl = QGridLayout(claim)
        self.column = QComboBox()
        self.column.addItems(self._columns())
        self.op = QComboBox()
        for text, value in OPS:
            self.op.addItem(text, value)
        self.value = QDoubleSpinBox()
        self.value.setDecimals(4)
        self.value.setRange(-1e9, 1e9)
        self.says = QLineEdit()
        cl.addWidget(QLabel("At the last epoch"), 0, 0)
        cl.addWidget(self.column, 0, 1)
        cl.addWidget(self.op, 0, 2)
        cl.addWidget(self.value, 0, 3)
        cl.addWidget(QLabel("It says:"), 1, 0)
        cl.addWidget(self.says, 1, 1, 1, 3)
        self.column.currentTextChanged.connect(self._suggest)
        self.op.currentIndexChanged.connect(lambda _: self._suggest(self.column.currentText()))

        locks = QGroupBox("Classroom: lock or hide panels")
        ll = QGridLayout(locks)
        self.lock_boxes: dict[str, QCheckBox] = {}
        self.hide_boxes: dict[str, QCheckBox] = {}
        classroom = exp.classroom
        for row, section in enumerate(SECTIONS):
            ll.addWidget(QLabel(section), row, 0)
            lock, hide = QCheckBox("lock"), QCheckBox("hide")
            lock.setChecked(section in classroom.get("lock", []))
            hide.setChecked(section in classroom.get("hide", []))
            ll.addWidget(lock, row, 1)
            ll.addWidget(hide, row, 2)
            self.lock_boxes[section], self.hide_boxes[section] = lock, hide

        self.error = QLabel()
        self.error.setObjectName("saveLessonError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(claim)
        layout.addWidget(locks)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._suggest(self.column.currentText())
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)

    def _last_row(self) -> dict[str, float]:
        trainer = self.window_.trainer
        rows = trainer.history.rows if trainer is not None else []
        return dict(rows[-1]) if rows else {}

    def _columns(self) -> list[str]:
        row = self._last_row()
        have = [c for c in COLUMNS if c in row and math.isfinite(row[c])]
        return have or ["val_loss", "train_loss"]

    @Slot(str)
    def _suggest(self, column: str) -> None:
        """The last run's value with a 10% margin on the side the claim allows."""
        value = self._last_row().get(column)
        below = self.op.currentData() == "below"
        if value is not None and math.isfinite(value):
            self.value.setValue(value * (1.1 if below == (value >= 0) else 0.9))
        self.says.setText(f"{column.replace('_', ' ')} ends {self.op.currentText()} {self.value.value():.4g}")

    def document(self) -> dict[str, object]:
        exp = self.window_.state.experiment
        text = {"do": self.do.toPlainText(), "look": self.look.toPlainText(), "try": self.try_.toPlainText()}
        return {
            "format": "losslab-lesson",
            "schema_version": 1,
            "title": self.title.text(),
            "idea": self.idea.text() or self.title.text(),
            "experiment": {k: v for k, v in exp.to_dict().items() if k != "classroom"},
            "text": text,
            "formulas": [line.strip() for line in self.formulas.toPlainText().splitlines() if line.strip()],
            "claims": [
                {
                    "says": self.says.text(),
                    "measure": {"quantity": self.column.currentText()},
                    self.op.currentData(): self.value.value(),
                }
            ],
            "classroom": {
                "lock": [s for s, box in self.lock_boxes.items() if box.isChecked()],
                "hide": [s for s, box in self.hide_boxes.items() if box.isChecked()],
            },
        }

    def save_to(self, path: Path) -> bool:
        try:
            lesson = lesson_from_dict(self.document(), path.stem)
            save_lesson(lesson, path)
        except (LossLabError, OSError) as exc:
            self.error.setText(str(exc))
            return False
        self.window_.show_message(
            f"Saved {path.name}; check its claim with: losslab lessons --check --folder {path.parent}", 10_000
        )
        return True

    @Slot()
    def save(self) -> None:
        stem = re.sub(r"[^a-z0-9]+", "_", self.title.text().lower()).strip("_") or "lesson"
        name, _ = QFileDialog.getSaveFileName(
            self, "Save lesson", f"01_{stem}{SUFFIX}", f"Lessons (*{SUFFIX})"
        )
        if not name:
            return
        path = Path(name) if name.endswith(SUFFIX) else Path(name + SUFFIX)
        if self.save_to(path):
            self.accept()
        elif not self.error.text():
            QMessageBox.warning(self, "Not saved", "The lesson could not be saved.")
