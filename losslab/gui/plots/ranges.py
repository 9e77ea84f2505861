"""View ranges for live plots: auto-range that moves in steps, settled before Qt paints.

While a run streams in, pyqtgraph's auto-range follows the data exactly: the range changes every
frame, so every frame regenerates the axes' ticks and text and re-clips every curve. Growing the
range in steps with room to spare makes most frames leave it alone.
"""

from __future__ import annotations

import pyqtgraph as pg

GROW = 0.25  # a range that must grow gets this much of its new span as room to spare (x and y)
REFIT = 0.5  # and is refitted when the data fills less than this share of it
# pyqtgraph pads the range it asks for by a share of the data's span plus the pens' width, so its
# ends move out a little as the data grows although the data stays inside: that much is let pass.
SLACK = 0.03


def settle_range(plot: pg.PlotWidget) -> None:
    """Let the view boxes apply their auto-range now, right after new data.

    pyqtgraph updates the auto-range lazily, at the start of a paint; the range change then marks
    the axes and curves dirty again, and Qt paints the whole plot a second time. Every paint holds
    the GIL the training thread needs, so the range is brought up to date here instead.
    """
    plot.scene().prepareForPaint()


class StickyViewBox(pg.ViewBox):
    """A ViewBox whose auto-range keeps its range while the data stays inside and fills enough of it.

    ``grow_x_only``: for an x axis that only grows (steps, epochs) the range starts where the data
    starts and gets its spare room at the far end. Turning auto-range on (the "A" button, a new run)
    fits the data exactly first.
    """

    def __init__(self, *args: object, grow_x_only: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.grow_x_only = grow_x_only
        self._in_auto = False
        self._fitted = False  # the auto-range in progress set a range
        self._exact = True  # the next auto-range fits the data exactly

    def refit(self) -> None:
        """Fit the data exactly at the next auto-range (e.g. a new run started)."""
        self._exact = True
        self._autoRangeNeedsUpdate = True
        self.update()

    def enableAutoRange(
        self, axis: object = None, enable: object = True, x: object = None, y: object = None
    ) -> None:
        was = list(self.state["autoRange"])
        super().enableAutoRange(axis, enable, x, y)
        now = self.state["autoRange"]
        if any(after is not False and before is False for before, after in zip(was, now, strict=True)):
            self._exact = True

    def updateAutoRange(self) -> None:
        self._in_auto, self._fitted = True, False
        try:
            super().updateAutoRange()
        finally:
            self._in_auto = False
            if self._fitted:  # an auto-range with no data sets nothing: the exact fit is still due
                self._exact = False

    def setRange(
        self,
        rect: object = None,
        xRange: object = None,
        yRange: object = None,
        *args: object,
        **kwargs: object,
    ) -> None:
        if self._in_auto and rect is None:
            self._fitted = True
            if not self._exact:
                current = self.viewRange()
                xRange = self._sticky(0, current[0], xRange)
                yRange = self._sticky(1, current[1], yRange)
                if xRange is None and yRange is None:
                    return
        super().setRange(rect, xRange, yRange, *args, **kwargs)

    def _sticky(self, axis: int, current: list[float], target: object) -> tuple[float, float] | None:
        """None to keep ``current``; else the range to set for the auto-range's ``target``."""
        if target is None:
            return None
        lo, hi = float(target[0]), float(target[1])
        c0, c1 = current
        span, slack = hi - lo, SLACK * (c1 - c0)
        if lo >= c0 - slack and hi <= c1 + slack and span >= REFIT * (c1 - c0):
            return None
        room = GROW * span
        if axis == 0 and self.grow_x_only:
            return lo, hi + room
        return lo - room / 2, hi + room / 2
