"""GAN training: the user's network is the generator; a fixed small discriminator judges it.

The discriminator always minimises ``gan_d`` (binary cross-entropy: real -> 1, fake -> 0). The
experiment's loss picks what the generator minimises: ``gan_g_minimax`` (the original zero-sum
game, which saturates when the discriminator wins), ``gan_g_nonsat`` (the usual fix), or ``gan_d``
itself, which means the same zero-sum game written as "maximise the discriminator's loss".
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from losslab.core.base_trainer import Trainer
from losslab.core.losses import get_loss
from losslab.core.optim import get_optimizer_spec

DISCRIMINATOR_LOSS = "gan_d"  # what the discriminator always minimises


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
        d = self.dataset.n_features
        self.discriminator = nn.Sequential(
            nn.Linear(d, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1)
        ).to(self.device)
        opt = self.experiment.optimizer
        self.d_optimizer = get_optimizer_spec(opt["id"]).build(
            self.discriminator.parameters(), opt["lr"], opt["params"], self.device
        )
        self._d_loss = get_loss(DISCRIMINATOR_LOSS)
        # The spec says what the generator minimises when it is not the chosen loss itself (gan_d's
        # "zero-sum" reading: maximise the discriminator's loss on fakes, i.e. gan_g_minimax).
        self._g_loss = get_loss(self.loss_spec.gan_generator or self.loss_spec.id)
        gen = torch.Generator().manual_seed(self.experiment.training["seed"] + 1)
        self._fixed_noise = torch.randn(max(len(self.x_train), 256), self.latent_dim, generator=gen).to(
            self.device
        )
        self._ones = torch.ones(len(self.x_train), device=self.device)
        self._zeros = torch.zeros(len(self.x_train), device=self.device)

    def _d_step_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        n = len(real)
        d_out = self.discriminator(torch.cat([real, fake]))[:, 0]
        target = torch.cat([self._ones[:n], self._zeros[: len(fake)]])
        return self._d_loss.compute(d_out, target)

    def _train_step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, float, dict[str, float] | None]:
        n = len(xb)
        fake = self.model(torch.randn(n, self.latent_dim, device=self.device)).reshape(n, -1)
        d_loss = self._d_step_loss(xb, fake.detach())
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimizer.step()

        g_loss = self._g_loss.compute(self.discriminator(fake)[:, 0], self._ones[:n], **self._loss_params)
        self._descend(g_loss)
        value = g_loss.item()
        return value, value, {"discriminator": d_loss.item()}

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
        return torch.sigmoid(self.discriminator(x)[:, 0]).cpu().numpy()

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, dict[str, float]]:
        """Generator loss on fixed noise, the distance between real and generated points, and
        how sure the discriminator is of each (0.5 means it can no longer tell them apart)."""
        if len(x) == 0:
            return math.nan, {}
        fake = self.generate(len(x))
        d_fake = self.discriminator(fake)[:, 0]
        loss = float(self._g_loss.compute(d_fake, torch.ones_like(d_fake), **self._loss_params))
        metrics = {
            "swd": sliced_wasserstein(x, fake),
            "d_real": float(torch.sigmoid(self.discriminator(x)[:, 0]).mean()),
            "d_fake": float(torch.sigmoid(d_fake).mean()),
        }
        return loss, metrics
