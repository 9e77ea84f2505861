"""Gradient health, measured while training: are the layers still learning, and at a sane pace?

Every ``every`` steps :class:`GradientHealthProbe` reports, per Linear layer, the gradient norm, the
weight norm and the size of the last update relative to the weights (about 1e-3 is a healthy
pace), and per activation layer the fraction of dead ReLU units (zero for every sample of the
batch: no gradient flows through them) and of saturated sigmoid/tanh outputs (on the flat tails,
where the slope is under 5% of its peak). Every few reports it adds weight and activation
histograms. It warns when the gradient reaching the first layer is orders of magnitude smaller
than the last layer's (vanishing) or when gradients grow out of bounds (exploding).

Cost: the step before a report copies the weights and hooks the activation layers, so the report
sees that training step's own forward pass; no extra forward or backward pass is made.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from losslab.core.probe import Probe

if TYPE_CHECKING:  # torch loads with the trainer; the Gradients tab imports this module before that
    import torch
    from torch import nn

    from losslab.core.base_trainer import Trainer  # (which imports this module)

VANISH_RATIO = 1e-3  # first-layer gradient norm below this fraction of the last layer's
EXPLODE_RATIO = 1e3  # ... or above this multiple of it
EXPLODE_NORM = 1e3  # a total gradient norm above this is out of bounds for standardized data
EXPLODE_GROWTH = 1e2  # ... as is one this many times larger than it was at the start
WARN_WINDOW = 5  # reports: warnings look at the median over this many, so one odd batch is ignored
SLOPE_FRACTION = 0.05  # saturated: the activation's slope is below this fraction of its maximum
HIST_BINS = 40
HIST_EVERY = 4  # a histogram with every 4th report (~50 µs per layer on a busy 2-core machine)
HIST_SAMPLE = 4096  # values per histogram at most (evenly strided from bigger layers)
_SIGMOID_EDGE = 0.5 * (1 - math.sqrt(1 - SLOPE_FRACTION))  # s(1 - s) < 0.05 * 0.25
_TANH_EDGE = math.sqrt(1 - SLOPE_FRACTION)  # 1 - t^2 < 0.05

ACTIVATION_KINDS = {"ReLU": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh"}  # torch.nn class -> kind

SUGGESTIONS = {
    "vanishing": (
        "use ReLU, leaky ReLU or GELU instead of sigmoid/tanh",
        "add BatchNorm or LayerNorm between layers",
        "use residual blocks (they give the gradient a shortcut)",
        "use fewer layers or Kaiming/Xavier initialisation",
    ),
    "exploding": (
        "turn on gradient clipping (try 1.0)",
        "lower the learning rate",
        "add BatchNorm or LayerNorm",
        "use fewer layers",
    ),
}


@dataclass
class GradientWarning:
    kind: str  # "vanishing" | "exploding"
    step: int
    message: str
    suggestions: tuple[str, ...]

    @property
    def text(self) -> str:
        return f"{self.message} Try to: {'; '.join(self.suggestions)}."


Warnings = tuple[GradientWarning, ...]


@dataclass
class GradientStats:
    """One gradient-health report. Arrays are per layer, in the order of ``layers``/``activations``."""

    step: int
    epoch: int
    layers: tuple[str, ...]  # the Linear layers, input side first, the output layer last
    grad_norm: np.ndarray
    weight_norm: np.ndarray
    update_ratio: np.ndarray  # |last update| / |weights|; nan when unknown
    activations: tuple[str, ...]  # ReLU/sigmoid/tanh layers
    activation_kinds: tuple[str, ...]
    dead_fraction: np.ndarray  # ReLU: units zero for the whole batch; nan for other kinds
    saturated_fraction: np.ndarray  # sigmoid/tanh: outputs on the flat tails; nan for ReLU
    histograms: dict[str, tuple[float, float, np.ndarray]] | None = None  # name -> (lo, hi, counts)
    warnings: tuple[GradientWarning, ...] = ()  # active now
    new_warnings: tuple[GradientWarning, ...] = ()  # became active with this report

    @property
    def notice(self) -> str:
        return " ".join(w.text for w in self.new_warnings)


def linear_layers(model: nn.Module) -> list[tuple[str, nn.Linear | nn.Conv2d]]:
    """(label, module) for every Linear layer (and Conv2d, for images), input side first; the added
    output layer is 'Output'."""
    from torch import nn

    found = [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    out = []
    counts = {nn.Linear: 0, nn.Conv2d: 0}
    for name, m in found:
        conv = isinstance(m, nn.Conv2d)
        n_in, n_out = (m.in_channels, m.out_channels) if conv else (m.in_features, m.out_features)
        if name == "head":
            label = f"Output ({n_in}→{n_out})"
        else:
            counts[type(m)] += 1
            label = f"{'Conv' if conv else 'Linear'} {counts[type(m)]} ({n_in}→{n_out})"
        out.append((label, m))
    return out


def layer_labels(model: nn.Module) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """What the reports on ``model`` name: its Linear layers, its activation layers and their kinds."""
    return _labels(linear_layers(model), activation_layers(model))


def _labels(
    linears: list[tuple[str, Any]], acts: list[tuple[str, str, Any]]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    return (
        tuple(label for label, _ in linears),
        tuple(label for label, _, _ in acts),
        tuple(kind for _, kind, _ in acts),
    )


def activation_layers(model: nn.Module) -> list[tuple[str, str, nn.Module]]:
    """(label, kind, module) for the hidden ReLU/sigmoid/tanh layers (not the output activation)."""
    out = []
    counts: dict[str, int] = {}
    from torch import nn

    for name, m in model.named_modules():
        cls = type(m)
        kind = ACTIVATION_KINDS.get(cls.__name__) if getattr(nn, cls.__name__, None) is cls else None
        if kind is None or name == "out_act":
            continue
        counts[kind] = counts.get(kind, 0) + 1
        out.append((f"{kind} {counts[kind]}", kind, m))
    return out


def nice_range(values: np.ndarray, kind: str, current: tuple[float, float] | None) -> tuple[float, float]:
    """A histogram range that only ever doubles, so older histograms re-bin exactly into a new one.

    Sigmoid and tanh outputs have fixed ranges; ReLU outputs use [0, 2^k]; weights [-2^k, 2^k].
    """
    if kind == "Sigmoid":
        return 0.0, 1.0
    if kind == "Tanh":
        return -1.0, 1.0
    top = float(np.max(np.abs(values))) if values.size else 0.0
    k = math.ceil(math.log2(top)) if top > 2.0**-10 else -10
    half = 2.0 ** min(k, 1000)
    if current is not None:
        half = max(half, current[1])
    return (0.0, half) if kind == "ReLU" else (-half, half)


def histogram(values: np.ndarray, lo: float, hi: float, bins: int = HIST_BINS) -> np.ndarray:
    """Counts in ``bins`` equal bins over [lo, hi]; values outside land in the end bins.

    np.bincount on computed bin indices: ~10x faster than np.histogram for a few hundred values.
    """
    idx = ((values - lo) * (bins / (hi - lo))).astype(np.intp)
    return np.bincount(np.clip(idx, 0, bins - 1), minlength=bins).astype(np.float64)


class HistogramHistory:
    """Histograms of one layer over time as an image (time x bins), re-binned when the range grows.

    Ranges from :func:`nice_range` only double, so re-binning old columns is exact. At most
    ``max_columns`` columns are kept: when full, neighbouring columns are averaged pairwise.
    """

    def __init__(self, bins: int = HIST_BINS, max_columns: int = 400) -> None:
        self.bins, self.max_columns = bins, max_columns
        self.steps: list[float] = []
        self.columns: list[np.ndarray] = []
        self.lo = self.hi = 0.0

    def __len__(self) -> int:
        return len(self.columns)

    def add(self, step: float, lo: float, hi: float, counts: np.ndarray) -> None:
        counts = np.asarray(counts, dtype=np.float64)
        if not self.columns:
            self.lo, self.hi = lo, hi
        elif lo < self.lo or hi > self.hi:
            new_lo, new_hi = min(lo, self.lo), max(hi, self.hi)
            self.columns = [self._rebin(c, self.lo, self.hi, new_lo, new_hi) for c in self.columns]
            self.lo, self.hi = new_lo, new_hi
        if (lo, hi) != (self.lo, self.hi):
            counts = self._rebin(counts, lo, hi, self.lo, self.hi)
        self.steps.append(float(step))
        self.columns.append(counts)
        if len(self.columns) > self.max_columns:  # average neighbours; a pair is dated by its later step
            n = len(self.columns)
            columns = [(self.columns[i] + self.columns[i + 1]) / 2 for i in range(0, n - 1, 2)]
            steps = self.steps[1::2]
            if n % 2:
                columns.append(self.columns[-1])
                steps.append(self.steps[-1])
            self.columns, self.steps = columns, steps

    def _rebin(self, counts: np.ndarray, lo: float, hi: float, new_lo: float, new_hi: float) -> np.ndarray:
        n = len(counts)
        centres = lo + (np.arange(n) + 0.5) * (hi - lo) / n
        idx = np.clip(((centres - new_lo) / (new_hi - new_lo) * self.bins).astype(int), 0, self.bins - 1)
        out = np.zeros(self.bins)
        np.add.at(out, idx, counts)
        return out

    def image(self) -> np.ndarray:
        """(columns, bins) counts, oldest column first."""
        return np.array(self.columns) if self.columns else np.zeros((0, self.bins))


def _median(values: deque[float] | list[float]) -> float:
    finite = sorted(v for v in values if math.isfinite(v))
    return finite[len(finite) // 2] if finite else math.nan  # pure Python: np.median costs ~30 µs


@dataclass
class _Watch:
    """Rolling evidence for the vanishing/exploding warnings."""

    ratios: deque[float] = field(default_factory=lambda: deque(maxlen=WARN_WINDOW))
    totals: deque[float] = field(default_factory=lambda: deque(maxlen=WARN_WINDOW))
    start_total: float = math.nan
    first_totals: list[float] = field(default_factory=list)
    active: dict[str, GradientWarning] = field(default_factory=dict)


FOREACH_NORMS_FROM = 5_000  # weights: from here the watch takes its gradient norms in torch
BURST_SECONDS = 0.5  # with a budget: the credit a run starts with, in seconds of training


class GradientHealthProbe(Probe):
    """Per-layer gradient statistics every ``interval`` steps (see the module docstring).

    The trainer calls it after every step (``every = 1``): most calls only compare two integers;
    the step before a report prepares it, the report step measures.
    """

    every = 1

    def __init__(
        self,
        interval: int = 10,
        hist_every: int = HIST_EVERY,
        details: bool = True,
        budget: float | None = None,
    ) -> None:
        """``details=False``: gradient norms and the warnings only (no update ratios, unit fractions
        or histograms; nothing to prepare the step before), for runs where nobody draws the rest.

        ``budget``: at most this share of the training time goes into reports: a report step is
        skipped while the last report's cost is not yet earned back. A report costs ~0.5 ms, and a
        small network's step ~0.4 ms, so every 10 steps would slow such a run by a tenth. None:
        every ``interval`` steps, whatever the cost (reproducible report steps)."""
        self.interval = max(1, int(interval))
        self.hist_every = max(1, int(hist_every))
        self.details = details
        self.budget = budget
        self._due = 0.0  # perf_counter time before which a report step is skipped (with a budget)
        self._model: nn.Module | None = None
        self._reports = 0

    # -- set-up per model -------------------------------------------------------------------
    def _attach(self, model: nn.Module) -> None:
        self._model = model
        self._linears = linear_layers(model)
        self._acts = activation_layers(model)
        self._labels = _labels(self._linears, self._acts)
        self._flat = [p for _, m in self._linears for p in m.parameters()]
        sizes = [[p.numel() for p in m.parameters()] for _, m in self._linears]
        # Where each layer's values start in the concatenated parameter vector (for np.add.reduceat).
        self._starts = np.cumsum([0] + [sum(s) for s in sizes[:-1]]).astype(np.intp)
        self._param_starts = np.cumsum([0] + [len(s) for s in sizes[:-1]]).astype(np.intp)  # in _flat
        self._offsets = np.cumsum([0] + [p.numel() for p in self._flat]).tolist()
        self._size = self._offsets[-1]
        self._copy = any(p.device.type != "cpu" for p in self._flat)
        # On the CPU a parameter's numpy view shares its memory, and optimizers (and load_state_dict)
        # update parameters in place: the views stay current, so reading the weights costs one copy.
        self._views = None if self._copy else [p.detach().numpy().reshape(-1) for p in self._flat]
        self._prev: np.ndarray | None = None
        self._prev_step = -1
        self._hooks: list[Any] = []
        self._captured: dict[int, torch.Tensor] = {}
        self._hist_ranges: dict[str, tuple[float, float]] = {}
        self._watch = _Watch()
        self._reports = 0

    def _weights(self) -> np.ndarray:
        if self._views is not None:
            return np.concatenate(self._views).astype(np.float64)
        return self._vector(self._flat)

    def _vector(self, tensors: Sequence[torch.Tensor | None]) -> np.ndarray:
        present = [t for t in tensors if t is not None]
        if not self._copy and len(present) == len(tensors):
            return np.concatenate([t.numpy().reshape(-1) for t in present]).astype(np.float64)
        out = np.empty(self._size)
        for t, a, b in zip(tensors, self._offsets[:-1], self._offsets[1:], strict=True):
            if t is None:
                out[a:b] = 0.0
            else:
                out[a:b] = (t.detach().cpu() if self._copy else t.detach()).numpy().reshape(-1)
        return out

    def _prepare(self, step: int) -> None:
        """Before a report step: remember the weights and listen to the activation layers."""
        self._prev = self._weights()
        self._prev_step = step
        if not self._hooks:
            for i, (_, _, module) in enumerate(self._acts):
                self._hooks.append(module.register_forward_hook(self._capture(i)))

    def _capture(self, i: int) -> Any:
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            self._captured[i] = output.detach()

        return hook

    def _unhook(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []

    # -- the probe --------------------------------------------------------------------------
    def on_step(self, trainer: Trainer, xb: torch.Tensor, yb: torch.Tensor) -> GradientStats | None:
        model = trainer.model
        first = model is not self._model
        if first:
            if self._model is not None:
                self._unhook()
            self._attach(model)
        step = trainer.step
        # The very first step is always reported: a network can blow up before the first interval.
        report_step = step % self.interval == 0 or (first and step == 1)
        prepare_step = self.details and (step + 1) % self.interval == 0
        if not (report_step or prepare_step):
            return None
        report = None
        if report_step:
            start = time.perf_counter()
            # A step prepared for (its weights kept, the activations listened to) is measured: else
            # the hooks would slow every forward pass until the next report.
            if first or self._prev_step == step - 1 or self._due_soon():
                report = self.measure(trainer)
            else:
                report = self._watch_only(trainer)
            self._charge(start)
        if prepare_step and self._due_soon():
            start = time.perf_counter()
            self._prepare(step)
            self._charge(start)
        return report

    def _charge(self, start: float) -> None:
        """Count the work since ``start`` against the budget. All of it is counted (reports, the watch
        between them, preparing the next report): counting only the reports, the rest took 4% of a
        short run against a 1% budget. Spending is counted from at most BURST_SECONDS back: a run's
        first reports come every interval (a short run still gets its curves), then they are spaced out."""
        if self.budget is not None:
            spent = time.perf_counter() - start
            self._due = max(self._due, start - BURST_SECONDS) + spent / self.budget

    def _watch_only(self, trainer: Trainer) -> GradientStats | None:
        """A skipped report step still feeds the vanishing/exploding watch (the gradient norms cost a
        fraction of a report), so a warning comes as soon as without a budget, as a report of its own."""
        import torch

        grads = [p.grad for p in self._flat]
        present = [g for g in grads if g is not None] if self._size > FOREACH_NORMS_FROM else []
        if present and len(present) == len(grads):
            # One norm per parameter in one call, in its own precision: copying every gradient out
            # as float64 (what a report needs anyway) took 670 us for a 300k-weight network, this
            # 70 us; for a few hundred weights the copy is quicker (12 us against 21).
            per_param = torch.stack(torch._foreach_norm(present)).double().cpu().numpy()
            grad_norm = np.sqrt(np.add.reduceat(per_param * per_param, self._param_starts))
        else:
            grad_norm = self._layer_norms(self._vector(grads))
        active, new = self._check(trainer.step, grad_norm)
        return self.measure(trainer, checked=(active, new)) if new else None

    def _due_soon(self) -> bool:
        return self.budget is None or time.perf_counter() >= self._due

    def _layer_norms(self, values: np.ndarray) -> np.ndarray:
        return np.sqrt(np.add.reduceat(values * values, self._starts))

    def measure(self, trainer: Trainer, checked: tuple[Warnings, Warnings] | None = None) -> GradientStats:
        """The report for the current step. Small arrays: numpy on CPU views beats a dozen torch ops.
        ``checked``: the watch's (active, new) warnings for this step, when it has seen its norms."""
        step = trainer.step
        grads = self._vector([p.grad for p in self._flat])
        weights = self._weights()
        grad_norm = self._layer_norms(grads)
        weight_norm = self._layer_norms(weights)
        if self._prev is not None and self._prev_step == step - 1:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = self._layer_norms(weights - self._prev) / weight_norm
        else:
            ratio = np.full(len(self._linears), math.nan)
        layers, acts, kinds = self._labels
        dead = np.full(len(kinds), math.nan)
        saturated = np.full(len(kinds), math.nan)
        outputs: dict[int, np.ndarray] = {}
        for i, kind in enumerate(kinds):
            out = self._captured.get(i)
            if out is None or out.numel() == 0:
                continue
            if out.ndim == 4:  # images: a channel is a unit, each pixel of each image a sample of it
                out = out.transpose(1, 3)
            a = outputs[i] = out.reshape(-1, out.shape[-1]).cpu().numpy()
            if kind == "ReLU":
                dead[i] = float(np.mean(a.max(axis=0) <= 0))
            elif kind == "Sigmoid":
                saturated[i] = float(np.mean((a < _SIGMOID_EDGE) | (a > 1 - _SIGMOID_EDGE)))
            else:
                saturated[i] = float(np.mean(np.abs(a) > _TANH_EDGE))
        self._reports += 1
        due = self.details and (self._reports - 1) % self.hist_every == 0
        hists = self._histograms(outputs) if due else None
        self._captured.clear()
        self._unhook()
        self._prev = None
        active, new = checked if checked is not None else self._check(step, grad_norm)
        return GradientStats(
            step,
            trainer.epoch,
            layers,
            grad_norm,
            weight_norm,
            ratio,
            acts,
            kinds,
            dead,
            saturated,
            hists,
            active,
            new,
        )

    def _histograms(self, outputs: dict[int, np.ndarray]) -> dict[str, tuple[float, float, np.ndarray]]:
        out = {}
        for label, module in self._linears:
            key = f"weights: {label}"
            out[key] = self._hist(key, module.weight.detach().cpu().numpy().ravel(), "weights")
        for i, (label, kind, _) in enumerate(self._acts):
            if i in outputs:
                key = f"outputs: {label}"
                out[key] = self._hist(key, outputs[i].ravel(), kind)
        return out

    def _hist(self, key: str, values: np.ndarray, kind: str) -> tuple[float, float, np.ndarray]:
        if values.size > HIST_SAMPLE:  # a spread-out sample shows the same shape for a fraction of the cost
            values = values[:: -(-values.size // HIST_SAMPLE)]
        finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
        lo, hi = nice_range(finite, kind, self._hist_ranges.get(key))
        self._hist_ranges[key] = (lo, hi)
        return lo, hi, histogram(finite, lo, hi)

    # -- warnings ---------------------------------------------------------------------------
    def _check(
        self, step: int, grad_norm: np.ndarray
    ) -> tuple[tuple[GradientWarning, ...], tuple[GradientWarning, ...]]:
        w = self._watch
        total = math.sqrt(sum(float(g) ** 2 for g in grad_norm))
        w.totals.append(total)
        if len(w.first_totals) < WARN_WINDOW:
            if math.isfinite(total):
                w.first_totals.append(total)
            w.start_total = _median(w.first_totals)
        if len(grad_norm) >= 2 and grad_norm[-1] > 0:
            w.ratios.append(float(grad_norm[0] / grad_norm[-1]))
        else:
            w.ratios.append(math.nan)
        ratio, typical = _median(w.ratios), _median(w.totals)
        full = len(w.totals) >= min(WARN_WINDOW, 3)
        found: dict[str, str] = {}
        if full and ratio < VANISH_RATIO:
            found["vanishing"] = (
                f"Vanishing gradients: the first layer's gradient is {_orders(ratio)} smaller than the "
                f"output layer's, so the early layers barely learn."
            )
        explode_reason = None
        if full and ratio > EXPLODE_RATIO:
            explode_reason = f"the first layer's gradient is {_orders(ratio)} larger than the output layer's"
        elif typical > EXPLODE_NORM:  # no need to wait for more reports: this is far out of bounds
            explode_reason = f"the gradient norm is {typical:.3g}"
        elif full and math.isfinite(w.start_total) and typical > EXPLODE_GROWTH * max(w.start_total, 1e-3):
            explode_reason = f"the gradient norm grew from {w.start_total:.3g} to {typical:.3g}"
        if explode_reason or not math.isfinite(total):
            found["exploding"] = (
                f"Exploding gradients: {explode_reason or 'the gradient is not finite'}; the updates "
                f"are too big to be stable."
            )
        new = []
        for kind in list(w.active):
            if kind not in found:
                del w.active[kind]
        for kind, message in found.items():
            if kind not in w.active:
                w.active[kind] = GradientWarning(kind, step, message, SUGGESTIONS[kind])
                new.append(w.active[kind])
        return tuple(w.active.values()), tuple(new)


def _orders(ratio: float) -> str:
    if ratio <= 0:
        return "infinitely"
    orders = abs(math.log10(ratio))
    return f"about {10 ** round(orders):.0e}".replace("e+0", "e").replace("e+", "e") + " times"
