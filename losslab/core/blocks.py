"""The torch modules the layer registry builds: activations by name and the residual block.

Importing it loads torch, so layers.py (metadata only at import time) imports it inside its build
functions; model.py assembles the network from what those return.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def activation_module(kind: str, params: dict[str, Any]) -> nn.Module:
    """The activation layer ``kind`` (an id of layers.ACTIVATIONS) with its parameters."""
    if kind == "leaky_relu":
        return nn.LeakyReLU(params.get("negative_slope", 0.01))
    modules: dict[str, type[nn.Module]] = {
        "relu": nn.ReLU,
        "gelu": nn.GELU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "softplus": nn.Softplus,
        "identity": nn.Identity,
    }
    return modules[kind]()


class ResidualBlock(nn.Module):
    """x + f(x), f a stack of same-width Linear layers with activations in between."""

    def __init__(self, width: int, depth: int, activation: str) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers.append(nn.Linear(width, width))
            if i < depth - 1:
                layers.append(activation_module(activation, {}))
        self.body = nn.Sequential(*layers)
        self.act = activation_module(activation, {})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.act(x + self.body(x))
        return out
