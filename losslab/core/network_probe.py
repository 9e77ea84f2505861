"""What each unit of the network computes: the Network view's data, measured on the training thread.

The hidden stack is read as *unit layers*: each Linear (or residual block) together with what follows
it up to the next one (activation, dropout, normalization); its units' activations are that group's
output. The added output layer is the last unit layer. :func:`picture` runs the network once, in
evaluation mode and without gradients, over the training data (at most ``DATA_LIMIT`` samples, evenly
strided) and, for 2-D inputs, a ``GRID`` x ``GRID`` grid over the input plane, and returns for every
drawn unit: its activation over the plane (a small heatmap) or a histogram over the data (other
inputs), its activation range on the data, whether it is *dead* (ReLU: zero for every sample, so no
gradient reaches it) or *saturated* (tanh/sigmoid: on the flat tails, where the slope is under
SLOPE_FRACTION of its peak, for at least SATURATED_SHARE of the samples; the Gradients tab's
definition), and its incoming weights.

At most ``MAX_UNITS`` units per layer are drawn (the ones whose activation varies most on the data;
the picture says so) and at most ``MAX_LAYERS`` hidden layers. :class:`NetworkProbe` takes a picture at
most every ``interval`` seconds and within ``budget`` of the training time, only while a view watches.
"""

from __future__ import annotations

import itertools
import math
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from losslab.core.diagnostics import SLOPE_FRACTION, linear_layers
from losslab.core.probe import Probe
from losslab.core.tasks import GAN

if TYPE_CHECKING:  # torch loads with the trainer; the window imports this module before that
    import torch
    from torch import nn

    from losslab.core.base_trainer import Trainer
    from losslab.core.model import Network

MAX_UNITS = 32
MAX_LAYERS = 8
GRID = 24
DATA_LIMIT = 2048
HIST_BINS = 16
SATURATED_SHARE = 0.9
INTERVAL_SECONDS = 0.25  # at most 4 pictures a second
BUDGET = 0.03  # and at most 3% of the training time
_SIGMOID_EDGE = 0.5 * (1 - math.sqrt(1 - SLOPE_FRACTION))  # s(1 - s) < SLOPE_FRACTION * 0.25
_TANH_EDGE = math.sqrt(1 - SLOPE_FRACTION)  # 1 - t^2 < SLOPE_FRACTION
_KINDS = {
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "GELU": "gelu",
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "Softplus": "softplus",
    "Softmax": "softmax",
}


@dataclass
class UnitLayer:
    """One column of the drawing. Arrays are over the drawn units (``units``) unless said otherwise."""

    label: str  # "Linear 1 (2→16)": the Gradients tab's name for its weights ("" for the inputs)
    kind: str  # "input", "linear", "residual", or the activation that ends the group ("relu", ...)
    width: int  # units in the layer
    units: np.ndarray  # int: which units are drawn, ascending
    low: np.ndarray  # activation range on the data
    high: np.ndarray
    dead: np.ndarray  # bool
    saturated: np.ndarray  # bool
    incoming: np.ndarray | None  # (drawn units, previous layer's width): the weights into each unit
    grid: np.ndarray | None = None  # (drawn units, GRID, GRID) float32, rows along the 2nd input
    hist: np.ndarray | None = None  # (drawn units, HIST_BINS) counts over [low, high]

    @property
    def summarized(self) -> bool:
        return len(self.units) < self.width


@dataclass
class NetworkPicture:
    step: int
    epoch: int
    layers: list[UnitLayer]  # the inputs first, the output layer last
    extent: tuple[float, float, float, float] | None  # (x0, x1, y0, y1) of the grid, display units
    notes: list[str] = field(default_factory=list)  # what is summarized or left out

    @property
    def dead_count(self) -> int:
        return sum(int(layer.dead.sum()) for layer in self.layers)

    @property
    def saturated_count(self) -> int:
        return sum(int(layer.saturated.sum()) for layer in self.layers)


def _groups(model: Network) -> list[tuple[str, list[nn.Module], nn.Module | None]]:
    """(kind, modules, weight-carrying module) per unit layer of the hidden stack, then the output."""
    from torch import nn

    from losslab.core.blocks import ResidualBlock

    groups: list[tuple[str, list[nn.Module], nn.Module | None]] = []
    lead: list[nn.Module] = []  # modules before the first Linear act on the inputs
    for m in model.hidden:
        if isinstance(m, (nn.Linear, nn.Conv2d, ResidualBlock)):
            groups.append(("residual" if isinstance(m, ResidualBlock) else "linear", [m], m))
        elif groups:
            kind = _KINDS.get(type(m).__name__)
            old_kind, mods, w = groups[-1]
            groups[-1] = (kind or old_kind, [*mods, m], w)
        else:
            lead.append(m)
    out_mods: list[nn.Module] = [model.head] + ([model.out_act] if model.out_act is not None else [])
    out_kind = _KINDS.get(type(model.out_act).__name__, "linear") if model.out_act is not None else "linear"
    groups.append((out_kind, out_mods, model.head))
    if lead:
        groups.insert(0, ("lead", lead, None))
    return groups


def _label(module: nn.Module, width: int) -> str:
    from torch import nn

    if isinstance(module, nn.Conv2d):
        return f"Conv2d ({module.in_channels}→{module.out_channels} channels)"
    return f"Residual block ({width} units)"


def _pick(values: torch.Tensor, limit: int) -> np.ndarray:
    """The ``limit`` units whose activation varies most over the data, ascending."""
    width = values.shape[1]
    if width <= limit:
        return np.arange(width)
    spread = values.std(dim=0).nan_to_num(0.0).cpu().numpy()
    return np.sort(np.argsort(-spread, kind="stable")[:limit])


def _health(kind: str, act: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(dead, saturated) per unit of ``act`` (samples x units)."""
    n_units = act.shape[1]
    dead = np.zeros(n_units, dtype=bool)
    sat = np.zeros(n_units, dtype=bool)
    if act.shape[0] == 0:
        return dead, sat
    if kind == "relu":
        dead = (act <= 0).all(dim=0).cpu().numpy()
    elif kind == "tanh":
        sat = ((act.abs() > _TANH_EDGE).float().mean(dim=0) >= SATURATED_SHARE).cpu().numpy()
    elif kind == "sigmoid":
        edge = (act < _SIGMOID_EDGE) | (act > 1 - _SIGMOID_EDGE)
        sat = (edge.float().mean(dim=0) >= SATURATED_SHARE).cpu().numpy()
    return dead, sat


def picture(trainer: Trainer, grid: int = GRID) -> NetworkPicture:
    """The network now (see the module docstring). Call on the thread that trains, or when idle."""
    import torch

    model, ds = trainer.model, trainer.dataset
    x = trainer.x_train
    n = len(x)
    if n > DATA_LIMIT:
        x = x[torch.linspace(0, n - 1, DATA_LIMIT, device=x.device).long()]
    n_data = len(x)
    extent = None
    feats = x.reshape(n_data, -1)
    if ds.n_features == 2 and len(ds.input_shape) == 1:
        shown = ds.x_to_display(ds.x_train) if n else np.zeros((1, 2))
        lo, hi = shown.min(axis=0), shown.max(axis=0)
        pad = 0.08 * np.maximum(hi - lo, 1e-6)
        lo, hi = lo - pad, hi + pad
        extent = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
        plane = ds.x_from_display(np.column_stack([gx.ravel(), gy.ravel()]))
        x = torch.cat([x, torch.as_tensor(plane, dtype=x.dtype, device=x.device)])

    notes: list[str] = []
    names = [label for label, _ in linear_layers(model)]
    name_of = {id(m): label for (label, m) in zip(names, [m for _, m in linear_layers(model)], strict=True)}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            layers = [_layer("", "input", x.reshape(len(x), -1), n_data, None, extent is not None, grid)]
            image_shape = getattr(model, "image_shape", None)
            h = x.view(len(x), *image_shape) if image_shape is not None else x
            groups = _groups(model)
            hidden_drawn = 0
            hidden_total = sum(1 for kind, _, w in groups[:-1] if w is not None)
            for gi, (kind, mods, weights) in enumerate(groups):
                is_output = gi == len(groups) - 1
                if is_output and h.ndim > 2 and not getattr(model, "per_pixel", False):
                    h = h.flatten(1)  # as Network.forward does before a Linear output layer
                units = h
                for m in mods:
                    h = m(h)
                    if h.ndim >= units.ndim or h.ndim > 2:  # a flattening keeps the channels as units
                        units = h
                if weights is None:  # modules before the first Linear: they only transform the inputs
                    continue
                if not is_output:
                    hidden_drawn += 1
                    if hidden_drawn > MAX_LAYERS:
                        continue
                # Images: a channel is a unit, its activation the mean over the image.
                flat = units if units.ndim == 2 else units.flatten(2).mean(2)
                label = name_of.get(id(weights)) or _label(weights, flat.shape[1])
                layer = _layer(label, kind, flat, n_data, weights, extent is not None, grid)
                if layer.incoming is not None and hidden_drawn > MAX_LAYERS:
                    layer.incoming = None  # its inputs are not drawn
                layers.append(layer)
    finally:
        model.train(was_training)
    for before, layer in itertools.pairwise(layers):
        if layer.incoming is not None and layer.incoming.shape[1] != before.width:
            layer.incoming = None  # e.g. a Linear after a flattened image: lines would not match units
        if layer.summarized:
            notes.append(f"{layer.label}: {len(layer.units)} of {layer.width} units drawn (the most varied)")
    if hidden_drawn > MAX_LAYERS:
        notes.append(f"{MAX_LAYERS} of {hidden_total} hidden layers drawn (the first ones) and the output")
    if feats.shape[1] > MAX_UNITS:
        notes.append(f"inputs: {len(layers[0].units)} of {feats.shape[1]} features drawn")
    return NetworkPicture(trainer.step, trainer.epoch, layers, extent, notes)


def _layer(
    label: str,
    kind: str,
    act: torch.Tensor,
    n_data: int,
    weights: nn.Module | None,
    planar: bool,
    grid: int,
) -> UnitLayer:
    """One unit layer from its activations (data rows first, then the grid's rows when ``planar``)."""
    import torch
    from torch import nn

    data = act[:n_data]
    units = _pick(data, MAX_UNITS)
    idx = torch.as_tensor(units, device=act.device)
    drawn = data.index_select(1, idx).float()
    if len(drawn):
        low, high = drawn.min(dim=0).values.cpu().numpy(), drawn.max(dim=0).values.cpu().numpy()
    else:
        low = high = np.full(len(units), math.nan)
    dead, sat = _health(kind, drawn)
    incoming = None
    if isinstance(weights, nn.Linear):
        incoming = weights.weight.detach().index_select(0, idx).float().cpu().numpy()
    layer = UnitLayer(label, kind, act.shape[1], units, low, high, dead, sat, incoming)
    if planar:
        plane = act[n_data:].index_select(1, idx).float()
        layer.grid = plane.T.reshape(len(units), grid, grid).cpu().numpy().astype(np.float32)
    else:
        counts = np.zeros((len(units), HIST_BINS), dtype=np.int64)
        values = drawn.cpu().numpy()
        for j in range(len(units)):
            lo, hi = float(low[j]), float(high[j])
            if math.isfinite(lo) and math.isfinite(hi):
                counts[j] = np.histogram(values[:, j], HIST_BINS, (lo, hi if hi > lo else lo + 1e-6))[0]
        layer.hist = counts
    return layer


class NetworkProbe(Probe):
    """Takes a :func:`picture` now and then on the training thread, only while a view watches."""

    every = 0  # not asked per step until a view watches (see watch)

    def __init__(self, interval: float = INTERVAL_SECONDS, budget: float = BUDGET) -> None:
        self.interval = interval
        self.budget = budget
        self._due = 0.0
        self._watchers: set[int] = set()
        self.pictures = 0
        self.seconds = 0.0

    def watch(self, who: object, on: bool) -> None:
        """A view says whether it shows the pictures now (call from one thread)."""
        if on:
            self._watchers.add(id(who))
        else:
            self._watchers.discard(id(who))
        self.every = 1 if self._watchers else 0

    def on_step(self, trainer: Trainer, xb: torch.Tensor, yb: torch.Tensor) -> NetworkPicture | None:
        return self._maybe(trainer, False)

    def on_epoch(self, trainer: Trainer) -> NetworkPicture | None:
        return self._maybe(trainer, trainer.epoch >= trainer.experiment.training["epochs"])

    def _maybe(self, trainer: Trainer, last: bool) -> NetworkPicture | None:
        start = time.perf_counter()
        if not self._watchers or (start < self._due and not last):
            return None
        shot = picture(trainer)
        spent = time.perf_counter() - start
        self.pictures += 1
        self.seconds += spent
        self._due = start + max(self.interval, spent / self.budget)
        return shot


_GIVEN: weakref.WeakKeyDictionary[Trainer, NetworkProbe] = weakref.WeakKeyDictionary()


def network_probes(trainer: Trainer) -> list[Probe]:
    """[a NetworkProbe] for a trainer that has none yet, [] for GAN training. Views share one: the
    window collects every view's probes before it attaches them, so trainers given one are kept."""
    if (
        trainer.dataset.task == GAN
        or trainer in _GIVEN
        or any(isinstance(p, NetworkProbe) for p in trainer.probes)
    ):
        return []
    probe = _GIVEN[trainer] = NetworkProbe()
    return [probe]


def network_probe(trainer: object) -> NetworkProbe | None:
    return next((p for p in getattr(trainer, "probes", ()) if isinstance(p, NetworkProbe)), None)
