"""How often the window draws while training: as often as the GUI thread's CPU budget allows.

Every paint runs pyqtgraph's Python code on the GUI thread, holding the GIL the training thread
needs for each of its dozens of small torch calls per step: measured on a 2-core laptop-class
machine, drawing 20 frames a second cut training to a fifth. So while a run is live the pacer
watches the GUI thread's own CPU time (``time.thread_time``: drawing, events, everything it did)
against the wall clock and stretches or shortens the frame interval to keep that share near
``budget``. Cheap frames (a small run, a hidden tab) stay fast; a heavy view slows down instead
of slowing the training. When nothing is training the window draws at the fast rate: no cost.

The GIL is what the two threads share, and a step needs it only for its Python and dispatch
work, well under a millisecond whatever the network; the rest of a longer step runs in torch's
kernels with the GIL released, where drawing costs the training nothing. So the budget grows as
the steps get longer: a run of 100 steps a second may draw 10 times more, one of 1,000 at the budget.
"""

from __future__ import annotations

import math
import time

IDLE_MS = 50  # nothing training: the timer only finds nothing to draw
FASTEST_MS = 50  # 20 frames a second at most, while training
SLOWEST_MS = 100  # and at least 10 a second, however heavy the views: below that a curve stutters
START_MS = 90  # the first run starts here (just inside 10 a second), until the first measurement
BUDGET = 0.05  # the GUI thread's share of the wall clock it aims for while training
WINDOW_S = 0.4  # measures over about this long before changing the interval
# What a step's Python and dispatch work is taken to cost: ~0.3-0.5 ms measured for LossLab's small
# networks, rounded up so that a run slowed by drawing does not earn itself a bigger budget.
GIL_S_PER_STEP = 1e-3
# Frames hold the training while painting when its steps need the interpreter this share of the time.
HOLD_GIL_SHARE = 0.3
PAINT_HOLD_MS = 100  # a hold for a paint that never comes ends after this long
MOST_BUDGET = 0.5  # the budget for runs whose steps hardly need the GIL
# The gradient-health reports a window's trainer makes take at most this share of the training time.
PROBE_BUDGET = 0.01
# The task view's predictions (a forward pass over its grid, on the training thread) at most this
# share of it: drawn every frame they took 17% of a wide net's training time at 10 frames a second.
VIEW_BUDGET = 0.05


def gil_share(steps_per_second: float | None) -> float | None:
    """The share of the training thread's time that needs the GIL, from its speed (None: unknown)."""
    if steps_per_second is None or not math.isfinite(steps_per_second) or steps_per_second <= 0:
        return None
    return min(1.0, steps_per_second * GIL_S_PER_STEP)


class FramePacer:
    def __init__(
        self,
        budget: float = BUDGET,
        fastest_ms: int = FASTEST_MS,
        slowest_ms: int = SLOWEST_MS,
        idle_ms: int = IDLE_MS,
    ) -> None:
        self.budget = budget
        self.fastest_ms, self.slowest_ms, self.idle_ms = fastest_ms, slowest_ms, idle_ms
        self.interval_ms = float(min(max(START_MS, fastest_ms), slowest_ms))
        self.share = 0.0  # the GUI thread's last measured share of the wall clock
        self._mark: tuple[float, float] | None = None

    def idle(self) -> int:
        """Nothing is training: draw at the idle rate. The interval learnt is kept for the next run:
        the views cost about the same per frame then, and starting fast would cost its first second."""
        self._mark = None
        return self.idle_ms

    def budget_for(self, steps_per_second: float | None) -> float:
        """The budget for a run at this speed (None: unknown, as for the fastest runs)."""
        share = gil_share(steps_per_second)
        if share is None:
            return self.budget
        return min(MOST_BUDGET, max(self.budget, self.budget / max(share, 1e-3)))

    def holds_training(self, steps_per_second: float | None) -> bool:
        """Whether a frame should hold the training thread until it is painted (Controls.hold): for
        runs whose steps are mostly Python (and a run's first frames, speed unknown), where sharing
        the interpreter made each paint take 2-3 times as long and cost the training as much. A run
        of long steps (torch kernels, the interpreter free) trains on while the window paints."""
        share = gil_share(steps_per_second)
        return share is None or share >= HOLD_GIL_SHARE

    def next_interval(self, steps_per_second: float | None = None) -> int:
        """Call once per frame while training; returns the milliseconds until the next frame."""
        cpu, wall = time.thread_time(), time.perf_counter()
        if self._mark is None:
            self._mark = (cpu, wall)
            return round(self.interval_ms)
        cpu0, wall0 = self._mark
        if wall - wall0 >= WINDOW_S:
            self.share = (cpu - cpu0) / (wall - wall0)
            # The GUI's cost is per frame, so the share scales with the frame rate: aim straight for
            # the budget, but move only halfway there (geometric mean) so one slow frame cannot swing it.
            wanted = self.interval_ms * self.share / self.budget_for(steps_per_second)
            wanted = min(max(wanted, self.fastest_ms), self.slowest_ms)
            self.interval_ms = math.sqrt(self.interval_ms * wanted)
            self._mark = (cpu, wall)
        return round(self.interval_ms)
