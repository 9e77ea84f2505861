"""The baseline: a plain, idiomatic hand-written torch training loop.

It trains what LossLab trains (same layers plus output Linear, same initialisation seed, same
fused Adam, the same batches from the same seeded permutation generator) and reads the loss once
per step with ``loss.item()``, as LossLab does, but has none of LossLab's bookkeeping: no events,
no controls, no per-epoch evaluation. ``same_weights`` checks that it really trains the same thing
(to float rounding: torch's fused mean reduction rounds differently from LossLab's per-sample
losses then ``.mean()`` when the batch size is not a power of two).
Only what the standard workloads use is supported (linear/relu/tanh layers, two losses, Adam).
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class PlainLoop:
    def __init__(self, experiment: Any, dataset: Any) -> None:
        training = experiment.training
        torch.manual_seed(training["seed"])
        layers: list[nn.Module] = []
        width = dataset.n_features
        for layer in experiment.model["layers"]:
            if layer["type"] == "linear":
                layers.append(nn.Linear(width, layer["units"]))
                width = layer["units"]
            else:
                layers.append(ACTIVATIONS[layer["type"]]())
        loss_id = experiment.loss["id"]
        if loss_id == "bce_logits":
            self.loss_fn = lambda out, y: F.binary_cross_entropy_with_logits(out.squeeze(-1), y)
            layers.append(nn.Linear(width, 1))
        elif loss_id == "cross_entropy":
            self.loss_fn = F.cross_entropy
            layers.append(nn.Linear(width, dataset.n_classes))
        else:
            raise ValueError(f"the plain loop has no {loss_id} loss")
        self.model = nn.Sequential(*layers)
        opt = experiment.optimizer
        if opt["id"] != "adam":
            raise ValueError(f"the plain loop has no {opt['id']} optimizer")
        p = opt["params"]
        self.optimizer = torch.optim.Adam(
            self.model.parameters(),
            lr=opt["lr"],
            betas=(p["beta1"], p["beta2"]),
            eps=p["eps"],
            weight_decay=p["weight_decay"],
            fused=True,
        )
        self.x = torch.as_tensor(dataset.x_train)
        self.y = torch.as_tensor(dataset.y_train)
        self.generator = torch.Generator().manual_seed(training["seed"])
        n, bs = len(self.x), training["batch_size"]
        self.batch_size = n if bs == 0 or bs >= n else bs
        self.step = 0
        self.last_loss = float("nan")

    def run(self, epochs: int) -> float:
        """Train ``epochs`` epochs; returns the wall-clock seconds they took."""
        model, optimizer, loss_fn = self.model, self.optimizer, self.loss_fn
        x, y, bs = self.x, self.y, self.batch_size
        n = len(x)
        model.train()
        started = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n, generator=self.generator) if bs < n else None
            for start in range(0, n, bs):
                if perm is None:
                    xb, yb = x, y
                else:
                    idx = perm[start : start + bs]
                    xb, yb = x[idx], y[idx]
                loss = loss_fn(model(xb), yb)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                self.last_loss = loss.item()
                self.step += 1
        return time.perf_counter() - started


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    """True when two models hold the same parameters (in registration order), to float rounding."""
    pa, pb = list(a.parameters()), list(b.parameters())
    return len(pa) == len(pb) and all(
        x.shape == y.shape and torch.allclose(x, y, rtol=1e-3, atol=1e-4) for x, y in zip(pa, pb, strict=True)
    )
