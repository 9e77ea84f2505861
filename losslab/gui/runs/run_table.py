"""The Runs panel's table: one row per stored run (RunSummary), name and tags editable in place.

Plain Qt model over the summaries the store lists (cheap: no curves, no weights). Sorting goes
through a QSortFilterProxyModel on ``SORT_ROLE`` (numbers sort as numbers, dates as times).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from losslab.core.losses import LOSSES
from losslab.core.metrics import LABELS
from losslab.core.runs import DIVERGED, FINAL, FINISHED, INTERRUPTED, RUNNING, STOPPED, RunSummary

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2

COLUMNS = (
    ("name", "Name", "The run's name: F2 to rename; double-click or Enter to open it"),
    ("status", "Status", "running, finished, stopped (by you), diverged, or interrupted (the program ended)"),
    ("final", "Final", "The headline metric (accuracy, R²) at the last epoch, on validation data"),
    ("best", "Best", "The headline metric at the epoch with the lowest validation loss"),
    ("loss", "Loss", ""),
    ("optimizer", "Optimizer", "Optimizer and learning rate"),
    ("epochs", "Epochs", "Epochs done / planned"),
    ("dataset", "Dataset", ""),
    ("model", "Model", "Layer widths (trainable parameters)"),
    ("loss_value", "Final loss", "Validation loss at the last epoch (training loss without a split)"),
    ("date", "Date", "When the run started"),
    ("tags", "Tags", "Comma-separated tags: F2 to edit"),
)
KEYS = [c[0] for c in COLUMNS]
EDITABLE = {"name", "tags"}
STATUS_COLORS = {
    RUNNING: "#0072B2",
    FINISHED: "#009E73",
    STOPPED: "#999999",
    DIVERGED: "#D55E00",
    INTERRUPTED: "#CC79A7",
}


def _finite(value: Any) -> bool:
    return isinstance(value, float | int) and math.isfinite(value)


def metric_text(run: RunSummary, which: str = FINAL) -> str:
    value = run.metric(which)
    if not math.isfinite(value):
        return "–"
    label = LABELS.get(run.headline, run.headline)
    return f"{label} {value:.3f}"


def final_loss(run: RunSummary) -> float:
    for key in ("val_loss", "train_loss"):
        if _finite(run.final.get(key)):
            return float(run.final[key])
    return math.nan


def model_text(run: RunSummary) -> str:
    params = f"({run.param_count:,})" if run.param_count is not None else ""
    return " ".join(p for p in (run.architecture, params) if p)


def loss_text(run: RunSummary) -> str:
    """The loss's display name ("BCE with logits"); a custom loss is stored by its own name."""
    spec = LOSSES.get(run.loss)
    return spec.name if spec is not None else run.loss


def optimizer_text(run: RunSummary) -> str:
    return f"{run.optimizer} lr {run.lr:g}" if run.lr is not None else run.optimizer


def parse_tags(text: str) -> list[str]:
    return [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]


class RunTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.runs: list[RunSummary] = []
        # Set by the panel: called with (run id, column key, new text) when a cell is edited.
        self.on_edit: Callable[[int, str, str], bool] = lambda rid, key, text: False

    def set_runs(self, runs: list[RunSummary]) -> None:
        self.beginResetModel()
        self.runs = list(runs)
        self.endResetModel()

    def add_run(self, run: RunSummary) -> None:
        """One new row (a run just started): listing every run again took ~40 ms of a Train press."""
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.runs.insert(0, run)
        self.endInsertRows()

    def update_run(self, run: RunSummary) -> bool:
        """Replace one row in place (a running run's progress); False when it is not listed."""
        for row, old in enumerate(self.runs):
            if old.id == run.id:
                self.runs[row] = run
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return True
        return False

    def run_at(self, row: int) -> RunSummary:
        return self.runs[row]

    def row_of(self, run_id: int) -> int:
        for row, run in enumerate(self.runs):
            if run.id == run_id:
                return row
        return -1

    # -- the model --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][2] or None
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and KEYS[index.column()] in EDITABLE:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        run, key = self.runs[index.row()], KEYS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(run, key, edit=role == Qt.ItemDataRole.EditRole)
        if role == SORT_ROLE:
            return self._sort_value(run, key)
        if role == ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.ToolTipRole:
            if key == "status" and run.message:
                return f"{run.status}: {run.message}"
            if key == "name":
                group = f"\nGroup: {run.group_id}" if run.group_id else ""
                return f"Run {run.id} ({run.source or 'unknown source'}){group}\nDouble-click to open it"
            return None
        if role == Qt.ItemDataRole.ForegroundRole and key == "status":
            return QColor(STATUS_COLORS.get(run.status, "#808080"))
        if role == Qt.ItemDataRole.TextAlignmentRole and key in ("epochs", "final", "best", "loss_value"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(run: RunSummary, key: str, edit: bool = False) -> str:
        if key == "name":
            return run.name
        if key == "date":
            when = run.started or run.created
            return datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M")
        if key == "dataset":
            return run.dataset
        if key == "model":
            return model_text(run)
        if key == "loss":
            return loss_text(run)
        if key == "optimizer":
            return optimizer_text(run)
        if key == "status":
            return run.status
        if key == "epochs":
            planned = f"/{run.epochs_planned}" if run.epochs_planned else ""
            return f"{run.epochs_done}{planned}"
        if key == "final":
            return metric_text(run, FINAL)
        if key == "best":
            return metric_text(run, "best")
        if key == "loss_value":
            value = final_loss(run)
            return f"{value:.4g}" if math.isfinite(value) else "–"
        if key == "tags":
            return ", ".join(run.tags)
        return ""

    @staticmethod
    def _sort_value(run: RunSummary, key: str) -> Any:
        if key == "date":
            return run.started or run.created
        if key == "final":
            value = run.metric(FINAL)
        elif key == "best":
            value = run.metric("best")
        elif key == "loss_value":
            value = final_loss(run)
        elif key == "epochs":
            return run.epochs_done
        elif key == "model":
            return run.param_count or 0
        else:
            return RunTableModel._text(run, key).lower()
        return value if math.isfinite(value) else -math.inf

    def setData(
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        key = KEYS[index.column()]
        if key not in EDITABLE:
            return False
        run = self.runs[index.row()]
        return bool(self.on_edit(run.id, key, str(value)))
