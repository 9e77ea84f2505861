"""FramePacer: the frame interval follows the GUI thread's CPU share, driven by fake clocks."""

from __future__ import annotations

import itertools
import math
import types

import pytest

from losslab.gui import pacing
from losslab.gui.pacing import (
    BUDGET,
    FASTEST_MS,
    GIL_S_PER_STEP,
    IDLE_MS,
    MOST_BUDGET,
    SLOWEST_MS,
    START_MS,
    WINDOW_S,
    FramePacer,
)


class Clocks:
    """A fake thread CPU clock and wall clock, both in seconds."""

    def __init__(self) -> None:
        self.cpu = 10.0
        self.wall = 1000.0


@pytest.fixture
def clocks(monkeypatch):
    c = Clocks()
    fake_time = types.SimpleNamespace(thread_time=lambda: c.cpu, perf_counter=lambda: c.wall)
    # Only the pacer's view of the time module is replaced: nothing else sees the fake clocks.
    monkeypatch.setattr(pacing, "time", fake_time)
    return c


def frames(
    pacer: FramePacer, clocks: Clocks, n: int, cpu_per_frame: float = 0.0, cpu_share: float | None = None
) -> list[int]:
    """Runs n frames: each waits the interval the pacer asked for, the GUI thread burning CPU meanwhile."""
    out = []
    for _ in range(n):
        ms = pacer.next_interval()
        out.append(ms)
        wall = ms / 1000
        clocks.wall += wall
        clocks.cpu += cpu_per_frame if cpu_share is None else cpu_share * wall
    return out


def test_the_first_interval_is_the_start_value_clamped_to_the_limits(clocks):
    assert FramePacer().next_interval() == round(min(max(START_MS, FASTEST_MS), SLOWEST_MS))
    high = START_MS + 100
    assert FramePacer(fastest_ms=high, slowest_ms=high + 1000).interval_ms == high
    assert FramePacer(fastest_ms=high, slowest_ms=high + 1000).next_interval() == high
    low = START_MS // 2
    assert FramePacer(fastest_ms=1, slowest_ms=low).interval_ms == low


def test_a_busy_gui_thread_stretches_the_interval_up_to_slowest(clocks):
    pacer = FramePacer()
    got = frames(pacer, clocks, 120, cpu_share=0.5)  # ten times the budget
    assert max(got) <= SLOWEST_MS
    assert all(b >= a for a, b in itertools.pairwise(got))  # it only grows
    assert got[-1] > got[0]
    assert got[-1] >= 0.95 * SLOWEST_MS
    assert pacer.share == pytest.approx(0.5)


def test_the_interval_never_goes_above_slowest_even_when_saturated(clocks):
    pacer = FramePacer(slowest_ms=400)
    got = frames(pacer, clocks, 200, cpu_share=1.0)
    assert max(got) <= 400
    assert pacer.interval_ms <= 400
    assert got[-1] >= 380


def test_an_idle_gui_thread_shrinks_the_interval_toward_fastest(clocks):
    pacer = FramePacer()
    pacer.interval_ms = 800.0
    got = frames(pacer, clocks, 200, cpu_per_frame=0.0)
    assert min(got) >= FASTEST_MS
    assert all(b <= a for a, b in itertools.pairwise(got))  # it only shrinks
    assert got[-1] <= 1.05 * FASTEST_MS
    assert pacer.share == 0.0


def test_the_interval_settles_where_the_share_meets_the_budget(clocks):
    # Each frame costs 5 ms of GUI CPU: at a 5% budget that is one frame per 100 ms.
    pacer = FramePacer()
    cost = 0.005
    frames(pacer, clocks, 400, cpu_per_frame=cost)
    assert pacer.interval_ms == pytest.approx(cost / BUDGET * 1000, rel=0.03)
    assert pacer.share == pytest.approx(BUDGET, rel=0.05)
    # From above as from below.
    slow = FramePacer()
    slow.interval_ms = 900.0
    frames(slow, clocks, 400, cpu_per_frame=cost)
    assert slow.interval_ms == pytest.approx(cost / BUDGET * 1000, rel=0.03)


def test_it_moves_only_halfway_per_window(clocks):
    pacer = FramePacer(slowest_ms=1000)
    pacer.interval_ms = 200.0
    pacer.next_interval()  # the mark
    window = WINDOW_S + 1e-6  # a whole window (a hair more: float sums of the fake wall clock)
    clocks.wall += window
    clocks.cpu += window * BUDGET * 4  # four times the budget: it wants 800 ms
    assert pacer.next_interval() == round(math.sqrt(200 * 800))  # 400: the geometric mean
    assert pacer.share == pytest.approx(4 * BUDGET)


def test_nothing_changes_before_a_whole_window_has_passed(clocks):
    pacer = FramePacer()
    first = pacer.next_interval()
    for _ in range(5):
        clocks.wall += WINDOW_S / 10
        clocks.cpu += WINDOW_S / 10  # all CPU, but the window is not over
        assert pacer.next_interval() == first
    assert pacer.share == 0.0
    clocks.wall += WINDOW_S / 2 + 1e-6  # now it is
    assert pacer.next_interval() > first


def test_idle_returns_the_idle_rate_and_keeps_the_interval_learnt(clocks):
    pacer = FramePacer()
    frames(pacer, clocks, 60, cpu_share=0.5)
    learnt = pacer.interval_ms
    assert learnt > pacer.fastest_ms
    assert learnt != FramePacer().interval_ms  # something was learnt
    assert pacer.idle() == IDLE_MS
    assert pacer.interval_ms == learnt
    # A long busy time while idle is not measured: the next run starts at the interval learnt.
    clocks.wall += 30.0
    clocks.cpu += 30.0
    assert pacer.next_interval() == round(learnt)
    assert pacer.interval_ms == learnt


def test_idle_rate_is_the_one_given(clocks):
    pacer = FramePacer(idle_ms=123)
    assert pacer.idle() == 123
    assert pacer.idle() == 123


def test_custom_limits_are_kept(clocks):
    busy = FramePacer(fastest_ms=20, slowest_ms=250, budget=0.1)
    assert max(frames(busy, clocks, 200, cpu_share=0.9)) <= 250
    assert busy.interval_ms >= 240
    quiet = FramePacer(fastest_ms=20, slowest_ms=250, budget=0.1)
    assert min(frames(quiet, clocks, 300, cpu_per_frame=0.0)) >= 20
    assert quiet.interval_ms <= 21


# -- the budget grows with the step time -------------------------------------------------------
def test_budget_for_an_unknown_or_bad_rate_is_the_plain_budget():
    pacer = FramePacer(budget=0.05)
    for rate in (None, math.nan, math.inf, 0.0, -5.0):
        assert pacer.budget_for(rate) == 0.05


def test_budget_for_fast_runs_is_the_plain_budget_and_slow_runs_get_more_up_to_a_cap():
    pacer = FramePacer(budget=0.05)
    every_step_needs_the_gil = 1 / GIL_S_PER_STEP
    assert pacer.budget_for(every_step_needs_the_gil) == pytest.approx(0.05)
    assert pacer.budget_for(10 * every_step_needs_the_gil) == pytest.approx(0.05)
    # Half the training thread's time in Python: twice the budget.
    assert pacer.budget_for(every_step_needs_the_gil / 2) == pytest.approx(min(0.10, MOST_BUDGET))
    assert pacer.budget_for(every_step_needs_the_gil / 5) == pytest.approx(min(0.25, MOST_BUDGET))
    # Very slow steps: capped.
    assert pacer.budget_for(1.0) == MOST_BUDGET
    assert pacer.budget_for(1e-6) == MOST_BUDGET
    rates = [1, 5, 20, 50, 100, 200, 500, 1000, 5000]
    budgets = [pacer.budget_for(r) for r in rates]
    assert all(b >= a for a, b in itertools.pairwise(reversed(budgets)))  # never more for a faster run
    assert all(0.05 <= b <= MOST_BUDGET for b in budgets)
    assert budgets[0] > budgets[-1]


def test_a_slow_run_lets_the_window_draw_more_often(clocks):
    cost = 0.02  # seconds of GUI CPU per frame
    fast_rate = 1 / GIL_S_PER_STEP  # the training thread needs the GIL all the time
    slow_rate = fast_rate / 5  # a fifth of it: five times the budget
    fast, slow = FramePacer(slowest_ms=1000), FramePacer(slowest_ms=1000)  # the budget, not the cap
    frames_at(fast, clocks, 400, cost, fast_rate)
    frames_at(slow, clocks, 400, cost, slow_rate)
    assert fast.interval_ms == pytest.approx(cost / BUDGET * 1000, rel=0.03)  # 400 ms
    assert slow.interval_ms == pytest.approx(cost / min(5 * BUDGET, MOST_BUDGET) * 1000, rel=0.03)  # 80 ms
    assert slow.interval_ms < fast.interval_ms


def frames_at(pacer: FramePacer, clocks: Clocks, n: int, cpu_per_frame: float, rate: float) -> None:
    pacer.idle()  # a fresh mark on these clocks
    for _ in range(n):
        ms = pacer.next_interval(rate)
        clocks.wall += ms / 1000
        clocks.cpu += cpu_per_frame


def test_however_heavy_the_views_the_window_draws_at_least_10_times_a_second(clocks):
    pacer = FramePacer()
    got = frames(pacer, clocks, 200, cpu_per_frame=0.08)  # 80 ms of GUI work a frame
    assert max(got) <= 100 and pacer.interval_ms <= 100
