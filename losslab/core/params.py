"""Typed parameter descriptions shared by every registry (datasets, layers, losses, optimizers).

A registry entry lists its parameters as ``Param`` objects; the experiment loader validates
against them and the GUI builds its editors from them, so neither hard-codes a member.
"""

from __future__ import annotations

import math
import reprlib
import sys
from dataclasses import dataclass
from typing import Any

from losslab.core.errors import LossLabError


@dataclass(frozen=True)
class Param:
    name: str
    label: str
    kind: str  # "float" | "int" | "bool" | "choice" | "floats" (a list of floats)
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    log: bool = False  # edit on a logarithmic scale (learning rates, strengths)
    help: str = ""

    def validate(self, value: Any, field: str) -> Any:
        """Return ``value`` converted to this parameter's type, or raise LossLabError naming ``field``."""
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise LossLabError(f"must be true or false, got {shown(value)}", field)
            return value
        if kind == "choice":
            if value not in self.choices:
                raise LossLabError(f"must be one of {', '.join(self.choices)}; got {shown(value)}", field)
            return value
        if kind == "floats":
            if value is None:
                return None
            if not isinstance(value, (list, tuple)) or not value or not all(_is_number(v) for v in value):
                raise LossLabError(f"must be a list of numbers, got {shown(value)}", field)
            for i, v in enumerate(value):
                self._check_number(v, f"{field}[{i}]")
            values = [float(v) for v in value]
            if not any(values):
                raise LossLabError(f"must not be all zero, got {shown(value)}", field)
            return values
        if not _is_number(value):
            raise LossLabError(f"must be a number, got {shown(value)}", field)
        self._check_number(value, field)
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise LossLabError(f"must be a whole number, got {shown(value)}", field)
            return int(value)
        return float(value)

    def _check_number(self, value: float, field: str) -> None:
        """Finite and within range, compared before any conversion (int(nan) or int(1e400) would raise)."""
        if isinstance(value, float) and not math.isfinite(value):
            raise LossLabError(f"must be a finite number, got {shown(value)}", field)
        if self.minimum is not None and value < self.minimum:
            raise LossLabError(f"must be at least {shown(self.minimum)}, got {shown(value)}", field)
        if self.maximum is not None and value > self.maximum:
            raise LossLabError(f"must be at most {shown(self.maximum)}, got {shown(value)}", field)
        if isinstance(value, int) and abs(value) > sys.float_info.max:  # float() of it would overflow
            raise LossLabError(f"is far too large, got {shown(value)}", field)


def shown(value: Any) -> str:
    """A value as the user wrote it in the file: 1000000000 stays so, 1e-08 stays short, text is quoted.

    Always short and always one line, whatever the value: a long text, a deep or huge list, an
    integer of thousands of digits (which str() refuses) are cut to a glimpse."""
    return _Shown().repr(value)


def _number(value: int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) < 10**15:
            return str(value)
        if abs(value) < 10**300:
            return f"{value:.3g}"
        exponent = int(math.log10(abs(value)))  # exact enough for a glimpse; str() fails past 4300 digits
        lead = abs(value) // 10 ** max(exponent - 2, 0)
        while lead >= 1000:  # log10 rounded up near a power of ten
            lead, exponent = lead // 10, exponent + 1
        digits = str(lead)
        mantissa = f"{digits[0]}.{digits[1:]}".rstrip("0").rstrip(".")
        return f"{'-' if value < 0 else ''}{mantissa}e+{exponent}"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return f"{int(value)}" if value.is_integer() and abs(value) < 1e15 else repr(value)


class _Shown(reprlib.Repr):
    """reprlib's bounded repr (depth, items, length) with numbers as ``_number`` writes them."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxlist, self.maxtuple, self.maxdict = 3, 4, 4, 4
        self.maxstring = self.maxother = 40

    def repr1(self, x: Any, level: int) -> str:
        if isinstance(x, (int, float)):
            return _number(x)
        return super().repr1(x, level)

    def repr(self, x: Any) -> str:
        text = " ".join(super().repr(x).split())  # a text with line breaks stays on one line
        return text if len(text) <= 80 else text[:77] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_params(params: tuple[Param, ...], given: Any, field: str) -> dict[str, Any]:
    """Fill defaults, convert and range-check ``given`` against ``params``; unknown names are errors."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise LossLabError(f"must be an object of parameters, got {shown(given)}", field)
    known = {p.name: p for p in params}
    unknown = sorted(set(given) - set(known), key=str)
    if unknown:
        allowed = ", ".join(known) or "none"
        name = shown(unknown[0])
        raise LossLabError(f"unknown parameter {name} (allowed: {allowed})", f"{field}.{name.strip(chr(39))}")
    return {p.name: p.validate(given.get(p.name, p.default), f"{field}.{p.name}") for p in params}
