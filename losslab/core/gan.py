"""GAN training: the user's network is the generator; the experiment's discriminator judges it.

The discriminator (its layers, optimizer and steps per generator step: core/discriminator.py)
always minimises ``gan_d`` (binary cross-entropy: real -> 1, fake -> 0). The experiment's loss
picks what the generator minimises: ``gan_g_minimax`` (the original zero-sum game, which saturates
when the discriminator wins), ``gan_g_nonsat`` (the usual fix), or ``gan_d`` itself, which means
the same zero-sum game written as "maximise the discriminator's loss".

Each epoch reports, besides the losses: how far the generated points are from the data (sliced
Wasserstein), the discriminator's mean verdicts, how many of the data's modes the generator covers
(mode collapse) and the norm of the generator's gradient (saturation). ``GanProbe`` sends what the
window draws: real and generated points, the discriminator's decision surface, points per mode.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from losslab.core.base_trainer import Trainer
from losslab.core.data.gan import image_size, mode_centres, mode_counts, mode_radius, modes_covered
from losslab.core.discriminator import LOSS as DISCRIMINATOR_LOSS
from losslab.core.discriminator import validate_discriminator
from losslab.core.experiment import OPTIMIZER_COMMON
from losslab.core.gan_report import GanSnapshot
from losslab.core.losses import get_loss
from losslab.core.model import build_model
from losslab.core.optim import get_optimizer_spec
from losslab.core.probe import Probe

MEASURE_POINTS = 1000  # generated points behind the per-epoch mode count and gradient norm
REFERENCE_LOSS = "gan_g_nonsat"
SURFACE_GRID = 64  # the decision surface's resolution per axis (2-D data), or points (1-D data)
SNAPSHOT_POINTS = 500


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 32, seed: int = 0) -> float:
    """Average 1-D Wasserstein distance between two point clouds over random directions.

    Zero when the generated points are distributed like the real ones; cheap and stable.
    """
    n = min(len(a), len(b))
    if n == 0:
        return math.nan
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], projections, generator=g).to(a.device)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    pa = torch.sort(a[:n] @ dirs, dim=0).values
    pb = torch.sort(b[:n] @ dirs, dim=0).values
    return float((pa - pb).abs().mean())


class GanTrainer(Trainer):
    detect_explosion = False  # the generator's loss rises whenever the discriminator gets ahead
    _stateful = ("model", "optimizer", "discriminator", "d_optimizer")

    def reset_weights(self) -> None:
        self.latent_dim = self.in_features  # the generator maps noise to points (layers.network_io)
        super().reset_weights()
        exp = self.experiment
        section = exp.discriminator or validate_discriminator(None, exp.optimizer, OPTIMIZER_COMMON)
        self.d_section = section
        d = self.dataset.n_features
        # Built right after the generator from the same seeded stream, as the fixed network always was.
        self.discriminator = build_model(section["layers"], d, 1, None, section["init"]).to(self.device)
        opt = section["optimizer"]
        self.d_optimizer = get_optimizer_spec(opt["id"]).create(
            self.discriminator.parameters(), opt["lr"], opt["params"], self.device
        )
        self._d_clip = opt["grad_clip"]
        self._d_steps = section["steps"]
        self._d_params = list(self.discriminator.parameters())
        self._d_loss = get_loss(DISCRIMINATOR_LOSS)
        # The spec says what the generator minimises when it is not the chosen loss itself (gan_d's
        # "zero-sum" reading: maximise the discriminator's loss on fakes, i.e. gan_g_minimax).
        self._g_loss = get_loss(self.loss_spec.gan_generator or self.loss_spec.id)
        gen = torch.Generator().manual_seed(exp.training["seed"] + 1)
        self._fixed_noise = torch.randn(
            max(len(self.x_train), MEASURE_POINTS), self.latent_dim, generator=gen
        ).to(self.device)
        n = max(len(self.x_train), 1)
        self._ones = torch.ones(n, device=self.device)
        self._zeros = torch.zeros(n, device=self.device)
        self.centres = mode_centres(self.dataset.spec_id)
        self.radius = mode_radius(float(exp.dataset.get("noise", 0.0)))
        self._measured: tuple[int, dict[str, float]] | None = None

    def _logit(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's logit per sample, shape (N,)."""
        out: torch.Tensor = self.discriminator(x)
        return out.reshape(len(x))

    def _d_step(self, real: torch.Tensor, fake: torch.Tensor) -> float:
        """One discriminator update on a real and a generated batch (``fake`` detached)."""
        d_out = self._logit(torch.cat([real, fake]))
        target = torch.cat([self._ones[: len(real)], self._zeros[: len(fake)]])
        loss = self._d_loss.compute(d_out, target)
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self._d_clip:
            torch.nn.utils.clip_grad_norm_(self._d_params, self._d_clip)
        self.d_optimizer.step()
        return float(loss.item())

    def _train_step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, float, dict[str, float] | None]:
        n = len(xb)
        fake = self.model(torch.randn(n, self.latent_dim, device=self.device)).reshape(n, -1)
        d_value = self._d_step(xb, fake.detach())
        for _ in range(self._d_steps - 1):  # a stronger discriminator: more updates, fresh fakes
            with torch.no_grad():
                more = self.model(torch.randn(n, self.latent_dim, device=self.device)).reshape(n, -1)
            d_value = self._d_step(xb, more)

        g_loss = self._g_loss.compute(self._logit(fake), self._ones[:n], **self._loss_params)
        self._descend(g_loss)
        value = g_loss.item()
        return value, value, {"discriminator": d_value}

    @torch.no_grad()
    def generate(self, n: int) -> torch.Tensor:
        """``n`` generated points (standardized units) from a fixed noise batch, so frames compare."""
        noise = self._fixed_noise
        if n > len(noise):
            noise = torch.cat([noise, torch.randn(n - len(noise), self.latent_dim, device=self.device)])
        was_training = self.model.training
        self.model.eval()
        try:
            out: torch.Tensor = self.model(noise[:n])
            return out.reshape(n, -1)
        finally:
            self.model.train(was_training)

    def sample(self, n: int = 500) -> np.ndarray:
        """Generated points in display units."""
        return self.dataset.x_to_display(self.generate(n).cpu().numpy())

    @torch.no_grad()
    def predict(self, x_display: np.ndarray) -> np.ndarray:
        """The discriminator's P(real) at points given in display units."""
        x = torch.as_tensor(
            self.dataset.x_from_display(np.asarray(x_display)), dtype=torch.float32, device=self.device
        )
        return torch.sigmoid(self._logit(x)).cpu().numpy()

    def generator_grad_norms(self) -> tuple[float, float]:
        """‖∂L_G/∂θ_G‖ on the fixed noise, for the run's generator loss and for the non-saturating
        −log D at the same weights: how hard the loss pushes the generator now, and how hard it could."""
        noise = self._fixed_noise[:MEASURE_POINTS]
        params = [p for p in self.model.parameters() if p.requires_grad]
        norms = []
        with torch.enable_grad():
            d_fake = self._logit(self.model(noise).reshape(len(noise), -1))
            ones = torch.ones_like(d_fake)
            losses = [self._g_loss.compute(d_fake, ones, **self._loss_params)]
            if self._g_loss.id != REFERENCE_LOSS:
                losses.append(get_loss(REFERENCE_LOSS).compute(d_fake, ones))
            for i, loss in enumerate(losses):
                grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=i < len(losses) - 1)
                squares = [g.pow(2).sum() for g in grads if g is not None]
                norms.append(float(torch.stack(squares).sum().sqrt()) if squares else 0.0)
        return norms[0], norms[-1]

    def mode_counts(self, points: np.ndarray) -> np.ndarray | None:
        """Generated points (display units) near each of the data's modes, where the modes are known."""
        if self.centres is None or points.shape[1] != self.centres.shape[1]:
            return None
        return mode_counts(points, self.centres, self.radius)

    def _epoch_measures(self) -> dict[str, float]:
        """Modes covered and the generator's gradient norm, once per step count (both splits share them)."""
        if self._measured is not None and self._measured[0] == self.step:
            return self._measured[1]
        points = self.sample(MEASURE_POINTS)
        counts = self.mode_counts(points)
        g_grad, g_grad_ref = self.generator_grad_norms()
        measures = {
            "modes": float(modes_covered(counts, len(points))) if counts is not None else math.nan,
            "g_grad": g_grad,
            "g_grad_ref": g_grad_ref,
        }
        self._measured = (self.step, measures)
        return measures

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, dict[str, float]]:
        """Generator loss on fixed noise, the distance between real and generated points, how sure
        the discriminator is of each (0.5 means it can no longer tell them apart), modes covered and
        the generator's gradient norm."""
        if len(x) == 0:
            return math.nan, {}
        fake = self.generate(len(x))
        d_fake = self._logit(fake)
        loss = float(self._g_loss.compute(d_fake, torch.ones_like(d_fake), **self._loss_params))
        metrics = {
            "swd": sliced_wasserstein(x, fake),
            "d_real": float(torch.sigmoid(self._logit(x)).mean()),
            "d_fake": float(torch.sigmoid(d_fake).mean()),
            **self._epoch_measures(),
        }
        return loss, metrics

    def snapshot(self, n: int = SNAPSHOT_POINTS) -> GanSnapshot:
        """Real and generated points, the discriminator's decision surface and the mode counts now."""
        ds = self.dataset
        real = ds.x_to_display(ds.x_train[:n])
        fake = self.sample(n)
        d = ds.n_features
        lo, hi = _padded_range(real)
        axes: tuple[np.ndarray, ...] = ()
        surface = None
        if d == 1:
            xs = np.linspace(lo[0], hi[0], 4 * SURFACE_GRID)
            axes, surface = (xs,), self.predict(xs[:, None])
        elif d == 2:
            xs = np.linspace(lo[0], hi[0], SURFACE_GRID)
            ys = np.linspace(lo[1], hi[1], SURFACE_GRID)
            gx, gy = np.meshgrid(xs, ys)  # rows follow ys
            axes = (xs, ys)
            surface = self.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(len(ys), len(xs))
        counts = self.mode_counts(fake)
        return GanSnapshot(
            self.epoch,
            real,
            fake,
            axes,
            surface,
            self.centres,
            counts,
            self.radius,
            modes_covered(counts, len(fake)) if counts is not None else None,
            image_size(ds.spec_id, d),
        )


def _padded_range(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = 0.25 * np.maximum(hi - lo, 1e-3)
    return lo - pad, hi + pad


class GanProbe(Probe):
    """Sends a GanSnapshot at epoch ends, at most every ``interval`` seconds (drawing sets the pace)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self._last = -math.inf

    def on_epoch(self, trainer: Trainer) -> object | None:
        if not isinstance(trainer, GanTrainer):
            return None
        now = time.perf_counter()
        if now - self._last < self.interval:
            return None
        self._last = now
        return trainer.snapshot()
