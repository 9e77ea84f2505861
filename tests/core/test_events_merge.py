"""StepBatch.epochs / epoch_of_steps() and merge_step_batches: one step report made of several."""

from __future__ import annotations

import numpy as np
import pytest

from losslab.core.events import StepBatch, merge_step_batches


def batch(
    epoch: int, steps, *, l1=False, l2=False, extra=None, lr=0.1, elapsed=1.0, rate=10.0, epochs=None
) -> StepBatch:
    steps = np.asarray(steps, dtype=np.int64)
    loss = steps * 1.0
    data = steps * 0.5
    return StepBatch(
        epoch,
        steps,
        loss,
        data,
        steps * 0.01 if l1 else None,
        steps * 0.02 if l2 else None,
        lr,
        elapsed,
        rate,
        {} if extra is None else {k: np.asarray(v, dtype=np.float64) for k, v in extra.items()},
        epochs,
    )


def test_epochs_defaults_to_none_and_epoch_of_steps_repeats_the_epoch():
    b = batch(3, [7, 8, 9])
    assert b.epochs is None
    got = b.epoch_of_steps()
    np.testing.assert_array_equal(got, [3, 3, 3])
    assert got.dtype == np.int64 and got.shape == (3,)


def test_epoch_of_steps_of_an_empty_batch_is_empty():
    b = batch(2, [])
    assert b.epoch_of_steps().shape == (0,)


def test_epoch_of_steps_returns_the_per_step_epochs_when_given():
    per_step = np.array([0, 0, 1, 2])
    b = batch(2, [1, 2, 3, 4], epochs=per_step)
    np.testing.assert_array_equal(b.epoch_of_steps(), [0, 0, 1, 2])


def test_a_single_batch_is_returned_as_is():
    b = batch(0, [1, 2, 3])
    assert merge_step_batches([b]) is b


def test_merged_arrays_are_concatenated_in_order():
    a, b, c = batch(0, [1, 2]), batch(1, [3]), batch(2, [4, 5, 6])
    m = merge_step_batches([a, b, c])
    np.testing.assert_array_equal(m.steps, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(m.loss, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(m.data_loss, [0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    # The inputs are left alone.
    np.testing.assert_array_equal(a.steps, [1, 2])
    assert a.epochs is None


def test_merged_epochs_say_which_epoch_each_step_belongs_to():
    m = merge_step_batches([batch(0, [1, 2]), batch(1, [3]), batch(2, [4, 5, 6])])
    assert m.epochs is not None
    np.testing.assert_array_equal(m.epochs, [0, 0, 1, 2, 2, 2])
    np.testing.assert_array_equal(m.epoch_of_steps(), [0, 0, 1, 2, 2, 2])
    assert len(m.epochs) == len(m.steps)


def test_merging_already_merged_batches_keeps_their_per_step_epochs():
    first = merge_step_batches([batch(0, [1]), batch(1, [2, 3])])
    m = merge_step_batches([first, batch(2, [4]), batch(2, [5])])
    np.testing.assert_array_equal(m.epochs, [0, 1, 1, 2, 2])
    np.testing.assert_array_equal(m.steps, [1, 2, 3, 4, 5])


def test_scalars_are_the_last_batchs():
    a = batch(0, [1, 2], lr=0.5, elapsed=1.0, rate=100.0)
    b = batch(4, [3], lr=0.25, elapsed=2.5, rate=42.0)
    m = merge_step_batches([a, b])
    assert m.epoch == 4
    assert m.lr == 0.25
    assert m.elapsed == 2.5
    assert m.steps_per_second == 42.0


def test_l1_and_l2_are_joined_when_every_batch_has_them():
    m = merge_step_batches([batch(0, [1, 2], l1=True, l2=True), batch(0, [3], l1=True, l2=True)])
    np.testing.assert_allclose(m.l1, [0.01, 0.02, 0.03])
    np.testing.assert_allclose(m.l2, [0.02, 0.04, 0.06])


@pytest.mark.parametrize("missing", [0, 1, 2])
def test_l1_is_none_when_any_batch_lacks_it(missing):
    parts = [batch(0, [i + 1], l1=(i != missing), l2=True) for i in range(3)]
    m = merge_step_batches(parts)
    assert m.l1 is None
    np.testing.assert_allclose(m.l2, [0.02, 0.04, 0.06])


def test_l2_is_none_when_any_batch_lacks_it():
    m = merge_step_batches([batch(0, [1], l1=True, l2=True), batch(0, [2], l1=True)])
    assert m.l2 is None
    np.testing.assert_allclose(m.l1, [0.01, 0.02])


def test_extra_keeps_only_the_keys_every_batch_has():
    a = batch(0, [1, 2], extra={"disc": [1, 2], "only_a": [9, 9]})
    b = batch(0, [3], extra={"disc": [3], "only_b": [8]})
    c = batch(1, [4], extra={"disc": [4], "only_a": [7]})
    m = merge_step_batches([a, b, c])
    assert set(m.extra) == {"disc"}
    np.testing.assert_array_equal(m.extra["disc"], [1, 2, 3, 4])


def test_extra_is_empty_when_no_key_is_common():
    m = merge_step_batches([batch(0, [1], extra={"a": [1]}), batch(0, [2])])
    assert m.extra == {}


def test_merged_batch_of_a_single_epoch_still_has_per_step_epochs():
    m = merge_step_batches([batch(5, [10, 11]), batch(5, [12])])
    np.testing.assert_array_equal(m.epoch_of_steps(), [5, 5, 5])
    assert m.epoch == 5
