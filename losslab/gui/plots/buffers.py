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


class _Grow1D:
    """A float64 array that doubles when full (one column of a pyramid level)."""

    __slots__ = ("a", "n")

    def __init__(self) -> None:
        self.a = np.empty(256, dtype=np.float64)
        self.n = 0

    def extend(self, v: np.ndarray) -> None:
        k = v.size
        if self.n + k > self.a.size:
            cap = self.a.size
            while cap < self.n + k:
                cap *= 2
            new = np.empty(cap, dtype=np.float64)
            new[: self.n] = self.a[: self.n]
            self.a = new
        self.a[self.n : self.n + k] = v
        self.n += k

    def view(self) -> np.ndarray:
        return self.a[: self.n]


def _merged(values: np.ndarray, group: int, reduce: np.ufunc) -> np.ndarray:
    """``values`` reduced over runs of ``group`` (the last run may be shorter); NaN is ignored."""
    full = values.size // group * group
    with np.errstate(invalid="ignore"):
        out = reduce.reduce(values[:full].reshape(-1, group), axis=1)
        if full < values.size:
            out = np.append(out, reduce.reduce(values[full:]))
    return out


class PeakPyramid:
    """Min/max summaries of an append-only series at block sizes 4, 16, 64, ... raw points.

    Lets a curve of any length be drawn from about two points per pixel (its min/max envelope, as
    pyqtgraph's 'peak' downsampling draws it) at a cost that does not grow with the series: appending
    is amortised O(1) per value and :meth:`decimate` costs O(pixels). NaN values are ignored by the
    summaries (a block of only NaN stays NaN); ``minpos`` is the smallest positive value of a block, for
    log axes, where zeros and negatives cannot be drawn.
    """

    FACTOR = 4

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        # levels[k-1] = (lo, hi, minpos) for blocks of FACTOR**k raw points; only complete blocks.
        self.levels: list[tuple[_Grow1D, _Grow1D, _Grow1D]] = []

    def update(self, y: np.ndarray) -> None:
        """Summarise values appended to ``y`` (the whole raw series so far) since the last call."""
        f = self.FACTOR
        prev_lo = prev_hi = y
        prev_mp: np.ndarray | None = None
        k = 0
        while True:
            complete = prev_lo.size // f
            if complete == 0:
                return
            if k == len(self.levels):
                self.levels.append((_Grow1D(), _Grow1D(), _Grow1D()))
            lo, hi, mp = self.levels[k]
            have = lo.n
            if complete <= have:  # nothing new here, so nothing new above either
                return
            sl = slice(have * f, complete * f)
            blo = prev_lo[sl].reshape(-1, f)
            bhi = prev_hi[sl].reshape(-1, f)
            if prev_mp is None:  # from raw values
                bmp = np.where(blo > 0, blo, np.nan)
            else:
                bmp = prev_mp[sl].reshape(-1, f)
            with np.errstate(invalid="ignore"):
                lo.extend(np.fmin.reduce(blo, axis=1))
                hi.extend(np.fmax.reduce(bhi, axis=1))
                mp.extend(np.fmin.reduce(bmp, axis=1))
            prev_lo, prev_hi, prev_mp = lo.view(), hi.view(), mp.view()
            k += 1

    def decimate(
        self, x: np.ndarray, y: np.ndarray, i0: int, i1: int, min_buckets: int, positive: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points to draw for raw indices [i0, i1): the raw slice if it has at most 2*``min_buckets``
        points, else two points (min and max, at the block's first x) for each of between
        ``min_buckets`` and 2*``min_buckets`` blocks (pyramid blocks merged in groups where a level
        has more), so the points to paint do not vary with the series' length."""
        n = y.size
        i0, i1 = max(0, i0), min(n, i1)
        count = i1 - i0
        min_buckets = max(int(min_buckets), 1)
        if count <= 2 * min_buckets:
            return x[i0:i1], y[i0:i1]
        f = self.FACTOR
        k, block = 0, 1
        while block * f * min_buckets <= count and k < len(self.levels):
            k += 1
            block *= f
        if k == 0:
            return x[i0:i1], y[i0:i1]
        lo, hi, mp = self.levels[k - 1]
        b0, b1 = i0 // block, min(i1 // block, lo.n)  # complete blocks within reach
        los = (mp if positive else lo).view()[b0:b1]
        his = hi.view()[b0:b1]
        xs = x[b0 * block : b1 * block : block]
        group = los.size // min_buckets  # a level has up to FACTOR times too many blocks: merge them
        if group >= 2:
            los, his, xs = _merged(los, group, np.fmin), _merged(his, group, np.fmax), xs[::group]
        tail0 = b1 * block
        if tail0 < i1:  # the partial block at the end, summarised on the fly
            t = y[tail0:i1]
            with np.errstate(invalid="ignore"):
                tl = np.fmin.reduce(np.where(t > 0, t, np.nan) if positive else t) if t.size else np.nan
                th = np.fmax.reduce(t) if t.size else np.nan
            los = np.append(los, tl)
            his = np.append(his, th)
            xs = np.append(xs, x[tail0])
        xo = np.repeat(xs, 2)
        yo = np.empty(xo.size, dtype=np.float64)
        yo[0::2] = los
        yo[1::2] = his
        return xo, yo
