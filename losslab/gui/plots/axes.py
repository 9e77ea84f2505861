"""An axis whose labels stay readable: one number format per axis, and on a log scale minor ticks
labelled only where there is room for them.

pyqtgraph labels every minor tick of a log axis (2, 3, ... 9 in each decade) and formats each value
on its own ("0.001" beside "10⁻⁴"): on a short axis the labels of 0.6 0.7 0.8 0.9 print over each
other. Here decades are always labelled; the other ticks get a label by the pixels a decade takes.
On a linear scale pyqtgraph writes "1e+06" above "900000"; here every label of the axis has the
same form: fixed decimals, or one suffix (k, M, G) for the whole axis once values reach 10,000.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

# Pixels per decade from which these mantissas are labelled too (their gaps: 2-3 is 0.18 of a decade,
# 9-10 only 0.046).
MINOR_LABELS = ((300.0, frozenset(range(2, 10))), (110.0, frozenset({2, 3, 5})), (60.0, frozenset({2, 5})))
PLAIN = (1e-3, 1e4)  # labels inside this range are written out (0.002); outside, as powers (2·10⁻⁴)
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
SUFFIXES = ((1e9, "G"), (1e6, "M"), (1e4, "k"))  # from 10,000 on: "20k", not "20000" or "2e+04"


def power_text(value: float, digits: int = 1) -> str:
    """2e-4 -> "2·10⁻⁴", 1e5 -> "10⁵"; ``digits`` significant digits (6.25e8, 2 -> "6.2·10⁸")."""
    exponent = math.floor(math.log10(value))
    mantissa = round(value / 10**exponent, digits - 1)
    if mantissa >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    power = f"10{str(exponent).translate(_SUPERSCRIPT)}"
    text = f"{mantissa:.{digits - 1}f}" if digits > 1 else f"{mantissa:.0f}"
    return power if text in ("1", "1." + "0" * (digits - 1)) else f"{text}·{power}"


def linear_labels(values: list[float], spacing: float, biggest: float | None = None) -> list[str]:
    """Labels for ticks ``spacing`` apart, all in one form; ``biggest``: the largest magnitude on the
    axis (every tick level gets the same suffix), else that of ``values``."""
    if not values:
        return []
    if biggest is None:
        biggest = max(abs(v) for v in values)
    divisor, suffix = next(((d if d > 1e4 else 1e3, s) for d, s in SUFFIXES if biggest >= d), (1.0, ""))
    step = spacing / divisor
    places = max(0, math.ceil(-math.log10(step))) if step > 0 else 0
    return [f"{v / divisor + 0.0:.{places}f}{suffix}" for v in values]


class TidyAxis(pg.AxisItem):
    """A drop-in AxisItem with tidy labels (see the module's doc), on linear and log scales."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        # One form for every tick level: the suffix from the axis's range, the decimals from the
        # finest level's spacing ("1.0" beside "1.5", not "1" beside "1.5").
        lo, hi = sorted(self.range)
        biggest = max(abs(lo), abs(hi)) * scale
        length = self.height() if self.orientation in ("left", "right") else self.width()
        levels = self.tickSpacing(lo, hi, length) if hi > lo and length > 0 else []
        finest = min([spacing, *(s for s, _ in levels)])
        return linear_labels([v * scale for v in values], finest * scale, biggest)

    def _pixels_per_decade(self) -> float:
        lo, hi = self.range
        length = self.height() if self.orientation in ("left", "right") else self.width()
        return float(length) / max(abs(hi - lo), 1e-12)

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        shown = frozenset[int]()
        per_decade = self._pixels_per_decade()
        for pixels, mantissas in MINOR_LABELS:
            if per_decade >= pixels:
                shown = mantissas
                break
        numbers = 10 ** np.asarray(values, dtype=np.float64) * scale
        mantissas = [round(10 ** (v - math.floor(v + 1e-9))) for v in values]
        keep = [m in (1, 10) or m in shown for m in mantissas]
        labelled = [n for n, k in zip(numbers, keep, strict=True) if k and n > 0]
        plain = all(PLAIN[0] <= n < PLAIN[1] for n in labelled)
        return [
            ("" if not k or n <= 0 else f"{n:.6g}" if plain else power_text(float(n)))
            for n, k in zip(numbers, keep, strict=True)
        ]


def tidy_axes() -> dict[str, TidyAxis]:
    """Left and bottom axes for a PlotWidget/PlotItem's ``axisItems``."""
    return {"left": TidyAxis("left"), "bottom": TidyAxis("bottom")}
