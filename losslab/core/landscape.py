"""Slices of the loss landscape: the training loss as a function of the weights, seen in 1-D or 2-D.

- :func:`line` — the loss along the straight line θ(α) = θ₀ + α (θ₁ − θ₀) from the initial weights
  (α = 0) to the current ones (α = 1), and beyond.
- :func:`grid` — the loss on a grid θ(a, b) = θ + a d₁ + b d₂ around the current weights θ. The two
  directions are random and *filter-normalized* (Li et al., 2018, "Visualizing the Loss Landscape
  of Neural Nets"): each neuron's slice of a random direction is rescaled to the norm of that
  neuron's incoming weights, so a step of 1 moves every neuron by about its own size and networks
  with differently scaled layers become comparable; biases and normalization parameters get no
  direction. Or the directions are the first two principal components of the recorded weight
  history, the plane in which the optimizer actually moved.

The loss is the data loss on the whole training set in evaluation mode, the number the loss plot
shows at each epoch end, so the centre of a grid is the current training loss. Every function
works on its own copy of the model: a training run in another thread is never touched.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from losslab.core.data import Dataset
from losslab.core.errors import Cancelled, LossLabError
from losslab.core.experiment import Experiment
from losslab.core.files import check_user_file
from losslab.core.trainer import Trainer, make_trainer
from losslab.core.trajectory import Trajectory, WeightSnapshot, WeightTrajectoryProbe
from losslab.core.weights import flat_params

__all__ = [
    "Cancelled",
    "Landscape",
    "LandscapeGrid",
    "LandscapeLine",
    "LossSurface",
    "Trajectory",
    "WeightSnapshot",
    "WeightTrajectoryProbe",
    "axis",
    "compute_landscape",
    "flat_from_state",
    "flat_params",
    "grid",
    "line",
    "load_weights",
    "pca_directions",
    "project",
]

DIRECTIONS = ("random", "pca")
WEIGHTS_MAX_BYTES = 1024**3  # a network is at most 20M parameters (layers.py): 80 MB of float32


def flat_from_state(model: nn.Module, state: dict[str, Any]) -> torch.Tensor:
    """The parameter vector a state_dict holds, in ``model.parameters()`` order."""
    names = [name for name, _ in model.named_parameters()]
    missing = [n for n in names if n not in state]
    if missing:
        raise LossLabError(f"the weights do not fit this network (no {missing[0]!r})", "weights")
    parts = []
    for name, p in model.named_parameters():
        value = torch.as_tensor(state[name])
        if value.shape != p.shape:
            raise LossLabError(
                f"the weights do not fit this network ({name} is {tuple(value.shape)}, the network "
                f"needs {tuple(p.shape)})",
                "weights",
            )
        parts.append(value.detach().reshape(-1).to("cpu", torch.float64))
    return torch.cat(parts)


class LossSurface:
    """Evaluates the training loss at arbitrary parameter vectors of one network (its own copy)."""

    def __init__(self, trainer: Trainer, model: nn.Module | None = None) -> None:
        self.model = copy.deepcopy(model if model is not None else trainer.model)
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.device = next(self.model.parameters()).device
        self.x, self.y = trainer.x_train, trainer.y_train
        self.loss_spec = trainer.loss_spec
        self.loss_params = dict(trainer._loss_params)
        self.params = list(self.model.parameters())
        self.shapes = [(p.shape, p.numel()) for p in self.params]
        self.center = flat_params(self.model)

        self.names = [name for name, _ in self.model.named_parameters()]
        self.buffers = dict(self.model.named_buffers())
        widest = max([m.out_features for m in self.model.modules() if isinstance(m, nn.Linear)] + [1])
        # Grid points evaluated in one batched forward pass: ~8 MB of activations per layer at most.
        self.chunk = max(1, min(256, 2_000_000 // max(1, len(self.x) * widest)))
        self._batched: Any = None  # built on first use; False when vmap cannot run this loss

    def set_center(self, vector: Any) -> None:
        """Centre the surface on ``vector`` (e.g. weights recorded on the training thread between steps)."""
        vector = torch.as_tensor(np.asarray(vector), dtype=torch.float64)
        if vector.shape != self.center.shape:
            raise LossLabError("the recorded weights belong to a different network; train again", "weights")
        self.center = vector
        self._load(vector)

    @torch.no_grad()
    def loss(self, vector: torch.Tensor) -> float:
        """The data loss on the training set with the parameters set to ``vector``."""
        self._load(vector)
        out = self.model(self.x)
        return float(self.loss_spec.compute(out, self.y, **self.loss_params))

    @torch.no_grad()
    def losses(self, vectors: torch.Tensor) -> np.ndarray:
        """The loss at each row of ``vectors`` (K, P): batched with torch.func.vmap where it works.

        One batched forward pass for many grid points was ~20x faster than a loop for the default
        network (the loop is all per-operation overhead); losses vmap cannot run fall back to the loop.
        """
        if self._batched is None:
            self._batched = self._make_batched()
            if self._batched is not False:
                try:  # check once against the loop: a loss with data-dependent branches fails here
                    probe = vectors[:2]
                    got = self._batched(probe.to(self.device, self.params[0].dtype)).cpu().numpy()
                    want = np.array([self.loss(v) for v in probe])
                    if not np.allclose(got, want, rtol=1e-4, atol=1e-6, equal_nan=True):
                        self._batched = False
                except Exception:
                    self._batched = False
        if self._batched is False:
            return np.array([self.loss(v) for v in vectors])
        out = []
        for k in range(0, len(vectors), self.chunk):
            part = vectors[k : k + self.chunk].to(self.device, self.params[0].dtype)
            out.append(self._batched(part).cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    def _make_batched(self) -> Any:
        try:
            from torch.func import functional_call, vmap
        except ImportError:  # pragma: no cover - torch < 2.0
            return False
        model, names, shapes, buffers = self.model, self.names, self.shapes, self.buffers
        x, y, spec, params = self.x, self.y, self.loss_spec, self.loss_params

        def one(flat: torch.Tensor) -> torch.Tensor:
            tensors = {}
            i = 0
            for name, (shape, n) in zip(names, shapes, strict=True):
                tensors[name] = flat[i : i + n].view(shape)
                i += n
            out: torch.Tensor = functional_call(model, {**tensors, **buffers}, (x,))
            return spec.compute(out, y, **params)

        return vmap(one)

    def _load(self, vector: torch.Tensor) -> None:
        v = vector.to(self.device, self.params[0].dtype)
        i = 0
        for p, (shape, n) in zip(self.params, self.shapes, strict=True):
            p.copy_(v[i : i + n].view(shape))
            i += n

    # -- directions -------------------------------------------------------------------------
    def random_direction(
        self, generator: torch.Generator, center: torch.Tensor | None = None
    ) -> torch.Tensor:
        """A filter-normalized random direction (Li et al. 2018) around ``center`` (default: current)."""
        center = self.center if center is None else center
        parts = []
        i = 0
        for p, (shape, n) in zip(self.params, self.shapes, strict=True):
            w = center[i : i + n].view(shape)
            i += n
            if p.ndim <= 1:  # biases, BatchNorm/LayerNorm scales and shifts: left where they are
                parts.append(torch.zeros(n, dtype=torch.float64))
                continue
            d = torch.randn(shape, generator=generator, dtype=torch.float64)
            rows_w = w.reshape(shape[0], -1)
            rows_d = d.reshape(shape[0], -1)
            scale = rows_w.norm(dim=1, keepdim=True) / (rows_d.norm(dim=1, keepdim=True) + 1e-10)
            parts.append((rows_d * scale).reshape(-1))
        return torch.cat(parts)


@dataclass
class LandscapeLine:
    alphas: np.ndarray  # 0 = initial weights, 1 = current weights
    losses: np.ndarray
    start_loss: float
    end_loss: float


@dataclass
class LandscapeGrid:
    xs: np.ndarray  # coordinates along direction 1 (0 = current weights)
    ys: np.ndarray  # along direction 2
    losses: np.ndarray  # (len(ys), len(xs)): losses[j, i] is at (xs[i], ys[j])
    center_loss: float
    directions: str  # "random" or "pca"
    trajectory: np.ndarray | None  # (T, 2) coordinates of the recorded weights, or None
    explained: tuple[float, float] | None = None  # PCA: fraction of the path's variance per axis

    @property
    def center(self) -> float:
        """The loss at the grid point (0, 0): the current weights."""
        j, i = len(self.ys) // 2, len(self.xs) // 2
        return float(self.losses[j, i])


def _check_cancel(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled


def line(
    surface: LossSurface,
    start: torch.Tensor,
    end: torch.Tensor | None = None,
    alphas: Sequence[float] | np.ndarray | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> LandscapeLine:
    """The loss along θ₀ + α (θ₁ − θ₀); ``start`` θ₀ and ``end`` θ₁ (default: the current weights)."""
    end = surface.center if end is None else end
    alphas = np.linspace(-0.5, 1.5, 81) if alphas is None else np.asarray(alphas, dtype=np.float64)
    delta = end - start
    losses = np.empty(len(alphas))
    chunk = 16
    for k in range(0, len(alphas), chunk):
        _check_cancel(cancelled)
        part = torch.as_tensor(alphas[k : k + chunk])[:, None]
        losses[k : k + chunk] = surface.losses(start + part * delta)
        if progress is not None:
            progress(min(k + chunk, len(alphas)), len(alphas))
    start_loss = surface.loss(start)
    end_loss = surface.loss(end)
    surface._load(surface.center)
    return LandscapeLine(alphas, losses, start_loss, end_loss)


def axis(steps: int, span: float) -> np.ndarray:
    """``steps`` coordinates over [-span, span], with an exact 0 in the middle when ``steps`` is odd."""
    xs = np.linspace(-span, span, steps)
    if steps % 2:
        xs[steps // 2] = 0.0
    return xs


def pca_directions(
    center: torch.Tensor, history: Sequence[Any]
) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
    """The first two principal directions of the weight history relative to ``center`` (unit vectors)."""
    try:
        rows = [torch.as_tensor(np.asarray(h, dtype=np.float64)) for h in history]
    except (TypeError, ValueError):
        raise LossLabError(
            "the trajectory must be a list of weight vectors (lists or arrays of numbers)", "trajectory"
        ) from None
    if len(rows) < 3:
        raise LossLabError(
            "PCA directions need the weights recorded during training: train for a while first "
            "(or use random directions)",
            "directions",
        )
    m = torch.stack(rows) - center
    if m.shape[1] != len(center):
        raise LossLabError("the recorded weights belong to a different network; train again", "directions")
    _, s, vh = torch.linalg.svd(m, full_matrices=False)
    if len(s) < 2 or float(s[1]) <= 0:
        raise LossLabError(
            "the weights hardly moved during training, so there is no plane to show", "directions"
        )
    var = s**2
    explained = (float(var[0] / var.sum()), float(var[1] / var.sum()))
    return vh[0].clone(), vh[1].clone(), explained


def project(points: Sequence[Any], center: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor) -> np.ndarray:
    """Least-squares (a, b) with center + a d1 + b d2 closest to each point: (T, 2)."""
    if not len(points):
        return np.zeros((0, 2))
    m = torch.stack([torch.as_tensor(np.asarray(p), dtype=torch.float64) for p in points]) - center
    basis = torch.stack([d1, d2], dim=1)  # (P, 2)
    coords: torch.Tensor = torch.linalg.lstsq(basis, m.T).solution.T
    return coords.numpy()


def grid(
    surface: LossSurface,
    steps: int = 31,
    span: float = 1.0,
    directions: str = "random",
    *,
    seed: int = 0,
    trajectory: Sequence[Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> LandscapeGrid:
    """The loss on a ``steps`` x ``steps`` grid around the current weights.

    ``directions``: "random" (filter-normalized, ``span`` in units of the weights' own size) or
    "pca" (of ``trajectory``, the recorded weight vectors; the span is set to cover the path).
    ``trajectory``, when given, is also projected onto the plane.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or not 3 <= steps <= 201:
        raise LossLabError(f"must be a whole number from 3 to 201, got {steps!r}", "steps")
    if not isinstance(span, (int, float)) or not 0 < span <= 1e3 or not math.isfinite(span):
        raise LossLabError(f"must be a number above 0, got {span!r}", "span")
    if directions not in DIRECTIONS:
        raise LossLabError(f"must be one of {', '.join(DIRECTIONS)}; got {directions!r}", "directions")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise LossLabError(f"must be a whole number from 0 to 2**63 - 1, got {seed!r}", "seed")
    center = surface.center
    explained = None
    if directions == "pca":
        d1, d2, explained = pca_directions(center, trajectory or [])
    else:
        gen = torch.Generator().manual_seed(seed)
        d1 = surface.random_direction(gen)
        d2 = surface.random_direction(gen)
        if not (d1.any() and d2.any()):
            raise LossLabError(
                "the weights are all zero, so filter-normalized directions have no length; train "
                "first or use another initialisation",
                "directions",
            )
    path = project(trajectory, center, d1, d2) if trajectory is not None and len(trajectory) else None
    if directions == "pca":
        reach = float(np.abs(path).max()) if path is not None and path.size else 1.0
        span = 1.15 * reach if reach > 0 else 1.0
    xs, ys = axis(steps, span), axis(steps, span)
    losses = np.empty((steps, steps))
    total = steps * steps
    aa, bb = np.meshgrid(xs, ys)  # row j, column i: (xs[i], ys[j])
    aa, bb = torch.as_tensor(aa.ravel())[:, None], torch.as_tensor(bb.ravel())[:, None]
    flat = losses.reshape(-1)
    with torch.no_grad():
        for k in range(0, total, surface.chunk):
            _check_cancel(cancelled)
            part = slice(k, min(k + surface.chunk, total))
            flat[part] = surface.losses(center + aa[part] * d1 + bb[part] * d2)
            if progress is not None:
                progress(part.stop, total)
    surface._load(center)
    center_loss = surface.loss(center)
    return LandscapeGrid(xs, ys, losses, center_loss, directions, path, explained)


@dataclass
class Landscape:
    """Both views of one network's landscape, as :func:`losslab.landscape` returns them."""

    grid: LandscapeGrid
    line: LandscapeLine

    @property
    def center_loss(self) -> float:
        return self.grid.center_loss


def load_weights(trainer: Trainer, weights: Any) -> None:
    """Put ``weights`` into the trainer's model: a state_dict, a weights.pt path or a module."""
    import os

    if weights is None:
        return
    if isinstance(weights, nn.Module):
        weights = weights.state_dict()
    elif hasattr(weights, "model") and isinstance(weights.model, nn.Module):  # a Trainer
        weights = weights.model.state_dict()
    elif isinstance(weights, (str, os.PathLike)):
        try:  # a folder, a pipe, a device such as /dev/zero or a huge file is refused unread
            path = check_user_file(weights, WEIGHTS_MAX_BYTES, "a weights file (weights.pt)")
        except LossLabError as exc:
            raise LossLabError(str(exc), "weights") from None
        try:
            weights = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a corrupt or foreign file: say so, no traceback (torch's text is a page)
            raise LossLabError(
                f"cannot read weights from {path}: it is not a PyTorch weights file such as the "
                "weights.pt `losslab run` writes, or it is damaged",
                "weights",
            ) from None
    if not isinstance(weights, dict):
        raise LossLabError(
            f"must be a state_dict, a path to weights.pt or a torch module, got {type(weights).__name__}",
            "weights",
        )
    vector = flat_from_state(trainer.model, weights)
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(
            vector.to(next(trainer.model.parameters()).dtype), list(trainer.model.parameters())
        )
    buffers = {k: v for k, v in weights.items() if k not in dict(trainer.model.named_parameters())}
    if buffers:
        trainer.model.load_state_dict({**trainer.model.state_dict(), **buffers})


def compute_landscape(
    experiment: Experiment,
    weights: Any = None,
    steps: int = 31,
    span: float = 1.0,
    directions: str = "random",
    *,
    seed: int = 0,
    trajectory: Sequence[Any] | None = None,
    dataset: Dataset | None = None,
    device: str | None = None,
) -> Landscape:
    """The 2-D grid around ``weights`` and the 1-D line from the experiment's initial weights to them."""
    with torch.random.fork_rng(devices=[]):
        trainer = make_trainer(experiment, dataset, device=device)
    start = flat_params(trainer.model)
    load_weights(trainer, weights)
    surface = LossSurface(trainer)
    result_grid = grid(surface, steps, span, directions, seed=seed, trajectory=trajectory)
    result_line = line(surface, start)
    return Landscape(result_grid, result_line)
