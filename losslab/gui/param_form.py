"""Editors built from a tuple of core ``Param`` descriptions, so no panel hard-codes a parameter.

``ParamForm`` lays out one row per Param (float -> spin box, plus a logarithmic slider for
``log=True``; int -> spin box; bool -> check box; choice -> combo box; floats -> a line of
comma-separated numbers) and reports user edits through ``valueChanged(name, value)``. Values the
form can already see are wrong (out of range, not a number) are shown under the field with the
message core validation gives, and never emitted; the owner shows errors that only the experiment
can detect with ``show_error``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFocusEvent, QKeyEvent, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.params import Param

ERROR_COLOR = "#c62828"
_PARTIAL_NUMBER = re.compile(r"[+-]?(\d*\.?\d*)?([eE][+-]?\d*)?")
_UNBOUNDED = 1e15  # what a float spin box uses for a missing minimum/maximum
_INT_LIMIT = 2**31 - 1
SLIDER_STEPS_PER_DECADE = 20
_NAME_PROPERTY = "paramName"


def error_message(exc: LossLabError) -> str:
    """The message of ``exc`` without the ``field: `` prefix LossLabError adds."""
    text = str(exc)
    prefix = f"{exc.field}: " if exc.field else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def format_number(value: float, significant: int = 10) -> str:
    """Short, exact-looking text for a float: 0.01, 0.00037, 1e-05 -> '1e-5', 2.5, 100."""
    if value == 0:
        return "0"
    text = f"{value:.{significant}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def _smallest_positive(*values: float | None) -> float | None:
    positive = [abs(v) for v in values if isinstance(v, (int, float)) and v and v > 0]
    return min(positive) if positive else None


def _step_and_decimals(param: Param) -> tuple[float | None, int]:
    """A fixed single step (None: adaptive) and the decimals a float spin box needs for ``param``.

    Log-scaled and unbounded parameters step adaptively (one digit below the value's leading one),
    so a learning rate of 1e-5 steps by 1e-6; bounded linear ones step by about 1/20 of the range.
    The decimals always keep four digits below the smallest meaningful value, so any value within
    the range can be typed exactly (1e-5, 0.00037) and not rounded away.
    """
    floor = log_floor(param) if param.log else None
    smallest = _smallest_positive(param.minimum, param.default, floor)
    unbounded = param.minimum is None or param.maximum is None
    if param.log or unbounded or float(param.maximum) - float(param.minimum) > 1000:
        step = None
        base = smallest if smallest is not None else 1.0
    else:
        span = float(param.maximum) - float(param.minimum)
        step = 10.0 ** math.floor(math.log10(span / 20.0)) if span > 0 else 1.0
        base = min(step, smallest) if smallest is not None else step
    decimals = max(2, -math.floor(math.log10(base)) + 4)
    return step, min(decimals, 16)


def log_floor(param: Param) -> float:
    """The smallest positive value a log slider for ``param`` reaches (its minimum when that is > 0)."""
    if param.minimum is not None and param.minimum > 0:
        return float(param.minimum)
    top = log_ceiling(param)
    candidates = [top * 1e-7]
    if isinstance(param.default, (int, float)) and param.default > 0:
        candidates.append(float(param.default))
    return min(candidates)


def log_ceiling(param: Param) -> float:
    """The largest value a log slider for ``param`` reaches (its maximum, else well above the default)."""
    if param.maximum is not None and param.maximum > 0:
        return float(param.maximum)
    default = param.default if isinstance(param.default, (int, float)) and param.default > 0 else 1.0
    return 10.0 ** (math.ceil(math.log10(max(default, 1.0))) + 3)


def _normalise(text: str) -> str:
    """Typed number text as Python reads it: a lone decimal comma (0,5) counts as a point."""
    text = text.strip()
    return text.replace(",", ".") if "," in text and "." not in text else text


class _RangeReporting:
    """Mixin for spin boxes: a typed number outside the range is reported (then reverted by Qt)."""

    outOfRange: Signal

    def _check_typed(self) -> None:
        text = _normalise(self.lineEdit().text())  # type: ignore[attr-defined]
        try:
            value = float(text)
        except ValueError:
            return
        if math.isfinite(value) and not self.minimum() <= value <= self.maximum():  # type: ignore[attr-defined]
            self.outOfRange.emit(value)

    # Typed values are checked when the user commits them: Enter, or leaving the field.
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._check_typed()
        super().keyPressEvent(event)  # type: ignore[misc]

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._check_typed()
        super().focusOutEvent(event)  # type: ignore[misc]


class FloatSpinBox(_RangeReporting, QDoubleSpinBox):
    """A QDoubleSpinBox that shows short numbers (no trailing zeros) and accepts 1e-5 notation."""

    outOfRange = Signal(float)

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        step, decimals = _step_and_decimals(param)
        self.setDecimals(decimals)  # before the range: Qt rounds the range to the decimals
        lo = -_UNBOUNDED if param.minimum is None else float(param.minimum)
        hi = _UNBOUNDED if param.maximum is None else float(param.maximum)
        self.setRange(lo, hi)
        if step is None:
            self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        else:
            self.setSingleStep(step)
        self.setKeyboardTracking(False)  # one edit per Enter / focus change, not per keystroke
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:
        return format_number(value)

    def valueFromText(self, text: str) -> float:
        try:
            return float(_normalise(text))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> QValidator.State:
        stripped = _normalise(text)
        try:
            value = float(stripped)
        except ValueError:
            if _PARTIAL_NUMBER.fullmatch(stripped):
                return QValidator.State.Intermediate
            return QValidator.State.Invalid
        if not math.isfinite(value):
            return QValidator.State.Invalid
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable
        return QValidator.State.Intermediate


class IntSpinBox(_RangeReporting, QSpinBox):
    """A QSpinBox that reports typed values outside its range instead of silently ignoring them."""

    outOfRange = Signal(float)

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lo = -_INT_LIMIT if param.minimum is None else int(param.minimum)
        hi = _INT_LIMIT if param.maximum is None else int(min(param.maximum, _INT_LIMIT))
        self.setRange(lo, hi)
        if param.log or hi - lo > 10_000:
            self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setKeyboardTracking(False)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setAccelerated(True)

    def validate(self, text: str, pos: int) -> QValidator.State:
        stripped = text.strip()
        if self.specialValueText() and stripped == self.specialValueText():
            return QValidator.State.Acceptable
        if stripped in ("", "-", "+"):
            return QValidator.State.Intermediate
        try:
            value = int(stripped)
        except ValueError:
            return QValidator.State.Invalid
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable
        return QValidator.State.Intermediate


class LogSlider(QSlider):
    """A horizontal slider over a log scale: SLIDER_STEPS_PER_DECADE positions per power of ten.

    When the parameter may be 0 (L1/L2 strength, epsilon) the leftmost position is exactly 0.
    Values are rounded to two significant digits so the slider lands on readable numbers.
    """

    def __init__(self, param: Param, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._floor = log_floor(param)
        self._ceiling = max(log_ceiling(param), self._floor)
        self._zero = param.minimum is None or param.minimum <= 0
        decades = math.log10(self._ceiling / self._floor)
        self._positions = max(1, round(decades * SLIDER_STEPS_PER_DECADE))
        self.setRange(0, self._positions + (1 if self._zero else 0))
        self.setSingleStep(1)
        self.setPageStep(SLIDER_STEPS_PER_DECADE)
        self.setTracking(False)  # valueChanged on release; sliderMoved while dragging
        self.setMinimumWidth(60)

    def to_float(self, position: int) -> float:
        if self._zero:
            if position <= 0:
                return 0.0
            position -= 1
        if position <= 0:
            return self._floor
        if position >= self._positions:
            return self._ceiling
        value = 10.0 ** (math.log10(self._floor) + position / SLIDER_STEPS_PER_DECADE)
        return float(f"{value:.2g}")

    def to_position(self, value: float) -> int:
        offset = 1 if self._zero else 0
        if value <= 0:
            return 0
        if value <= self._floor:
            return offset
        ratio = math.log10(value / self._floor) * SLIDER_STEPS_PER_DECADE
        return offset + min(self._positions, round(ratio))

    def set_float(self, value: float) -> None:
        blocked = self.blockSignals(True)
        self.setValue(self.to_position(value))
        self.blockSignals(blocked)


class _Field:
    """The widgets of one parameter row."""

    def __init__(
        self,
        param: Param,
        editor: QWidget,
        container: QWidget,
        row: QHBoxLayout,
        label: QLabel,
        error: QLabel,
        slider: LogSlider | None,
    ) -> None:
        self.param = param
        self.editor = editor
        self.container = container
        self.row = row
        self.label = label
        self.error = error
        self.slider = slider
        self.value: Any = param.default


class ParamForm(QWidget):
    """One editor per Param in a QFormLayout; emits ``valueChanged(name, value)`` on user edits only.

    ``choice_labels`` maps a param name to {choice: display text} for choice params whose choices
    are ids (an activation id shown by its display name).
    """

    valueChanged = Signal(str, object)

    def __init__(
        self,
        params: tuple[Param, ...],
        values: Mapping[str, Any] | None = None,
        parent: QWidget | None = None,
        *,
        choice_labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self._params = tuple(params)
        self._fields: dict[str, _Field] = {}
        self._choice_labels = dict(choice_labels or {})
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._layout = layout
        for param in self._params:
            self._add_row(param)
        self.set_values(values or {})

    # -- building ---------------------------------------------------------------------------
    def _add_row(self, param: Param) -> None:
        container = QWidget(self)
        column = QVBoxLayout(container)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        column.addLayout(row)
        slider: LogSlider | None = None
        editor = self._make_editor(param, container)
        if param.kind == "float" and param.log:
            slider = LogSlider(param, container)
            slider.setToolTip(param.help)
            slider.setAccessibleName(f"{param.label} (logarithmic slider)")
            editor.setMinimumWidth(editor.fontMetrics().horizontalAdvance("0.00001") + 28)
            editor.setMaximumWidth(editor.fontMetrics().horizontalAdvance("0.000001") + 40)
            row.addWidget(editor)
            row.addWidget(slider, 1)
            slider.setProperty(_NAME_PROPERTY, param.name)
            slider.sliderMoved.connect(self._on_slider_moved)
            slider.valueChanged.connect(self._on_slider_released)
        else:
            row.addWidget(editor, 1)
        error = QLabel(container)
        error.setWordWrap(True)
        error.setStyleSheet(f"color: {ERROR_COLOR};")
        error.setTextFormat(Qt.TextFormat.PlainText)
        error.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        error.hide()
        column.addWidget(error)
        label = QLabel(param.label + ":", self)
        label.setBuddy(editor)
        label.setToolTip(param.help)
        editor.setToolTip(param.help)
        editor.setAccessibleName(param.label)
        editor.setAccessibleDescription(param.help)
        self._fields[param.name] = _Field(param, editor, container, row, label, error, slider)
        self._layout.addRow(label, container)

    def _make_editor(self, param: Param, parent: QWidget) -> QWidget:
        editor: QWidget
        if param.kind == "float":
            editor = FloatSpinBox(param, parent)
            editor.valueChanged.connect(self._on_float_spin)
            editor.outOfRange.connect(self._on_out_of_range)
        elif param.kind == "int":
            editor = IntSpinBox(param, parent)
            editor.valueChanged.connect(self._on_int_spin)
            editor.outOfRange.connect(self._on_out_of_range)
        elif param.kind == "bool":
            editor = QCheckBox(parent)
            editor.toggled.connect(self._on_toggled)
        elif param.kind == "choice":
            editor = QComboBox(parent)
            labels = self._choice_labels.get(param.name, {})
            for choice in param.choices:
                editor.addItem(labels.get(choice, choice), choice)
            editor.activated.connect(self._on_choice)
        elif param.kind == "floats":
            editor = QLineEdit(parent)
            editor.setPlaceholderText("none, or e.g. 1, 2.5, 1")
            editor.setClearButtonEnabled(True)
            editor.editingFinished.connect(self._on_floats_edited)
        else:
            raise ValueError(f"unknown parameter kind {param.kind!r} for {param.name!r}")
        editor.setProperty(_NAME_PROPERTY, param.name)
        return editor

    def _sender_name(self) -> str | None:
        sender = self.sender()
        name = sender.property(_NAME_PROPERTY) if sender is not None else None
        return name if name in self._fields else None

    # -- reading ----------------------------------------------------------------------------
    @property
    def params(self) -> tuple[Param, ...]:
        return self._params

    def names(self) -> list[str]:
        return list(self._fields)

    def is_empty(self) -> bool:
        return not self._fields

    def value(self, name: str) -> Any:
        return self._fields[name].value

    def values(self) -> dict[str, Any]:
        return {name: f.value for name, f in self._fields.items()}

    def editor(self, name: str) -> QWidget:
        """The main editor of ``name`` (spin box, check box, combo box or line edit)."""
        return self._fields[name].editor

    def slider(self, name: str) -> LogSlider | None:
        return self._fields[name].slider

    def label(self, name: str) -> QLabel:
        return self._fields[name].label

    def field_layout(self, name: str) -> QHBoxLayout:
        """The row holding the editor of ``name``: add extra widgets (a check box) beside it."""
        return self._fields[name].row

    def label_width(self) -> int:
        """The width the widest label needs (0 when the form is empty)."""
        return max((f.label.sizeHint().width() for f in self._fields.values()), default=0)

    def set_label_width(self, width: int) -> None:
        """Give every label at least ``width`` pixels, to line fields up with another form's."""
        for field in self._fields.values():
            field.label.setMinimumWidth(width)

    def error(self, name: str) -> str:
        """The error shown under ``name``, or ''."""
        field = self._fields[name]
        return field.error.text() if not field.error.isHidden() else ""

    # -- writing ----------------------------------------------------------------------------
    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (names this form does not have are ignored) without emitting anything."""
        for name, value in values.items():
            if name in self._fields:
                self._show_value(self._fields[name], value)

    def set_value(self, name: str, value: Any) -> None:
        self.set_values({name: value})

    def show_error(self, name: str, message: str) -> bool:
        """Show ``message`` in red under ``name``; False if this form has no such field."""
        field = self._fields.get(name)
        if field is None:
            return False
        field.error.setText(message)
        field.error.show()
        field.editor.setAccessibleDescription(f"Error: {message}")
        return True

    def clear_error(self, name: str | None = None) -> None:
        """Hide the error under ``name`` (every field's when None)."""
        for field_name, field in self._fields.items():
            if name is None or field_name == name:
                field.error.clear()
                field.error.hide()
                field.editor.setAccessibleDescription(field.param.help)

    def _show_value(self, field: _Field, value: Any) -> None:
        field.value = value
        editor = field.editor
        blocked = editor.blockSignals(True)
        try:
            if isinstance(editor, (FloatSpinBox, IntSpinBox)):
                if value is not None:
                    editor.setValue(value)
                if field.slider is not None and value is not None:
                    field.slider.set_float(float(value))
            elif isinstance(editor, QCheckBox):
                editor.setChecked(bool(value))
            elif isinstance(editor, QComboBox):
                index = editor.findData(value)
                if index < 0 and value is not None:
                    editor.addItem(str(value), value)
                    index = editor.count() - 1
                editor.setCurrentIndex(index)
            elif isinstance(editor, QLineEdit):
                editor.setText("" if value is None else ", ".join(format_number(v) for v in value))
        finally:
            editor.blockSignals(blocked)

    # -- user edits -------------------------------------------------------------------------
    def _commit(self, name: str, value: Any) -> None:
        field = self._fields[name]
        try:
            value = field.param.validate(value, "")
        except LossLabError as exc:
            self.show_error(name, error_message(exc))
            self._show_value(field, field.value)
            return
        self.clear_error(name)
        if value == field.value:
            return
        field.value = value
        self.valueChanged.emit(name, value)

    @Slot(float)
    def _on_float_spin(self, value: float) -> None:
        name = self._sender_name()
        if name is not None:
            self._on_spin(name, value)

    @Slot(int)
    def _on_int_spin(self, value: int) -> None:
        name = self._sender_name()
        if name is not None:
            self._on_spin(name, value)

    def _on_spin(self, name: str, value: float) -> None:
        field = self._fields[name]
        if field.slider is not None:
            field.slider.set_float(float(value))
        self._commit(name, value)

    @Slot(bool)
    def _on_toggled(self, checked: bool) -> None:
        name = self._sender_name()
        if name is not None:
            self._commit(name, bool(checked))

    @Slot(int)
    def _on_choice(self, index: int) -> None:
        name = self._sender_name()
        if name is not None:
            self._commit(name, self._fields[name].editor.itemData(index))  # type: ignore[attr-defined]

    @Slot(float)
    def _on_out_of_range(self, value: float) -> None:
        name = self._sender_name()
        if name is None:
            return
        param = self._fields[name].param
        typed: float | int = int(value) if param.kind == "int" and value.is_integer() else value
        try:
            param.validate(typed, "")
        except LossLabError as exc:
            self.show_error(name, error_message(exc))

    def _slider_to_entry(self, position: int) -> tuple[str, QWidget] | None:
        """Show the sending slider's value in its entry (without its signals); (name, entry)."""
        name = self._sender_name()
        if name is None:
            return None
        field = self._fields[name]
        assert field.slider is not None
        spin = field.editor
        blocked = spin.blockSignals(True)
        spin.setValue(field.slider.to_float(position))  # type: ignore[attr-defined]
        spin.blockSignals(blocked)
        return name, spin

    @Slot(int)
    def _on_slider_moved(self, position: int) -> None:
        """While dragging: show the value in the entry, but do not commit it yet."""
        self._slider_to_entry(position)

    @Slot(int)
    def _on_slider_released(self, position: int) -> None:
        moved = self._slider_to_entry(position)
        if moved is not None:
            name, spin = moved
            self._commit(name, spin.value())  # type: ignore[attr-defined]

    @Slot()
    def _on_floats_edited(self) -> None:
        name = self._sender_name()
        if name is None:
            return
        field = self._fields[name]
        text = field.editor.text().strip()  # type: ignore[attr-defined]
        if not text:
            self._commit(name, None)
            return
        values: list[float] = []
        for part in re.split(r"[,;\s]+", text.strip(",; ")):
            try:
                number = float(part)
            except ValueError:
                self.show_error(name, f"{part!r} is not a number; write numbers separated by commas")
                return
            if not math.isfinite(number):
                self.show_error(name, f"{part!r} is not a finite number")
                return
            values.append(number)
        if values == field.value:
            self.clear_error(name)
            return
        self._commit(name, values)


def align_forms(*forms: ParamForm) -> None:
    """Line up the fields of forms stacked in one group box (same label column width)."""
    width = max((form.label_width() for form in forms), default=0)
    for form in forms:
        form.set_label_width(width)
