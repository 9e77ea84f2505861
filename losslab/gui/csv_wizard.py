"""The CSV import wizard: a preview of the file, its target and feature columns, the task and what to
do with missing values, checked against the whole file before anything changes.

Parsing and every check run on a background thread (``run_in_background``) with a progress bar, so a
file of a million rows never freezes the window; the core's parse is cached, so changing the target
or the features only rebuilds arrays. ``config()`` is the dataset section to apply on Import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from losslab.core.data import CSV_KIND
from losslab.core.data.csv_import import (
    CSV_TASKS,
    CsvTable,
    column_kind,
    infer_task,
    read_csv_table,
)
from losslab.core.data.csv_parse import ParsedCsv, parse_csv, peek_csv
from losslab.core.errors import Cancelled
from losslab.core.tasks import TASKS
from losslab.gui.background import BackgroundTask, run_in_background
from losslab.gui.widgets import ErrorLabel, hint_label

PREVIEW_ROWS = 20
PROGRESS_STEPS = 1000
MISSING_CHOICES = (
    ("error", "Refuse the file (list the rows)"),
    ("drop", "Drop rows with a missing value"),
    ("mean", "Fill a missing feature with its column mean"),
)
KIND_WORDS = {"numeric": "numbers", "text": "text: one-hot", "numbers with typos": "numbers, some not"}


def _task_words(task: str, classes: int) -> str:
    name = TASKS.get(task, task)
    return f"{name}, {classes} classes" if classes else name


class CsvImportDialog(QDialog):
    """Import ``path``; ``initial`` (a csv dataset section) preselects its target, features, task and
    policy. Accepted only after the whole file was read with the choices shown."""

    def __init__(self, path: str, initial: dict[str, Any] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = path
        self.initial = initial or {}
        self.parsed: ParsedCsv | None = None
        self.table: CsvTable | None = None
        self._task: BackgroundTask | None = None
        self._generation = 0  # a check's result counts only if no newer choice was made meanwhile
        self.setWindowTitle(f"Import {Path(path).name}")
        self.resize(860, 600)

        layout = QVBoxLayout(self)
        self.file_label = QLabel(f"<b>{Path(path).name}</b>", self)
        self.file_label.setToolTip(path)
        layout.addWidget(self.file_label)
        self.format_label = hint_label("Reading the file…", self)
        layout.addWidget(self.format_label)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar(self)
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(True)
        progress_row.addWidget(self.progress, 1)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setToolTip("Stop reading the file")
        progress_row.addWidget(self.stop_button)
        layout.addLayout(progress_row)

        self.preview = QTableWidget(self)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.preview.setAccessibleName("First rows of the file")
        self.preview.setToolTip(f"The first {PREVIEW_ROWS} rows; under each name, how the column is read")
        layout.addWidget(self.preview, 1)

        choices = QHBoxLayout()
        form = QFormLayout()
        self.target_combo = QComboBox(self)
        self.target_combo.setToolTip("The column the model learns to predict")
        form.addRow("&Target column:", self.target_combo)
        self.task_combo = QComboBox(self)
        self.task_combo.setToolTip(
            "Detected from the target: whole numbers with few values and texts are classes, "
            "other numbers a regression target. Choose another to override it"
        )
        form.addRow("T&ask:", self.task_combo)
        self.missing_combo = QComboBox(self)
        for key, text in MISSING_CHOICES:
            self.missing_combo.addItem(text, key)
        self.missing_combo.setToolTip(
            "What to do with rows that miss a value; a row without a target is dropped"
        )
        form.addRow("&Missing values:", self.missing_combo)
        choices.addLayout(form, 1)
        feature_box = QVBoxLayout()
        features_label = QLabel("&Features (inputs):", self)
        feature_box.addWidget(features_label)
        self.feature_list = QListWidget(self)
        features_label.setBuddy(self.feature_list)
        self.feature_list.setAccessibleName("Feature columns")
        self.feature_list.setToolTip("The columns the model sees; text columns become one input per text")
        self.feature_list.setMaximumHeight(130)
        feature_box.addWidget(self.feature_list)
        choices.addLayout(feature_box, 1)
        layout.addLayout(choices)

        self.summary = hint_label("", self)
        layout.addWidget(self.summary)
        self.error = ErrorLabel(self)
        layout.addWidget(self.error)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.import_button = self.buttons.addButton("&Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(False)
        layout.addWidget(self.buttons)

        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.stop_button.clicked.connect(self._stop)
        self.target_combo.activated.connect(self._on_target)
        self.task_combo.activated.connect(self._check)
        self.missing_combo.activated.connect(self._check)
        self.feature_list.itemChanged.connect(self._check)

        head = peek_csv(path)  # the first lines at once; the whole file follows in the background
        if head is not None:
            self._fill_preview(head)
            self.format_label.setText(f"{head.format.describe()} · reading the whole file…")
        self._run(lambda progress: parse_csv(self.path, progress), self._on_parsed, "Reading")

    # -- background work ----------------------------------------------------------------------
    def _run(
        self, job: Callable[[Callable[[float], None]], Any], done: Callable[[Any], None], what: str
    ) -> None:
        """Run ``job(progress)`` off the GUI thread; ``done(result)`` back on it, if still current."""
        if self._task is not None:
            self._task.cancel()
        self._generation += 1
        generation = self._generation

        def work(report: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Any:
            def progress(fraction: float) -> None:
                if cancelled():
                    raise Cancelled
                report(int(fraction * PROGRESS_STEPS), PROGRESS_STEPS)

            return job(progress)

        task = run_in_background(work, "LossLabCsvImport")
        task.progressed.connect(lambda value, total: self.progress.setValue(value))
        task.succeeded.connect(lambda result: generation == self._generation and done(result))
        task.failed.connect(lambda message, details: generation == self._generation and self._failed(message))
        task.cancelled.connect(lambda: generation == self._generation and self._failed("Stopped."))
        task.finished.connect(lambda: self._finished(task))
        self._task = task
        self.import_button.setEnabled(False)
        self.progress.setValue(0)
        self.progress.setFormat(f"{what} %p%")
        self.progress.show()
        self.stop_button.show()
        task.start()

    def _finished(self, task: BackgroundTask) -> None:
        if task is self._task:
            self._task = None
            self.progress.hide()
            self.stop_button.hide()

    @property
    def busy(self) -> bool:
        return self._task is not None

    def _failed(self, message: str) -> None:
        self.table = None
        self.summary.clear()
        self.error.show_message(message)
        self.import_button.setEnabled(False)

    @Slot()
    def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def done(self, result: int) -> None:  # Cancel, Esc or Import: nothing may go on reading
        self._stop()
        super().done(result)

    # -- the file is read -----------------------------------------------------------------------
    def _on_parsed(self, parsed: ParsedCsv) -> None:
        self.parsed = parsed
        self.format_label.setText(
            f"{parsed.format.describe()} · {parsed.n_rows:,} rows · {len(parsed.header)} columns"
        )
        self._fill_preview(parsed)
        self.target_combo.clear()
        for name in parsed.header:
            self.target_combo.addItem(name, name)
        target = self.initial.get("target_column")
        self.target_combo.setCurrentIndex(
            self.target_combo.findData(target) if target in parsed.header else len(parsed.header) - 1
        )
        self.missing_combo.setCurrentIndex(max(self.missing_combo.findData(self.initial.get("missing")), 0))
        self._fill_features(self.initial.get("features"))
        self._fill_tasks(self.initial.get("task"))
        self._check()

    def _fill_preview(self, parsed: ParsedCsv) -> None:
        rows = parsed.preview_rows(PREVIEW_ROWS)
        self.preview.clear()
        self.preview.setColumnCount(len(parsed.header))
        self.preview.setRowCount(len(rows))
        self.preview.setVerticalHeaderLabels([str(int(line)) for line in parsed.lines[: len(rows)]])
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                self.preview.setItem(i, j, QTableWidgetItem(cell))
        self._label_columns(parsed)

    def _label_columns(self, parsed: ParsedCsv | None = None) -> None:
        """Each preview column's name and its role: the target, an input (read how), or left out."""
        parsed = parsed or self.parsed
        if parsed is None:
            return
        target, features = self.target_combo.currentData(), self.features()
        labels = []
        for name in parsed.header:
            if name == target:
                role = "target"
            elif features is not None and name not in features:
                role = "left out"
            else:
                role = KIND_WORDS[column_kind(parsed, name)]
            labels.append(f"{name}\n({role})")
        self.preview.setHorizontalHeaderLabels(labels)
        self.preview.resizeColumnsToContents()

    def _fill_features(self, chosen: list[str] | None) -> None:
        assert self.parsed is not None
        target = self.target_combo.currentData()
        self.feature_list.blockSignals(True)
        self.feature_list.clear()
        for name in self.parsed.header:
            if name == target:
                continue
            item = QListWidgetItem(name, self.feature_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = chosen is None or name in chosen
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.feature_list.blockSignals(False)

    def _fill_tasks(self, task: str | None) -> None:
        assert self.parsed is not None
        detected, classes = infer_task(self.parsed, self.target_combo.currentData())
        self.task_combo.clear()
        self.task_combo.addItem(f"Detected: {_task_words(detected, classes)}", None)
        for key in CSV_TASKS:
            self.task_combo.addItem(TASKS.get(key, key), key)
        self.task_combo.setCurrentIndex(max(self.task_combo.findData(task), 0))

    @Slot(int)
    def _on_target(self, _index: int) -> None:
        self._fill_features(self.features())
        self._fill_tasks(self.task_combo.currentData())
        self._check()

    # -- choices -> a check on the whole file ------------------------------------------------------
    def features(self) -> list[str] | None:
        """The checked feature columns; None when every column but the target is checked."""
        items = [self.feature_list.item(i) for i in range(self.feature_list.count())]
        checked = [it.text() for it in items if it.checkState() == Qt.CheckState.Checked]
        return None if len(checked) == len(items) else checked

    def config(self) -> dict[str, Any]:
        """The csv keys of the dataset section for the choices shown (valid once Import is enabled)."""
        return {
            "kind": CSV_KIND,
            "path": self.path,
            "target_column": self.target_combo.currentData(),
            "task": self.task_combo.currentData(),
            "features": self.features(),
            "missing": self.missing_combo.currentData(),
            # The checked table's hash: the file may have been rewritten since the preview was read.
            "sha256": self.table.sha256 if self.table else self.parsed.sha256 if self.parsed else None,
        }

    @Slot()
    def _check(self, *_: Any) -> None:
        if self.parsed is None:
            return
        self.error.clear_message()
        self.table = None
        self._label_columns()
        cfg = self.config()
        if cfg["features"] == []:
            self._failed("Choose at least one feature column.")
            return
        self.summary.setText("Checking the whole file…")

        def job(progress: Callable[[float], None]) -> CsvTable:
            return read_csv_table(
                cfg["path"], cfg["target_column"], cfg["task"], cfg["features"], cfg["missing"], progress
            )

        self._run(job, self._on_checked, "Checking")

    def _on_checked(self, table: CsvTable) -> None:
        self.table = table
        classes = ""
        if table.class_names:
            shown = ", ".join(table.class_names[:8]) + (", …" if len(table.class_names) > 8 else "")
            classes = f" ({shown})"
        lines = [
            f"{_task_words(table.task, len(table.class_names))}{classes} · {len(table.y):,} rows · "
            f"{len(table.feature_names)} inputs from {len(table.feature_columns)} columns",
            *(f"Note: {note}" for note in table.notes),
        ]
        self.summary.setText("\n".join(lines))
        self.import_button.setEnabled(True)
        self.import_button.setFocus()
