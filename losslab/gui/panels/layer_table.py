"""The network panel's table: the input, each hidden layer and the output LossLab adds, one row each,
with its settings, output width and parameter count; an invalid layer's row is flagged."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSizePolicy,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from losslab.core.layers import ACTIVATIONS, LAYERS, LayerSpec, format_shape
from losslab.gui.param_form import format_number

COLUMNS = ("Layer", "Settings", "Out", "Params")
MIN_ROWS, MAX_ROWS = 5, 14
ERROR_BACKGROUND = QColor("#fbe3e3")
FIXED_FOREGROUND = QColor("#666666")
_LAYER_FIELD = re.compile(r"^model\.layers\[(\d+)\](?:\.([A-Za-z_]\w*))?")


def layer_field(field: str | None) -> tuple[int | None, str | None]:
    """The hidden layer and parameter a LossLabError field names: 'model.layers[2].units' -> (2, 'units')."""
    match = _LAYER_FIELD.match(field or "")
    return (int(match.group(1)), match.group(2)) if match else (None, None)


def choice_labels(spec: LayerSpec) -> dict[str, dict[str, str]]:
    """Show activation ids by their names wherever a layer parameter chooses an activation."""
    return {
        p.name: ACTIVATIONS for p in spec.params if p.kind == "choice" and set(p.choices) <= set(ACTIVATIONS)
    }


def layer_settings(spec: LayerSpec, layer: dict[str, Any]) -> str:
    """A short summary of a layer's parameters: 'Units 16', 'Drop probability 0.2', 'no Bias'."""
    parts = []
    labels = choice_labels(spec)
    for p in spec.params:
        value = layer.get(p.name, p.default)
        if p.kind == "bool":
            if value != p.default:
                parts.append(p.label if value else f"no {p.label.lower()}")
        elif p.kind == "choice":
            parts.append(labels.get(p.name, {}).get(value, str(value)))
        elif p.kind == "float":
            parts.append(f"{p.label} {format_number(value, 4)}")
        else:
            parts.append(f"{p.label} {value}")
    return ", ".join(parts)


class LayerTable(QTableWidget):
    """Shows a network (``show_network``); selection and context menu are the panel's."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAlternatingRowColors(True)
        self.setAccessibleName("Network layers")
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.setHighlightSections(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)

    def show_network(
        self,
        layers: list[dict[str, Any]],
        in_shape: tuple[int, ...],
        n_out: int,
        out_act: str | None,
        infos: dict[int, Any],
        row_errors: dict[int, str],
    ) -> None:
        """One row per layer; ``infos``: describe_model's rows by layer index (-1: the output layer).

        ``in_shape``: (features,) or an image's (channels, height, width); the Out column shows each
        layer's output shape the same way ("16", or "8×14×14")."""
        self.setRowCount(len(layers) + 2)
        n_in = in_shape[0] if len(in_shape) == 1 else 0
        self._set_row(
            0,
            "Input",
            f"{n_in} feature{'s' if n_in != 1 else ''}" if len(in_shape) == 1 else "image (channels×H×W)",
            format_shape(in_shape),
            "–",
            fixed=True,
            tooltip="The dataset decides how many inputs the network has (for images: channels × "
            "height × width pixels)",
        )
        for i, layer in enumerate(layers):
            spec = LAYERS[layer["type"]]
            info = infos.get(i)
            self._set_row(
                i + 1,
                spec.name,
                layer_settings(spec, layer),
                format_shape(info.out_shape) if info else "?",
                f"{info.n_params:,}" if info else "?",
                tooltip=spec.description,
                error=row_errors.get(i),
            )
        head = infos.get(-1)
        activation = f" + {out_act}" if out_act else ""
        self._set_row(
            len(layers) + 1,
            "Output",
            f"{'1×1 Conv2d' if head and len(head.out_shape) > 1 else 'Linear'}({n_out}){activation}",
            format_shape(head.out_shape) if head else str(n_out),
            f"{head.n_params:,}" if head else "?",
            fixed=True,
            tooltip="LossLab adds this layer: one output per class (or one for a single target), "
            "and the activation the chosen loss needs",
        )
        self._fit_height()

    def _fit_height(self) -> None:
        """Show every row (between MIN_ROWS and MAX_ROWS of them) instead of a fixed-size blank box."""
        self.resizeRowsToContents()
        row_height = max(
            (self.rowHeight(r) for r in range(self.rowCount())),
            default=self.verticalHeader().defaultSectionSize(),
        )
        rows = min(max(self.rowCount(), MIN_ROWS), MAX_ROWS)
        height = self.horizontalHeader().sizeHint().height() + rows * row_height + 2 * self.frameWidth() + 2
        self.setFixedHeight(height)

    def _set_row(
        self,
        row: int,
        name: str,
        settings: str,
        out: str,
        params: str,
        *,
        fixed: bool = False,
        tooltip: str = "",
        error: str | None = None,
    ) -> None:
        for col, text in enumerate((name, settings, out, params)):
            item = self.item(row, col)
            if item is None:
                item = QTableWidgetItem()
                self.setItem(row, col, item)
            item.setText(text)
            item.setToolTip(f"Invalid: {error}" if error else (tooltip if col == 0 else text or tooltip))
            if col >= 2:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            font = QFont(self.font())
            font.setItalic(fixed)
            item.setFont(font)
            item.setForeground(QBrush(FIXED_FOREGROUND) if fixed else QBrush())
            item.setBackground(QBrush(ERROR_BACKGROUND) if error else QBrush())
            if col == 0:
                item.setIcon(
                    self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
                    if error
                    else QIcon()
                )
