"""Small widgets the dock panels and the live views share: error banners, hints, badges, a scroll
area, a flow layout, a grouped combo box, the formula font, and ``try_update`` (a state edit whose
error shows under its field). Colours live in theme.py; ``panels`` and ``plots`` import both, never
each other (import-linter contract in pyproject)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontDatabase, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QLayout,
    QLayoutItem,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.params import Param
from losslab.gui.param_form import ERROR_COLOR, ParamForm, error_message
from losslab.gui.state import ExperimentState

PANEL_MIN_WIDTH = 280  # the panels sit in docks about 320 px wide
_INDEX = re.compile(r"\[\d+\]$")

# Badge tones: (text colour, background)
GOOD = ("#1b5e20", "#e3f1e4")
BAD = ("#8a3a00", "#fdecd9")
INFO = ("#0d3c61", "#e1eefa")
# Math-looking serif faces, best first; the formula HTML marks variables in <i> itself, so the face
# stays upright (function names such as log and max are upright in mathematical writing).
MATH_FAMILIES = (
    "STIX Two Math",
    "STIX Two Text",
    "Cambria Math",
    "Cambria",
    "Latin Modern Math",
    "Latin Modern Roman",
    "TeX Gyre Termes",
    "Times New Roman",
    "Liberation Serif",
    "DejaVu Serif",
)
FORMULA_SCALE = 1.3


def math_font(base: QFont) -> QFont:
    """A serif font one third larger than ``base``, for formulas."""
    font = QFont(base)
    available = set(QFontDatabase.families())
    family = next((f for f in MATH_FAMILIES if f in available), None)
    if family:
        font.setFamily(family)
    font.setStyleHint(QFont.StyleHint.Serif)
    font.setPointSizeF(base.pointSizeF() * FORMULA_SCALE)
    return font


def field_param_name(field: str | None) -> str | None:
    """The parameter a LossLabError field names: 'optimizer.schedule.params.gamma' -> 'gamma'."""
    if not field:
        return None
    last = field.rsplit(".", 1)[-1]
    return None if _INDEX.search(last) else last


class ErrorLabel(QLabel):
    """A red, word-wrapped message that hides itself when there is nothing to say."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setStyleSheet(f"color: {ERROR_COLOR};")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.hide()

    def show_message(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))

    def clear_message(self) -> None:
        self.clear()
        self.hide()

    def message(self) -> str:
        return self.text() if not self.isHidden() else ""


def hint_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """Word-wrapped secondary text (descriptions, notes)."""
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    font = label.font()
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.92))
    label.setFont(font)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def badge(text: str, tone: tuple[str, str], tooltip: str = "", parent: QWidget | None = None) -> QLabel:
    label = QLabel(text, parent)
    fg, bg = tone
    label.setStyleSheet(
        f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {fg}40; border-radius: 7px;"
        " padding: 1px 7px; }"
    )
    font = label.font()
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.88))
    label.setFont(font)
    label.setToolTip(tooltip)
    label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return label


def set_badge(label: QLabel, text: str, tone: tuple[str, str], tooltip: str = "") -> None:
    fg, bg = tone
    label.setText(text)
    label.setToolTip(tooltip)
    label.setStyleSheet(
        f"QLabel {{ color: {fg}; background: {bg}; border: 1px solid {fg}40; border-radius: 7px;"
        " padding: 1px 7px; }"
    )


def scroll_area(content: QWidget, parent: QWidget | None = None) -> QScrollArea:
    """A frameless vertical scroll area around ``content`` (the panel's own scroll bar when tall)."""
    area = QScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    content.setMinimumWidth(PANEL_MIN_WIDTH - 40)
    area.setWidget(content)
    return area


def panel_content() -> tuple[QWidget, QVBoxLayout]:
    """The widget a dock panel fills, top to bottom, and its column layout (6 px margins)."""
    content = QWidget()
    column = QVBoxLayout(content)
    column.setContentsMargins(6, 6, 6, 6)
    return content, column


def wrap_panel(panel: QWidget, content: QWidget, column: QVBoxLayout) -> None:
    """Close ``column`` (what is left of the height stays empty below it) and lay ``content`` into
    ``panel`` inside the panel's own scroll area."""
    column.addStretch(1)
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll_area(content, panel))


def registry_combo(entries: Iterable[tuple[str, Any, str]], parent: QWidget | None = None) -> QComboBox:
    """A combo box of (text, data, tooltip) entries: a registry's members by name."""
    combo = QComboBox(parent)
    for text, data, tooltip in entries:
        combo.addItem(text, data)
        combo.setItemData(combo.count() - 1, tooltip, Qt.ItemDataRole.ToolTipRole)
    return combo


def add_labelled_row(form: QFormLayout, text: str, widget: QWidget, parent: QWidget | None = None) -> QLabel:
    """A form row whose label (with its &-shortcut) is the buddy of ``widget``."""
    label = QLabel(text, parent)
    label.setBuddy(widget)
    form.addRow(label, widget)
    return label


class FormSlot:
    """Where a panel shows the parameters of the registry entry it has chosen (a dataset kind, a layer
    type, a loss, an optimizer): a ParamForm in its own sub-layout of ``layout``, built again only when
    the entry's ``key`` changes; every form's ``valueChanged(name, value)`` goes to ``on_change``."""

    def __init__(
        self,
        layout: QVBoxLayout,
        parent: QWidget | None,
        on_change: Callable[[str, Any], None],
        key: Any = None,
    ) -> None:
        self.holder = QVBoxLayout()
        self.holder.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.holder)
        self.form = ParamForm((), {}, parent)
        self.holder.addWidget(self.form)
        self.key = key
        self._on_change = on_change

    def show(
        self, key: Any, params: tuple[Param, ...], choice_labels: dict[str, dict[str, str]] | None = None
    ) -> ParamForm:
        """The form for ``key``: the one shown, or a new one for ``params`` in its place."""
        if key == self.key:
            return self.form
        old = self.form
        self.form = ParamForm(params, {}, old.parentWidget(), choice_labels=choice_labels)
        self.form.setObjectName(old.objectName())
        self.form.valueChanged.connect(self._on_change)
        self.holder.replaceWidget(old, self.form)
        old.hide()
        old.deleteLater()
        self.key = key
        return self.form


class EntryBox(QGroupBox):
    """A group box where a panel picks one registry entry: a labelled combo box of the entries, the
    chosen one's description, its parameter form (``slot``, a FormSlot) and an error line.
    ``extra(box)`` makes a widget shown between the description and the form (e.g. shared fields)."""

    def __init__(
        self,
        title: str,
        label: str,
        entries: Iterable[tuple[str, Any, str]],
        on_param_change: Callable[[str, Any], None],
        parent: QWidget | None = None,
        extra: Callable[[QWidget], QWidget] | None = None,
    ) -> None:
        super().__init__(title, parent)
        layout = QVBoxLayout(self)
        top = QFormLayout()
        top.setContentsMargins(0, 0, 0, 0)
        self.combo = registry_combo(entries, self)
        add_labelled_row(top, label, self.combo, self)
        layout.addLayout(top)
        self.description = hint_label("", self)
        layout.addWidget(self.description)
        self.extra = extra(self) if extra is not None else None
        if self.extra is not None:
            layout.addWidget(self.extra)
        self.slot = FormSlot(layout, self, on_param_change)
        self.error = ErrorLabel(self)
        layout.addWidget(self.error)


class FlowLayout(QLayout):
    """Lays widgets out left to right and wraps to a new line when the width runs out (badges)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m: QMargins = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _arrange(self, rect: QRect, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_height = area.x(), area.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line_height > 0:
                x, y = area.x(), y + line_height + self._spacing
                line_height = 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y() + m.bottom()


class GroupedComboBox(QComboBox):
    """A combo box whose items sit under bold, disabled section headers ("Regression", ...)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = QStandardItemModel(self)
        self.setModel(self._model)

    def add_header(self, text: str) -> None:
        item = QStandardItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)  # neither selectable nor enabled: keys skip it
        font = QFont(self.font())
        font.setBold(True)
        item.setFont(font)
        self._model.appendRow(item)

    def add_entry(self, text: str, data: Any, tooltip: str = "") -> None:
        item = QStandardItem(text)
        item.setData(data, Qt.ItemDataRole.UserRole)
        if tooltip:
            item.setToolTip(tooltip)
        self._model.appendRow(item)

    def is_header(self, index: int) -> bool:
        item = self._model.item(index)
        return item is not None and not item.isEnabled()

    def select_data(self, data: Any) -> bool:
        """Select the entry holding ``data`` without emitting; False if there is none."""
        index = self.findData(data, Qt.ItemDataRole.UserRole)
        blocked = self.blockSignals(True)
        if index >= 0:
            self.setCurrentIndex(index)
        self.blockSignals(blocked)
        return index >= 0


def try_update(
    state: ExperimentState,
    section: str,
    changes: dict[str, Any],
    form: ParamForm | None,
    banner: ErrorLabel,
) -> bool | None:
    """``state.update`` that shows a LossLabError under the field it names (else in ``banner``).

    Returns True when applied, False when the edit guard refused, None when the edit was invalid.
    """
    try:
        applied = state.update(section, **changes)
    except LossLabError as exc:
        show_error(exc, form, banner)
        return None
    banner.clear_message()
    return applied


def show_error(exc: LossLabError, form: ParamForm | None, banner: ErrorLabel) -> None:
    """Show ``exc`` under the field of ``form`` it names, or in full in ``banner``."""
    name = field_param_name(exc.field)
    if form is None or name is None or not form.show_error(name, error_message(exc)):
        banner.show_message(str(exc))
