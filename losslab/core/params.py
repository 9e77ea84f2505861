"""Typed parameter descriptions shared by every registry (datasets, layers, losses, optimizers).

A registry entry lists its parameters as ``Param`` objects; the experiment loader validates
against them and the GUI builds its editors from them, so neither hard-codes a member.
"""

from __future__ import annotations

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
                raise LossLabError(f"must be true or false, got {value!r}", field)
            return value
        if kind == "choice":
            if value not in self.choices:
                raise LossLabError(f"must be one of {', '.join(self.choices)}; got {value!r}", field)
            return value
        if kind == "floats":
            if value is None:
                return None
            if not isinstance(value, (list, tuple)) or not all(_is_number(v) for v in value):
                raise LossLabError(f"must be a list of numbers, got {value!r}", field)
            values = [float(v) for v in value]
            for v in values:
                self._check_range(v, field)
            return values
        if not _is_number(value):
            raise LossLabError(f"must be a number, got {value!r}", field)
        if kind == "int":
            if float(value) != int(value):
                raise LossLabError(f"must be a whole number, got {value!r}", field)
            value = int(value)
        else:
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                raise LossLabError(f"must be a finite number, got {value!r}", field)
        self._check_range(value, field)
        return value

    def _check_range(self, value: float, field: str) -> None:
        if self.minimum is not None and value < self.minimum:
            raise LossLabError(f"must be at least {self.minimum:g}, got {value:g}", field)
        if self.maximum is not None and value > self.maximum:
            raise LossLabError(f"must be at most {self.maximum:g}, got {value:g}", field)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_params(params: tuple[Param, ...], given: Any, field: str) -> dict[str, Any]:
    """Fill defaults, convert and range-check ``given`` against ``params``; unknown names are errors."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise LossLabError(f"must be an object of parameters, got {given!r}", field)
    known = {p.name: p for p in params}
    unknown = sorted(set(given) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise LossLabError(f"unknown parameter {unknown[0]!r} (allowed: {allowed})", f"{field}.{unknown[0]}")
    return {p.name: p.validate(given.get(p.name, p.default), f"{field}.{p.name}") for p in params}
