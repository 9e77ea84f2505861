"""Growable numpy buffers for live curves, and an exponential moving average that runs incrementally.

pyqtgraph has no append API: a curve gets ``setData(x[:n], y[:n])`` from a timer, so the values
live in preallocated float64 arrays that double when full (amortised O(1) per value).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


class GrowingSeries:
    """x/y float64 buffers that double when full; ``view()`` gives the filled part without copying."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity0 = max(int(capacity), 1)
        self._x = np.empty(self._capacity0, dtype=np.float64)
        self._y = np.empty(self._capacity0, dtype=np.float64)
        self.n = 0
        self.dirty = False  # set by every change; the owner clears it once it has redrawn

    def __len__(self) -> int:
        return self.n

    @property
    def capacity(self) -> int:
        return len(self._x)

    def _reserve(self, needed: int) -> None:
        cap = len(self._x)
        if needed <= cap:
            return
        while cap < needed:
            cap *= 2
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(cap, dtype=np.float64)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def append(self, x: float, y: float) -> None:
        self._reserve(self.n + 1)
        self._x[self.n] = x
        self._y[self.n] = y
        self.n += 1
        self.dirty = True

    def append_many(self, x: ArrayLike, y: ArrayLike) -> None:
        xa = np.asarray(x, dtype=np.float64).ravel()
        ya = np.asarray(y, dtype=np.float64).ravel()
        if xa.shape != ya.shape:
            raise ValueError(f"x and y differ in length: {xa.size} != {ya.size}")
        k = xa.size
        if k == 0:
            return
        self._reserve(self.n + k)
        self._x[self.n : self.n + k] = xa
        self._y[self.n : self.n + k] = ya
        self.n += k
        self.dirty = True

    def set_y(self, y: ArrayLike) -> None:
        """Replace every y value at once (same length), e.g. after recomputing a smoothing."""
        ya = np.asarray(y, dtype=np.float64).ravel()
        if ya.size != self.n:
            raise ValueError(f"expected {self.n} values, got {ya.size}")
        self._y[: self.n] = ya
        self.dirty = True

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """The filled part as views into the buffers (valid until the next append that grows them)."""
        return self._x[: self.n], self._y[: self.n]

    def copy(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.view()
        return x.copy(), y.copy()

    def last(self) -> tuple[float, float] | None:
        if self.n == 0:
            return None
        return float(self._x[self.n - 1]), float(self._y[self.n - 1])

    def clear(self) -> None:
        """Forget the values; shrink back to the initial capacity so a long run's memory is returned."""
        if len(self._x) > self._capacity0:
            self._x = np.empty(self._capacity0, dtype=np.float64)
            self._y = np.empty(self._capacity0, dtype=np.float64)
        self.n = 0
        self.dirty = True


def _linear_scan(b: np.ndarray, a: float) -> np.ndarray:
    """y[i] = a*y[i-1] + b[i] with y[-1] = 0, vectorized by doubling (log2(N) numpy passes)."""
    y = b.copy()
    n = y.size
    shift = 1
    coef = a
    while shift < n and coef > 0.0:
        y[shift:] += coef * y[:-shift]  # RHS is evaluated into a temporary before the in-place add
        shift *= 2
        coef *= coef
    return y


class Ema:
    """Debiased exponential moving average (TensorBoard's smoothing), computed as values arrive.

    ``s_t = w*s_{t-1} + (1-w)*v_t`` starting from 0, reported as ``s_t / (1 - w**t)`` so early values are
    not pulled towards zero. Non-finite values (a diverging loss) are skipped: they neither enter the
    average nor get a smoothed value (NaN there), so one ``inf`` does not poison the rest of the curve.
    """

    def __init__(self, weight: float = 0.6) -> None:
        self.weight = float(weight)
        self.reset()

    def reset(self) -> None:
        self._state = 0.0
        self._count = 0  # finite values seen

    def update(self, values: ArrayLike) -> np.ndarray:
        """Feed new values in order; returns their smoothed values."""
        v = np.asarray(values, dtype=np.float64).ravel()
        out = np.full(v.shape, np.nan)
        finite = np.isfinite(v)
        vf = v[finite]
        m = vf.size
        if m == 0:
            return out
        w = self.weight
        if w <= 0.0:
            out[finite] = vf
            self._state, self._count = float(vf[-1]), self._count + m
            return out
        k = np.arange(1, m + 1, dtype=np.float64)
        log_w = np.log(w)
        with np.errstate(under="ignore"):
            s = _linear_scan((1.0 - w) * vf, w)
            if self._state != 0.0:
                s += np.exp(k * log_w) * self._state  # w**1 .. w**m, underflowing gracefully to 0
            debias = -np.expm1((self._count + k) * log_w)  # 1 - w**t, accurate for small t
        out[finite] = s / debias
        self._state = float(s[-1])
        self._count += m
        return out

    def recompute(self, values: ArrayLike, weight: float | None = None) -> np.ndarray:
        """Start over (optionally with a new weight) and smooth a whole series."""
        if weight is not None:
            self.weight = float(weight)
        self.reset()
        return self.update(values)


def ema_reference(values: ArrayLike, weight: float) -> np.ndarray:
    """Plain-loop version of :class:`Ema` (slow; for tests)."""
    out = []
    state, count = 0.0, 0
    for v in np.asarray(values, dtype=np.float64).ravel():
        if not np.isfinite(v):
            out.append(np.nan)
            continue
        state = weight * state + (1.0 - weight) * v
        count += 1
        out.append(state / (1.0 - weight**count) if weight > 0 else v)
    return np.asarray(out)
