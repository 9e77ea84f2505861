"""Layer specs -> torch.nn.Module, with shape inference and parameter counts.

The user edits the hidden layers; the input size comes from the dataset and the output layer
(a Linear plus the activation the loss needs) from the task and loss.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from losslab.core.errors import LossLabError
from losslab.core.layers import INITS, Shape, describe_model, get_layer_spec


def _output_activation(kind: str | None) -> nn.Module | None:
    if kind == "sigmoid":
        return nn.Sigmoid()
    if kind == "softmax":
        return nn.Softmax(dim=-1)
    return None


class Network(nn.Module):
    """The hidden stack, the output layer, and the output activation a loss may need.

    ``forward`` returns what the loss consumes, squeezed to (N,) for single-output tasks. Images
    arrive flattened (N, C·H·W) and are viewed as (N, C, H, W) first (``image_shape``); the output
    layer is a Linear (flattening an image first) or, for per-pixel outputs, a 1×1 Conv2d giving
    (N, K, H, W).
    """

    def __init__(
        self,
        hidden: nn.Sequential,
        head: nn.Module,
        out_act: nn.Module | None,
        image_shape: Shape | None = None,
    ) -> None:
        super().__init__()
        self.hidden = hidden
        self.head = head
        self.out_act = out_act
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.per_pixel = isinstance(head, nn.Conv2d)
        self.squeeze = not self.per_pixel and head.out_features == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.image_shape is not None:
            x = x.view(x.shape[0], *self.image_shape)
        h: torch.Tensor = self.hidden(x)
        if h.ndim > 2 and not self.per_pixel:
            h = h.flatten(1)
        y: torch.Tensor = self.head(h)
        if self.out_act is not None:
            y = self.out_act(y)
        return y.squeeze(-1) if self.squeeze else y


def _init_weights(model: nn.Module, scheme: str) -> None:
    if scheme == "default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
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
    in_features: int | Shape,
    out_features: int,
    output_activation: str | None = None,
    init: str = "default",
    per_pixel: bool = False,
) -> Network:
    """Build the network; ``layers`` are validated layer dicts (see layers.validate_layer).

    ``in_features``: a width, or a sample's (channels, height, width); ``per_pixel``: segmentation,
    ``out_features`` values per pixel. Shapes are checked first (layers.describe_model), so a layer
    that cannot take its input is refused with both shapes before torch builds anything.
    """
    shape: Shape = (in_features,) if isinstance(in_features, int) else tuple(in_features)
    infos = describe_model(layers, shape, out_features, output_activation, per_pixel)
    modules: list[nn.Module] = []
    for i, layer in enumerate(layers):
        spec = get_layer_spec(layer["type"], f"model.layers[{i}].type")
        params = {k: v for k, v in layer.items() if k != "type"}
        if spec.batch_statistics and shape[0] < 1:
            raise LossLabError(f"{spec.name} needs at least one feature", f"model.layers[{i}]")
        modules.append(spec.build(shape, params))
        shape = infos[i].out_shape
    if init not in INITS:
        raise LossLabError(f"unknown initialisation {init!r}; known: {', '.join(INITS)}", "model.init")
    head: nn.Module
    if per_pixel:
        head = nn.Conv2d(shape[0], out_features, 1)
    else:
        head = nn.Linear(math.prod(shape), out_features)
    image = tuple(in_features) if not isinstance(in_features, int) and len(tuple(in_features)) > 1 else None
    net = Network(nn.Sequential(*modules), head, _output_activation(output_activation), image)
    _init_weights(net, init)
    return net


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
