"""THE layer registry: every layer type a user can put in the hidden part of a network.

Metadata only at import time (no torch), so the window can list layers before torch loads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from losslab.core.errors import LossLabError
from losslab.core.params import Param, shown, validate_params
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


Shape = tuple[int, ...]  # what one sample is between layers: (features,) or (channels, height, width)


class ShapeRefused(Exception):
    """Raised by a layer's ``shape`` function when it cannot take its input; describe_model turns it into
    a LossLabError naming the layer (a plain exception, so a shape function needs no layer index)."""


def format_shape(shape: Shape) -> str:
    """(16,) -> "16"; (8, 14, 14) -> "8×14×14" (channels × height × width)."""
    return "×".join(str(d) for d in shape)


def _size(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _same(shape: Shape, p: dict[str, Any]) -> tuple[Shape, int]:
    return shape, 0


@dataclass(frozen=True)
class LayerSpec:
    id: str
    name: str
    params: tuple[Param, ...]
    description: str
    build: Callable[[Shape, dict[str, Any]], Any]  # (input shape, params) -> torch module
    is_activation: bool = False
    # Normalizes over the batch (BatchNorm): it needs a feature, and training needs batches of 2+ samples.
    batch_statistics: bool = False
    # (input shape, params) -> (output shape, trainable parameters), without building anything in torch,
    # so the layer table can show shapes before torch has loaded; raises ShapeRefused for an input it
    # cannot take. tests/core/test_model.py checks it against the built modules.
    shape: Callable[[Shape, dict[str, Any]], tuple[Shape, int]] = _same
    needs_image: bool = False  # takes (channels, height, width) only: convolutions and pooling


@dataclass(frozen=True)
class LayerInfo:
    index: int  # -1 for the output layer that LossLab adds
    type: str
    label: str
    out_features: int  # values per sample after the layer (the product of out_shape)
    n_params: int
    out_shape: Shape = ()


# The build functions import torch where they run (blocks.py, torch.nn): listing layers must not load it.
# Layers on features (Linear, the residual block) flatten an image input first: an MLP on pixels.


def _flat_first(shape: Shape, module: Any) -> Any:
    import torch.nn as nn

    return nn.Sequential(nn.Flatten(), module) if len(shape) > 1 else module


def _linear(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return _flat_first(shape, nn.Linear(_size(shape), p["units"], bias=p["bias"]))


def _dropout(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.Dropout(p["p"])


def _batchnorm(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0])


def _layernorm(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.LayerNorm(list(shape))


def _activation(kind: str, shape: Shape, p: dict[str, Any]) -> Any:
    from losslab.core.blocks import activation_module

    return activation_module(kind, p)


def _residual(shape: Shape, p: dict[str, Any]) -> Any:
    from losslab.core.blocks import ResidualBlock

    return _flat_first(shape, ResidualBlock(_size(shape), p["depth"], p["activation"]))


def _image(shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ShapeRefused(
            f"needs an image (channels×height×width) but gets {format_shape(shape)} features: put it "
            "before any Flatten, Global average pool or Linear layer, on an image dataset"
        )
    return shape[0], shape[1], shape[2]


def _conv_out(shape: Shape, p: dict[str, Any]) -> Shape:
    _, h, w = _image(shape)
    k, s = p["kernel"], p["stride"]
    pad = k // 2 if p["padding"] == "same" else 0
    if min(h, w) + 2 * pad < k:
        raise ShapeRefused(
            f"has a {k}×{k} kernel, larger than its {format_shape(shape)} input (with padding "
            f"{pad}): use a smaller kernel, 'same' padding, or less pooling before it"
        )
    return p["channels"], (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1


def _conv2d_shape(shape: Shape, p: dict[str, Any]) -> tuple[Shape, int]:
    out = _conv_out(shape, p)
    return out, shape[0] * p["channels"] * p["kernel"] ** 2 + p["channels"]


def _conv2d(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    k = p["kernel"]
    pad = k // 2 if p["padding"] == "same" else 0
    return nn.Conv2d(shape[0], p["channels"], k, stride=p["stride"], padding=pad)


def _pool_shape(shape: Shape, p: dict[str, Any]) -> tuple[Shape, int]:
    c, h, w = _image(shape)
    k = p["kernel"]
    if k > min(h, w):
        raise ShapeRefused(
            f"has a {k}×{k} window, larger than its {format_shape(shape)} input: use a smaller window "
            "or fewer pooling layers"
        )
    return (c, h // k, w // k), 0


def _maxpool(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.MaxPool2d(p["kernel"])


def _avgpool(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.AvgPool2d(p["kernel"])


def _flatten(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.Flatten()


def _global_avg_pool_shape(shape: Shape, p: dict[str, Any]) -> tuple[Shape, int]:
    return (_image(shape)[0],), 0


def _global_avg_pool(shape: Shape, p: dict[str, Any]) -> Any:
    import torch.nn as nn

    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


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
        shape=lambda n_in, p: ((p["units"],), _size(n_in) * p["units"] + (p["units"] if p["bias"] else 0)),
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
        "Normalizes each feature (each channel of an image) over the batch.",
        _batchnorm,
        shape=lambda n_in, p: (n_in, 2 * n_in[0]),
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
        shape=lambda n_in, p: (n_in, 2 * _size(n_in)),
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
        shape=lambda n_in, p: ((_size(n_in),), p["depth"] * (_size(n_in) ** 2 + _size(n_in))),
    )
)
_KERNEL = Param("kernel", "Kernel size", "int", 3, 1, 9, help="Width and height of the filters, in pixels.")
_register(
    LayerSpec(
        "conv2d",
        "Conv2d",
        (
            Param("channels", "Channels", "int", 8, 1, 256, help="Number of filters (output channels)."),
            _KERNEL,
            Param("stride", "Stride", "int", 1, 1, 4, help="Step between filter positions."),
            Param(
                "padding",
                "Padding",
                "choice",
                "same",
                choices=("same", "valid"),
                help="'same' pads the border so an odd kernel keeps the image size; 'valid' does not pad.",
            ),
        ),
        "A 2-D convolution: small filters slid over the image, the same weights at every position.",
        _conv2d,
        shape=_conv2d_shape,
        needs_image=True,
    )
)
_WINDOW = Param("kernel", "Window", "int", 2, 2, 8, help="Pool over windows of this many pixels a side.")
_register(
    LayerSpec(
        "maxpool",
        "Max pool",
        (_WINDOW,),
        "Keeps the largest value of each window: halves the image (window 2) and tolerates small shifts.",
        _maxpool,
        shape=_pool_shape,
        needs_image=True,
    )
)
_register(
    LayerSpec(
        "avgpool",
        "Average pool",
        (_WINDOW,),
        "Averages each window: a smoother way to shrink the image than max pooling.",
        _avgpool,
        shape=_pool_shape,
        needs_image=True,
    )
)
_register(
    LayerSpec(
        "flatten",
        "Flatten",
        (),
        "Lays an image's channels×height×width values out as one feature vector, for Linear layers.",
        _flatten,
        shape=lambda n_in, p: ((_size(n_in),), 0),
    )
)
_register(
    LayerSpec(
        "global_avg_pool",
        "Global average pool",
        (),
        "Averages each channel over the whole image: one feature per channel, wherever the shape is.",
        _global_avg_pool,
        shape=_global_avg_pool_shape,
        needs_image=True,
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
    layers: list[dict[str, Any]],
    in_features: int | Shape,
    out_features: int,
    output_activation: str | None = None,
    per_pixel: bool = False,
) -> list[LayerInfo]:
    """Output shape and parameter count per layer, plus a final entry for the output layer LossLab adds.

    ``in_features``: a width, or a sample's shape ((channels, height, width) for images). With
    ``per_pixel`` (segmentation) the output layer is a 1×1 convolution giving ``out_features`` values
    per pixel, so the hidden layers must end on an image as large as the input. A layer that cannot
    take its input raises a LossLabError naming the layer and both shapes.
    """
    infos = []
    shape: Shape = (in_features,) if isinstance(in_features, int) else tuple(in_features)
    first = shape
    for i, layer in enumerate(layers):
        spec = get_layer_spec(layer["type"], f"model.layers[{i}].type")
        try:
            out, n_params = spec.shape(shape, {k: v for k, v in layer.items() if k != "type"})
        except ShapeRefused as refused:
            raise LossLabError(f"layer {i + 1} ({spec.name}) {refused}", f"model.layers[{i}]") from None
        infos.append(LayerInfo(i, spec.id, spec.name, _size(out), n_params, out))
        shape = out
    act = f" + {output_activation}" if output_activation else ""
    if per_pixel:
        if len(shape) != 3 or shape[1:] != first[1:]:
            raise LossLabError(
                f"a segmentation network predicts every pixel, so its hidden layers must end on an image "
                f"of the input's size ({format_shape(first[1:])} pixels), but they end on "
                f"{format_shape(shape)}: use 'same' padding, stride 1 and no pooling or Flatten",
                "model.layers",
            )
        head = (out_features, *shape[1:])
        infos.append(
            LayerInfo(
                -1,
                "output",
                f"Output: 1×1 Conv2d{act}",
                _size(head),
                shape[0] * out_features + out_features,
                head,
            )
        )
        return infos
    n = _size(shape)
    infos.append(
        LayerInfo(
            -1,
            "output",
            f"Output: Linear{act}",
            out_features,
            n * out_features + out_features,
            (out_features,),
        )
    )
    return infos


MAX_PARAMETERS = 20_000_000  # 80 MB of float32 weights, ~4x that to train with Adam: far past a lab's needs
MAX_ACTIVATION_BYTES = 2 * 1024**3  # one batch's activations and their gradients


def check_network_size(
    layers: list[dict[str, Any]],
    in_features: int | Shape,
    out_features: int,
    batch_size: int,
    copies: int = 1,
    per_pixel: bool = False,
) -> None:
    """Refuse, before anything is allocated, a network whose weights or one batch's activations would not
    fit a laptop: the sizes are known from the layer specs alone. ``copies``: networks trained at once."""
    infos = describe_model(layers, in_features, out_features, per_pixel=per_pixel)
    params = copies * sum(info.n_params for info in infos)
    if params > MAX_PARAMETERS:
        raise LossLabError(
            f"the network would have {params:,} parameters ({params * 4 / 1024**2:,.0f} MB of weights, about "
            f"4x that to train); LossLab trains up to {MAX_PARAMETERS:,}: use fewer or narrower layers",
            "model.layers",
        )
    n_in = in_features if isinstance(in_features, int) else _size(tuple(in_features))
    activations = 2 * 4 * copies * batch_size * (n_in + sum(info.out_features for info in infos))
    if activations > MAX_ACTIVATION_BYTES:
        raise LossLabError(
            f"one batch of {batch_size:,} samples through this network needs about "
            f"{activations / 1024**3:,.1f} GB for its activations and their gradients (at most "
            f"{MAX_ACTIVATION_BYTES // 1024**3} GB): use a smaller batch size or narrower layers",
            "training.batch_size",
        )


def get_layer_spec(kind: Any, field: str) -> LayerSpec:
    if not isinstance(kind, str) or kind not in LAYERS:  # a list or dict read from a file is no name
        raise LossLabError(f"unknown layer type {shown(kind)}; known: {', '.join(LAYERS)}", field)
    return LAYERS[kind]


def validate_layer(layer: Any, field: str) -> dict[str, Any]:
    """A layer dict {"type": ..., <params>} with defaults filled in."""
    if not isinstance(layer, dict):
        raise LossLabError(
            f"each layer must be an object like {{'type': 'linear', 'units': 16}}, got {shown(layer)}", field
        )
    spec = get_layer_spec(layer.get("type"), f"{field}.type")
    params = {k: v for k, v in layer.items() if k != "type"}
    return {"type": spec.id, **validate_params(spec.params, params, field)}
