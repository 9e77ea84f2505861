"""THE layer registry: every layer type a user can put in the hidden part of a network.

Metadata only at import time (no torch), so the window can list layers before torch loads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from losslab.core.errors import LossLabError
from losslab.core.params import Param, validate_params
from losslab.core.tasks import GAN, MULTICLASS

ACTIVATIONS: dict[str, str] = {
    "relu": "ReLU",
    "leaky_relu": "Leaky ReLU",
    "gelu": "GELU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "softplus": "Softplus",
    "identity": "Identity",
}

INITS: dict[str, str] = {
    "default": "PyTorch default (Kaiming-uniform)",
    "xavier": "Xavier/Glorot uniform",
    "kaiming": "Kaiming/He normal",
    "zeros": "All zeros (to see why symmetry must be broken)",
}


@dataclass(frozen=True)
class LayerSpec:
    id: str
    name: str
    params: tuple[Param, ...]
    description: str
    build: Callable[[int, dict[str, Any]], tuple[Any, int]]  # (in_features, params) -> (module, out_features)
    is_activation: bool = False
    # Normalizes over the batch (BatchNorm): it needs a feature, and training needs batches of 2+ samples.
    batch_statistics: bool = False
    # (in_features, params) -> (out_features, trainable parameters), without building anything in torch,
    # so the layer table can show shapes before torch has loaded. tests/core/test_model.py checks it.
    shape: Callable[[int, dict[str, Any]], tuple[int, int]] = lambda n_in, p: (n_in, 0)


@dataclass(frozen=True)
class LayerInfo:
    index: int  # -1 for the output layer that LossLab adds
    type: str
    label: str
    out_features: int
    n_params: int


# The build functions import torch where they run (blocks.py, torch.nn): listing layers must not load it.


def _linear(n_in: int, p: dict[str, Any]) -> tuple[Any, int]:
    import torch.nn as nn

    return nn.Linear(n_in, p["units"], bias=p["bias"]), p["units"]


def _dropout(n_in: int, p: dict[str, Any]) -> tuple[Any, int]:
    import torch.nn as nn

    return nn.Dropout(p["p"]), n_in


def _batchnorm(n_in: int, p: dict[str, Any]) -> tuple[Any, int]:
    import torch.nn as nn

    return nn.BatchNorm1d(n_in), n_in


def _layernorm(n_in: int, p: dict[str, Any]) -> tuple[Any, int]:
    import torch.nn as nn

    return nn.LayerNorm(n_in), n_in


def _activation(kind: str, n_in: int, p: dict[str, Any]) -> tuple[Any, int]:
    from losslab.core.blocks import activation_module

    return activation_module(kind, p), n_in


def _residual(n_in: int, p: dict[str, Any]) -> tuple[Any, int]:
    from losslab.core.blocks import ResidualBlock

    return ResidualBlock(n_in, p["depth"], p["activation"]), n_in


LAYERS: dict[str, LayerSpec] = {}


def _register(spec: LayerSpec) -> None:
    LAYERS[spec.id] = spec


_register(
    LayerSpec(
        "linear",
        "Linear",
        (
            Param("units", "Units", "int", 16, 1, 4096, help="Number of neurons in this layer"),
            Param("bias", "Bias", "bool", True, help="Add a learnable offset to each unit"),
        ),
        "A fully connected layer: every unit is a weighted sum of all inputs plus a bias.",
        _linear,
        shape=lambda n_in, p: (p["units"], n_in * p["units"] + (p["units"] if p["bias"] else 0)),
    )
)
for _kind, _name in ACTIVATIONS.items():
    _params = (
        (Param("negative_slope", "Negative slope", "float", 0.01, 0.0, 1.0),) if _kind == "leaky_relu" else ()
    )
    _register(
        LayerSpec(
            _kind,
            _name,
            _params,
            f"{_name} activation: a fixed nonlinearity applied to each value.",
            functools.partial(_activation, _kind),
            is_activation=True,
        )
    )
_register(
    LayerSpec(
        "dropout",
        "Dropout",
        (Param("p", "Drop probability", "float", 0.2, 0.0, 0.95),),
        "Randomly zeroes values during training; a regularizer against overfitting.",
        _dropout,
    )
)
_register(
    LayerSpec(
        "batchnorm",
        "BatchNorm",
        (),
        "Normalizes each feature over the batch.",
        _batchnorm,
        shape=lambda n_in, p: (n_in, 2 * n_in),
        batch_statistics=True,
    )
)
_register(
    LayerSpec(
        "layernorm",
        "LayerNorm",
        (),
        "Normalizes each sample over its features.",
        _layernorm,
        shape=lambda n_in, p: (n_in, 2 * n_in),
    )
)
_register(
    LayerSpec(
        "residual",
        "Residual block",
        (
            Param("depth", "Linear layers", "int", 2, 1, 8),
            Param("activation", "Activation", "choice", "relu", choices=tuple(ACTIVATIONS)),
        ),
        "Linear layers of the same width whose output is added to their input: gradients get a shortcut.",
        _residual,
        shape=lambda n_in, p: (n_in, p["depth"] * (n_in * n_in + n_in)),
    )
)


def uses_batch_statistics(layers: list[dict[str, Any]]) -> bool:
    """Whether any of these (validated) layers normalizes over the batch."""
    return any(LAYERS[layer["type"]].batch_statistics for layer in layers)


def network_io(
    task: str, n_features: int, n_classes: int, output_activation: str | None
) -> tuple[int, int, str | None]:
    """(inputs, outputs, output activation) of the network LossLab builds around the hidden layers.

    A classifier or regressor maps features to one output (k for k classes); a GAN's generator
    maps latent noise (at least 2-D) to data points, with no output activation.
    """
    if task == GAN:
        return max(2, n_features), n_features, None
    return n_features, (n_classes if task == MULTICLASS else 1), output_activation


def describe_model(
    layers: list[dict[str, Any]], in_features: int, out_features: int, output_activation: str | None = None
) -> list[LayerInfo]:
    """Output width and parameter count per layer, plus a final entry for the output layer LossLab adds."""
    infos = []
    width = in_features
    for i, layer in enumerate(layers):
        spec = get_layer_spec(layer["type"], f"model.layers[{i}].type")
        width, n_params = spec.shape(width, {k: v for k, v in layer.items() if k != "type"})
        infos.append(LayerInfo(i, spec.id, spec.name, width, n_params))
    head_label = "Output: Linear" + (f" + {output_activation}" if output_activation else "")
    infos.append(LayerInfo(-1, "output", head_label, out_features, width * out_features + out_features))
    return infos


MAX_PARAMETERS = 20_000_000  # 80 MB of float32 weights, ~4x that to train with Adam: far past a lab's needs
MAX_ACTIVATION_BYTES = 2 * 1024**3  # one batch's activations and their gradients


def check_network_size(
    layers: list[dict[str, Any]], in_features: int, out_features: int, batch_size: int, copies: int = 1
) -> None:
    """Refuse, before anything is allocated, a network whose weights or one batch's activations would not
    fit a laptop: the sizes are known from the layer specs alone. ``copies``: networks trained at once."""
    infos = describe_model(layers, in_features, out_features)
    params = copies * sum(info.n_params for info in infos)
    if params > MAX_PARAMETERS:
        raise LossLabError(
            f"the network would have {params:,} parameters ({params * 4 / 1024**2:,.0f} MB of weights, about "
            f"4x that to train); LossLab trains up to {MAX_PARAMETERS:,}: use fewer or narrower layers",
            "model.layers",
        )
    activations = 2 * 4 * copies * batch_size * (in_features + sum(info.out_features for info in infos))
    if activations > MAX_ACTIVATION_BYTES:
        raise LossLabError(
            f"one batch of {batch_size:,} samples through this network needs about "
            f"{activations / 1024**3:,.1f} GB for its activations and their gradients (at most "
            f"{MAX_ACTIVATION_BYTES // 1024**3} GB): use a smaller batch size or narrower layers",
            "training.batch_size",
        )


def get_layer_spec(kind: Any, field: str) -> LayerSpec:
    if kind not in LAYERS:
        raise LossLabError(f"unknown layer type {kind!r}; known: {', '.join(LAYERS)}", field)
    return LAYERS[kind]


def validate_layer(layer: Any, field: str) -> dict[str, Any]:
    """A layer dict {"type": ..., <params>} with defaults filled in."""
    if not isinstance(layer, dict):
        raise LossLabError(
            f"each layer must be an object like {{'type': 'linear', 'units': 16}}, got {layer!r}", field
        )
    spec = get_layer_spec(layer.get("type"), f"{field}.type")
    params = {k: v for k, v in layer.items() if k != "type"}
    return {"type": spec.id, **validate_params(spec.params, params, field)}
