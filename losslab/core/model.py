"""Layer specs -> torch.nn.Module, with shape inference and parameter counts.

The user edits the hidden layers; the input size comes from the dataset and the output layer
(a Linear plus the activation the loss needs) from the task and loss.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from losslab.core.errors import LossLabError
from losslab.core.layers import INITS, get_layer_spec


def _output_activation(kind: str | None) -> nn.Module | None:
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "softmax":
        return nn.Softmax(dim=-1)
    return None


class Network(nn.Module):
    """The hidden stack, the output Linear, and the output activation a loss may need.

    ``forward`` returns what the loss consumes, squeezed to (N,) for single-output tasks.
    """

    def __init__(self, hidden: nn.Sequential, head: nn.Linear, out_act: nn.Module | None) -> None:
        super().__init__()
        self.hidden = hidden
        self.head = head
        self.out_act = out_act
        self.squeeze = head.out_features == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.head(self.hidden(x))
        if self.out_act is not None:
            y = self.out_act(y)
        return y.squeeze(-1) if self.squeeze else y


def _init_weights(model: nn.Module, scheme: str) -> None:
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, nn.Linear):
            if scheme == "xavier":
                nn.init.xavier_uniform_(module.weight)
            elif scheme == "kaiming":
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            else:
                nn.init.zeros_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def build_model(
    layers: list[dict[str, Any]],
    in_features: int,
    out_features: int,
    output_activation: str | None = None,
    init: str = "default",
) -> Network:
    """Build the network; ``layers`` are validated layer dicts (see layers.validate_layer)."""
    modules: list[nn.Module] = []
    width = in_features
    for i, layer in enumerate(layers):
        spec = get_layer_spec(layer["type"], f"model.layers[{i}].type")
        params = {k: v for k, v in layer.items() if k != "type"}
        if spec.batch_statistics and width < 1:
            raise LossLabError(f"{spec.name} needs at least one feature", f"model.layers[{i}]")
        module, width = spec.build(width, params)
        modules.append(module)
    if init not in INITS:
        raise LossLabError(f"unknown initialisation {init!r}; known: {', '.join(INITS)}", "model.init")
    net = Network(
        nn.Sequential(*modules), nn.Linear(width, out_features), _output_activation(output_activation)
    )
    _init_weights(net, init)
    return net


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
