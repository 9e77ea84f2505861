"""How much the loss varies from batch to batch within each epoch: the band drawn on the loss curve.

Per epoch it keeps running sums of the per-batch data losses (StepBatch.data_loss), so adding a
batch is O(1) and the band of the epoch in progress grows live. The band spans the epoch's steps at
the epoch mean ± one standard deviation, kept within the smallest and largest batch loss.
"""

from __future__ import annotations

import numpy as np

# Columns of a row, one row per epoch.
EPOCH, FIRST, LAST, COUNT, TOTAL, SQUARES, SMALLEST, LARGEST = range(8)


class BatchSpread:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._rows = np.empty((64, 8))  # grows by doubling; rows [0, n) are filled
        self.n = 0
        self.dirty = True

    def add(self, epochs: np.ndarray | int, steps: np.ndarray, values: np.ndarray) -> None:
        """Batch losses with the epoch each belongs to (epochs completed before it; one int for all)."""
        steps = np.asarray(steps, dtype=np.float64).ravel()
        v = np.asarray(values, dtype=np.float64).ravel()
        e = np.broadcast_to(np.asarray(epochs, dtype=np.int64), steps.shape)
        keep = np.isfinite(v)
        if not keep.any():
            return
        steps, v, e = steps[keep], v[keep], e[keep]
        # A report can span several short epochs: one run of equal epoch numbers at a time.
        cuts = np.flatnonzero(np.diff(e)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, e.size], strict=True):
            self._add_run(int(e[a]), steps[a:b], v[a:b])
        self.dirty = True

    def _add_run(self, epoch: int, steps: np.ndarray, v: np.ndarray) -> None:
        if self.n and self._rows[self.n - 1, EPOCH] == epoch:
            row = self._rows[self.n - 1]
            row[LAST] = steps[-1]
            row[COUNT] += v.size
            row[TOTAL] += v.sum()
            row[SQUARES] += np.square(v).sum()
            row[SMALLEST] = min(row[SMALLEST], v.min())
            row[LARGEST] = max(row[LARGEST], v.max())
            return
        if self.n == len(self._rows):
            self._rows = np.concatenate([self._rows, np.empty_like(self._rows)])
        sums = (v.size, v.sum(), np.square(v).sum(), v.min(), v.max())
        self._rows[self.n] = (epoch, steps[0], steps[-1], *sums)
        self.n += 1

    def band(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x, low, mean, high): per epoch with two batches or more, points at its first and last step."""
        rows = self._rows[: self.n]
        rows = rows[rows[:, COUNT] >= 2]
        count = rows[:, COUNT]
        mean = rows[:, TOTAL] / count
        sd = np.sqrt(np.maximum(rows[:, SQUARES] / count - mean * mean, 0.0))
        low = np.maximum(mean - sd, rows[:, SMALLEST])
        high = np.minimum(mean + sd, rows[:, LARGEST])

        def twice(a: np.ndarray) -> np.ndarray:  # each epoch's value at its first and at its last step
            return np.repeat(a, 2)

        x = np.column_stack([rows[:, FIRST], rows[:, LAST]]).ravel()
        return x, twice(low), twice(mean), twice(high)

    def __len__(self) -> int:
        return self.n
