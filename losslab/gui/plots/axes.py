"""An axis whose log scale labels stay readable: one number format per axis, and minor ticks labelled
only where there is room for them.

pyqtgraph labels every minor tick of a log axis (2, 3, ... 9 in each decade) and formats each value
on its own ("0.001" beside "10⁻⁴"): on a short axis the labels of 0.6 0.7 0.8 0.9 print over each
other. Here decades are always labelled; the other ticks get a label by the pixels a decade takes.
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


def power_text(value: float) -> str:
    """2e-4 -> "2·10⁻⁴", 1e5 -> "10⁵"."""
    exponent = math.floor(math.log10(value))
    mantissa = round(value / 10**exponent)
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    power = f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return power if mantissa == 1 else f"{mantissa}·{power}"


class LogAxis(pg.AxisItem):
    """A drop-in AxisItem; on a linear scale it is pyqtgraph's own."""

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
