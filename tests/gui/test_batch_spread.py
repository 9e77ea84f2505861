"""BatchSpread: the per-epoch batch-loss band, fed by plain and by merged (multi-epoch) step reports."""

from __future__ import annotations

import numpy as np
import pytest

from losslab.gui.plots.batch_spread import BatchSpread


def reference_band(epochs, steps, values):
    """(x, low, mean, high) computed directly from all the values, epoch by epoch."""
    epochs, steps, values = (np.asarray(a, dtype=np.float64) for a in (epochs, steps, values))
    keep = np.isfinite(values)
    epochs, steps, values = epochs[keep], steps[keep], values[keep]
    x, low, mean, high = [], [], [], []
    for e in sorted(set(epochs.tolist())):
        sel = epochs == e
        v = values[sel]
        if v.size < 2:
            continue
        m, sd = v.mean(), v.std()
        lo, hi = max(m - sd, v.min()), min(m + sd, v.max())
        s = steps[sel]
        x += [s[0], s[-1]]
        low += [lo, lo]
        mean += [m, m]
        high += [hi, hi]
    return tuple(np.array(a, dtype=np.float64) for a in (x, low, mean, high))


def assert_band_equal(got, want):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9)


def test_empty_spread_has_an_empty_band():
    s = BatchSpread()
    assert len(s) == 0
    x, low, mean, high = s.band()
    assert x.shape == low.shape == mean.shape == high.shape == (0,)


def test_an_int_epoch_gives_one_row_and_the_band_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    values = rng.uniform(0.5, 2.0, 10)
    steps = np.arange(1, 11)
    s = BatchSpread()
    s.add(0, steps, values)
    assert len(s) == 1
    assert_band_equal(s.band(), reference_band(np.zeros(10), steps, values))
    x, *_ = s.band()
    np.testing.assert_array_equal(x, [1, 10])


def test_a_merged_report_spanning_epochs_gives_one_row_per_epoch():
    rng = np.random.default_rng(1)
    epochs = np.repeat([0, 1, 2, 3], [4, 3, 5, 2])
    steps = np.arange(1, epochs.size + 1)
    values = rng.uniform(0, 3, epochs.size)
    merged = BatchSpread()
    merged.add(epochs, steps, values)
    assert len(merged) == 4
    one_by_one = BatchSpread()
    for e in range(4):
        sel = epochs == e
        one_by_one.add(e, steps[sel], values[sel])
    assert len(one_by_one) == 4
    assert_band_equal(merged.band(), one_by_one.band())
    assert_band_equal(merged.band(), reference_band(epochs, steps, values))
    x, *_ = merged.band()
    np.testing.assert_array_equal(x, [1, 4, 5, 7, 8, 12, 13, 14])


def test_a_merged_report_continues_the_epoch_in_progress():
    rng = np.random.default_rng(2)
    values = rng.uniform(0, 1, 12)
    steps = np.arange(1, 13)
    epochs = np.repeat([0, 1, 2], [5, 4, 3])
    s = BatchSpread()
    s.add(0, steps[:3], values[:3])  # part of epoch 0 first
    s.add(epochs[3:], steps[3:], values[3:])  # then the rest of epoch 0 and epochs 1, 2 merged
    assert len(s) == 3
    assert_band_equal(s.band(), reference_band(epochs, steps, values))


def test_epochs_with_a_single_batch_are_left_out_of_the_band():
    # Full-batch training: one step per epoch, merged into one report.
    s = BatchSpread()
    s.add(np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([3.0, 2.0, 1.0]))
    assert len(s) == 3
    x, low, mean, high = s.band()
    assert x.size == low.size == mean.size == high.size == 0
    # An epoch with two batches among single-batch ones is the only one banded.
    s.add(np.array([3, 3, 4]), np.array([4, 5, 6]), np.array([1.0, 3.0, 7.0]))
    x, low, mean, high = s.band()
    np.testing.assert_array_equal(x, [4, 5])
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(low, [1.0, 1.0])
    np.testing.assert_allclose(high, [3.0, 3.0])


def test_nan_and_inf_values_are_skipped():
    epochs = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    steps = np.arange(1, 9)
    values = np.array([1.0, np.nan, 3.0, np.inf, 2.0, 4.0, np.nan, 5.0])
    s = BatchSpread()
    s.add(epochs, steps, values)
    # epoch 2 has one finite value: a row but no band
    x, low, mean, high = s.band()
    np.testing.assert_allclose(mean, [2.0, 2.0, 3.0, 3.0])
    assert np.isfinite(low).all() and np.isfinite(high).all()
    assert_band_equal(s.band(), reference_band(epochs, steps, values))
    # The band spans the finite steps only: epoch 1 starts at step 5 (step 4 was infinite).
    np.testing.assert_array_equal(x, [1, 3, 5, 6])


def test_an_all_nan_report_adds_nothing():
    s = BatchSpread()
    s.dirty = False
    s.add(np.array([0, 1]), np.array([1, 2]), np.array([np.nan, np.nan]))
    assert len(s) == 0
    assert s.dirty is False


def test_adding_marks_dirty_and_clear_empties():
    s = BatchSpread()
    s.dirty = False
    s.add(0, [1, 2], [1.0, 2.0])
    assert s.dirty
    s.clear()
    assert len(s) == 0 and s.dirty
    assert s.band()[0].size == 0


def test_band_stays_within_the_smallest_and_largest_batch_loss():
    rng = np.random.default_rng(3)
    s = BatchSpread()
    epochs = []
    vals = []
    step = 0
    for e in range(30):
        n = int(rng.integers(2, 9))
        # Skewed: one big outlier puts mean - sd below the smallest value (or, negated, mean + sd above
        # the largest), so the clamping is exercised.
        v = np.concatenate([np.full(n - 1, 1.0), [1.0 + 50 * rng.random()]])
        if e % 2:
            v = -v
        s.add(e, np.arange(step + 1, step + n + 1), v)
        epochs.append(np.full(n, e))
        vals.append(v)
        step += n
    _, low, mean, high = s.band()
    smallest = np.repeat([v.min() for v in vals], 2)
    largest = np.repeat([v.max() for v in vals], 2)
    assert (low >= smallest).all()
    assert (high <= largest).all()
    assert (low <= mean).all() and (mean <= high).all()
    steps = np.arange(1, step + 1)
    assert_band_equal(s.band(), reference_band(np.concatenate(epochs), steps, np.concatenate(vals)))


def test_clamping_is_active_for_a_skewed_epoch():
    # Values 0,0,0,10: mean 2.5, sd ~4.33, so mean - sd < 0 = smallest: low is clamped to 0.
    s = BatchSpread()
    s.add(0, [1, 2, 3, 4], [0.0, 0.0, 0.0, 10.0])
    _, low, mean, high = s.band()
    assert low[0] == 0.0
    assert mean[0] == pytest.approx(2.5)
    assert high[0] == pytest.approx(2.5 + np.sqrt(18.75))


def test_growing_past_64_rows_keeps_every_row():
    rng = np.random.default_rng(4)
    n_epochs = 200
    epochs = np.repeat(np.arange(n_epochs), 3)
    steps = np.arange(1, epochs.size + 1)
    values = rng.uniform(0, 1, epochs.size)
    merged = BatchSpread()
    merged.add(epochs, steps, values)  # one report, 200 epochs
    assert len(merged) == n_epochs
    one_by_one = BatchSpread()
    for e in range(n_epochs):
        sel = epochs == e
        one_by_one.add(e, steps[sel], values[sel])
    assert len(one_by_one) == n_epochs
    want = reference_band(epochs, steps, values)
    assert_band_equal(merged.band(), want)
    assert_band_equal(one_by_one.band(), want)
    assert merged.band()[0].size == 2 * n_epochs


def test_per_step_epoch_array_from_a_merged_step_batch():
    from losslab.core.events import StepBatch, merge_step_batches

    def report(epoch, steps, values):
        steps = np.asarray(steps)
        values = np.asarray(values, dtype=np.float64)
        return StepBatch(epoch, steps, values, values, None, None, 0.1, 0.0, 1.0)

    parts = [report(0, [1, 2], [1.0, 3.0]), report(0, [3], [5.0]), report(1, [4, 5], [2.0, 4.0])]
    m = merge_step_batches(parts)
    merged = BatchSpread()
    merged.add(m.epoch_of_steps(), m.steps, m.data_loss)
    separate = BatchSpread()
    for p in parts:
        separate.add(p.epoch, p.steps, p.data_loss)
    assert len(merged) == len(separate) == 2
    assert_band_equal(merged.band(), separate.band())
    np.testing.assert_allclose(merged.band()[2], [3.0, 3.0, 3.0, 3.0])
