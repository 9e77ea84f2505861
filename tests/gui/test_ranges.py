"""StickyViewBox: auto-range that keeps its range while the data stays inside, grows with room to spare,
and fits exactly after a refit or when auto-range is turned back on."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from losslab.gui.plots.ranges import GROW, REFIT, StickyViewBox, settle_range


def sticky_plot(qtbot, x, y, grow_x_only: bool = True, exact_bounds: bool = True):
    """A plot whose curve shows (x, y). ``exact_bounds``: no padding and a zero-width pen, so the
    auto-range's target is exactly the data's bounds (pyqtgraph otherwise pads it)."""
    vb = StickyViewBox(grow_x_only=grow_x_only)
    widget = pg.PlotWidget(viewBox=vb)
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    if exact_bounds:
        vb.setDefaultPadding(0.0)
        curve = widget.plot(np.asarray(x, float), np.asarray(y, float), pen=pg.mkPen(width=0))
    else:
        curve = widget.plot(np.asarray(x, float), np.asarray(y, float))
    settle_range(widget)
    return widget, vb, curve


def show(widget, curve, x, y):
    curve.setData(np.asarray(x, float), np.asarray(y, float))
    settle_range(widget)


def ranges(vb):
    return [list(map(float, r)) for r in vb.viewRange()]


def test_the_first_fit_is_exact(qtbot):
    _, vb, _ = sticky_plot(qtbot, [0, 5, 10], [1, 3, 2])
    assert ranges(vb) == [[0.0, 10.0], [1.0, 3.0]]


def test_growing_a_little_inside_the_range_keeps_it(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    show(w, c, [0, 11], [0, 2])  # leaves the range on x: it grows with room
    grown = ranges(vb)
    assert grown[0][1] > 11
    # Now the data grows a little but stays inside and fills at least REFIT of the range.
    for hi in (11.5, 12.0, 13.0):
        show(w, c, [0, hi], [0.1, 1.9])
        assert ranges(vb) == grown
        assert hi >= REFIT * (grown[0][1] - grown[0][0])


def test_leaving_the_range_grows_it_with_room_beyond_the_data_at_the_far_end(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    show(w, c, [0, 20], [0, 2])
    (x0, x1), (y0, y1) = ranges(vb)
    assert x0 == pytest.approx(0.0)  # x only grows: the range starts where the data starts
    assert x1 == pytest.approx(20 + GROW * 20)
    assert (y0, y1) == (0.0, 2.0)  # y did not need to change
    # y grows: room split on both sides.
    show(w, c, [0, 20], [0, 4])
    (x0b, x1b), (y0, y1) = ranges(vb)
    assert (x0b, x1b) == (x0, x1)
    assert y0 == pytest.approx(-GROW * 4 / 2)
    assert y1 == pytest.approx(4 + GROW * 4 / 2)


def test_without_grow_x_only_the_x_room_is_split_too(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2], grow_x_only=False)
    show(w, c, [0, 20], [0, 2])
    x0, x1 = ranges(vb)[0]
    assert x0 == pytest.approx(-GROW * 20 / 2)
    assert x1 == pytest.approx(20 + GROW * 20 / 2)


def test_data_filling_too_little_of_the_range_is_refitted_with_room(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    show(w, c, [0, 40], [0, 2])
    assert ranges(vb)[0] == pytest.approx([0.0, 50.0])
    show(w, c, [0, 8], [0, 2])  # inside, but 8 < REFIT * 50
    assert ranges(vb)[0] == pytest.approx([0.0, 8 + GROW * 8])


def test_refit_makes_the_next_auto_range_exact_and_only_the_next(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    show(w, c, [0, 11], [0, 2])
    show(w, c, [0, 12], [0, 2])
    assert ranges(vb)[0][1] > 12  # sticky, with room
    vb.refit()
    settle_range(w)
    assert ranges(vb) == [[0.0, 12.0], [0.0, 2.0]]
    show(w, c, [0, 13], [0, 2])  # afterwards sticky again: grows with room
    assert ranges(vb)[0] == pytest.approx([0.0, 13 + GROW * 13])


def test_turning_auto_range_back_on_after_a_user_zoom_fits_exactly(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    show(w, c, [0, 20], [0, 4])  # sticky ranges with room on both axes
    sticky = ranges(vb)
    assert sticky[0][1] > 20 and sticky[1][0] < 0
    vb.setXRange(2, 5, padding=0)  # the user zooms: x auto-range is off
    assert vb.state["autoRange"][0] is False
    show(w, c, [0, 21], [0, 4])
    assert ranges(vb)[0] == pytest.approx([2.0, 5.0])  # the user's zoom stays
    vb.enableAutoRange()
    settle_range(w)
    # Exact on both axes, although the data is inside the old y range and fills enough of it.
    assert ranges(vb) == [[0.0, 21.0], [0.0, 4.0]]


def test_enabling_auto_range_that_is_already_on_does_not_force_an_exact_fit(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    show(w, c, [0, 20], [0, 2])
    sticky = ranges(vb)
    vb.enableAutoRange()  # it was on: nothing to re-fit
    show(w, c, [0, 19], [0, 2])
    assert ranges(vb) == sticky


def test_user_zoom_on_y_only_keeps_x_sticky(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    vb.setYRange(-1, 1, padding=0)
    show(w, c, [0, 30], [0, 5])
    (x0, x1), (y0, y1) = ranges(vb)
    assert (y0, y1) == pytest.approx((-1.0, 1.0))
    assert (x0, x1) == pytest.approx((0.0, 30 + GROW * 30))


def test_default_padding_growth_inside_the_range_keeps_it(qtbot):
    w, vb, c = sticky_plot(qtbot, np.arange(11.0), np.sin(np.arange(11.0)), exact_bounds=False)
    x = np.arange(12.0)
    show(w, c, x, np.sin(x))  # leaves the range: grows with 25% room
    grown = ranges(vb)
    x = np.arange(13.0)  # well inside the room, fills most of the range
    show(w, c, x, np.sin(x))
    assert ranges(vb)[0] == grown[0]


def test_loss_view_x_range_stays_put_for_most_frames(qtbot):
    from losslab.core.events import StepBatch
    from losslab.gui.plots.loss_plot import LossView

    view = LossView()
    qtbot.addWidget(view)
    view.resize(800, 500)
    vb = view.plot_item.getViewBox()
    step, changes, prev = 1, 0, None
    for _ in range(40):
        values = 1.0 / np.sqrt(np.arange(step, step + 20))
        view.add_steps(StepBatch(0, np.arange(step, step + 20), values, values, None, None, 0.01, 0.0, 1.0))
        step += 20
        view.redraw()
        now = ranges(vb)[0]
        changes += now != prev
        prev = now
    # Growing by 25% of the span at a time, 40 frames of 20 steps need only ~15 x range changes.
    assert changes <= 25, changes


def test_refit_before_the_data_arrives_still_fits_the_first_data_exactly(qtbot):
    w, vb, c = sticky_plot(qtbot, [0, 10], [0, 2])
    show(w, c, [0, 20], [0, 4])
    c.setData([], [])
    vb.refit()  # a new run starts: nothing to show yet
    settle_range(w)
    show(w, c, [0, 3], [1, 2])
    assert ranges(vb) == [[0.0, 3.0], [1.0, 2.0]]
