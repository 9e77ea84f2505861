"""How much the loss varies from batch to batch within each epoch: the band drawn on the loss curve.

Per epoch it keeps running sums of the per-batch data losses (StepBatch.data_loss), so adding a
batch is O(1) and the band of the epoch in progress grows live. The band spans the epoch's steps at
the epoch mean ± one standard deviation, kept within the smallest and largest batch loss.
"""

from __future__ import annotations

import math

import numpy as np


class BatchSpread:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        # Per epoch: [epoch, first step, last step, count, sum, sum of squares, min, max]
        self._rows: list[list[float]] = []
        self.dirty = True

    def add(self, epoch: int, steps: np.ndarray, values: np.ndarray) -> None:
        """Batches of one epoch in progress (``epoch`` = epochs completed before them)."""
        steps = np.asarray(steps, dtype=np.float64).ravel()
        v = np.asarray(values, dtype=np.float64).ravel()
        keep = np.isfinite(v)
        if not keep.any():
            return
        steps, v = steps[keep], v[keep]
        if self._rows and self._rows[-1][0] == epoch:
            row = self._rows[-1]
            row[2] = float(steps[-1])
            row[3] += v.size
            row[4] += float(v.sum())
            row[5] += float(np.square(v).sum())
            row[6] = min(row[6], float(v.min()))
            row[7] = max(row[7], float(v.max()))
        else:
            self._rows.append([epoch, float(steps[0]), float(steps[-1]), v.size, float(v.sum()),
                               float(np.square(v).sum()), float(v.min()), float(v.max())])
        self.dirty = True

    def band(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x, low, mean, high): per epoch with two batches or more, points at its first and last step."""
        xs: list[float] = []
        lo: list[float] = []
        mid: list[float] = []
        hi: list[float] = []
        for _, first, last, n, total, squares, smallest, largest in self._rows:
            if n < 2:
                continue
            mean = total / n
            sd = math.sqrt(max(squares / n - mean * mean, 0.0))
            for x in (first, last):
                xs.append(x)
                lo.append(max(mean - sd, smallest))
                mid.append(mean)
                hi.append(min(mean + sd, largest))
        return np.array(xs), np.array(lo), np.array(mid), np.array(hi)

    def __len__(self) -> int:
        return len(self._rows)
