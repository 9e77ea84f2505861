"""Layer specs -> torch modules: shapes, output layer, parameter counts, initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from losslab.core.blocks import ResidualBlock
from losslab.core.errors import LossLabError
from losslab.core.layers import ACTIVATIONS, INITS, LAYERS, describe_model, network_io, validate_layer
from losslab.core.model import Network, build_model, count_parameters
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION


def layers(*specs):
    return [validate_layer(s, f"model.layers[{i}]") for i, s in enumerate(specs)]


def one_of_each():
    """Every registered layer type on features once, in an order where each makes sense (the image
    layers are checked on images in tests/core/test_image_layers.py)."""
    stack = [{"type": "linear", "units": 12}]
    for kind, spec in LAYERS.items():
        if kind != "linear" and not spec.needs_image:
            stack.append({"type": kind})
    return layers(*stack)


@pytest.mark.parametrize("kind", [k for k, spec in LAYERS.items() if not spec.needs_image])
def test_each_layer_type_builds_with_the_right_width(kind):
    spec = layers({"type": "linear", "units": 6}, {"type": kind})
    net = build_model(spec, in_features=3, out_features=1)
    net.eval()  # batchnorm/dropout in inference mode
    x = torch.randn(5, 3)
    hidden = net.hidden(x)
    width = spec[1]["units"] if kind == "linear" else 6
    assert hidden.shape == (5, width)
    assert net(x).shape == (5,)


def test_layer_types_cover_the_registry():
    assert set(ACTIVATIONS) <= set(LAYERS)
    assert {"linear", "dropout", "batchnorm", "layernorm", "residual"} <= set(LAYERS)


@pytest.mark.parametrize(("depth", "activation"), [(1, "relu"), (2, "tanh"), (3, "gelu")])
def test_residual_block(depth, activation):
    net = build_model(
        layers(
            {"type": "linear", "units": 5}, {"type": "residual", "depth": depth, "activation": activation}
        ),
        2,
        1,
    )
    block = net.hidden[1]
    assert isinstance(block, ResidualBlock)
    linears = [m for m in block.body if isinstance(m, nn.Linear)]
    assert len(linears) == depth and all(m.in_features == m.out_features == 5 for m in linears)
    x = torch.randn(4, 5)
    # x + f(x), then the activation: with f's last layer zeroed, the block is act(x).
    with torch.no_grad():
        linears[-1].weight.zero_()
        linears[-1].bias.zero_()
    expected = {"relu": torch.relu, "tanh": torch.tanh, "gelu": nn.functional.gelu}[activation](x)
    assert torch.allclose(block(x), expected, atol=1e-6)


def test_residual_block_gradients_take_the_shortcut():
    block = ResidualBlock(4, 2, "identity")
    with torch.no_grad():
        for p in block.parameters():
            p.zero_()
    x = torch.randn(3, 4, requires_grad=True)
    block(x).sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))  # even with f = 0 the gradient flows through


def test_no_hidden_layers_is_a_linear_model():
    net = build_model([], in_features=2, out_features=1)
    assert len(net.hidden) == 0 and net.head.in_features == 2
    assert count_parameters(net) == 3


@pytest.mark.parametrize(
    ("out_features", "activation", "shape"),
    [(1, None, (7,)), (1, "sigmoid", (7,)), (4, None, (7, 4)), (4, "softmax", (7, 4))],
)
def test_output_layer(out_features, activation, shape):
    net = build_model(layers({"type": "linear", "units": 8}, {"type": "relu"}), 2, out_features, activation)
    y = net(torch.randn(7, 2))
    assert y.shape == shape
    if activation == "sigmoid":
        assert torch.all((y > 0) & (y < 1))
    if activation == "softmax":
        assert torch.allclose(y.sum(dim=1), torch.ones(7))


def test_network_io_per_task():
    assert network_io(REGRESSION, 1, 1, None) == (1, 1, None)
    assert network_io(BINARY, 2, 1, "sigmoid") == (2, 1, "sigmoid")
    assert network_io(MULTICLASS, 2, 5, None) == (2, 5, None)
    assert network_io(GAN, 1, 1, "sigmoid") == (2, 1, None)  # a generator: noise in, data points out


def test_describe_model_counts_match_the_real_module():
    spec = one_of_each()
    for out_features, activation in ((1, None), (3, "softmax")):
        infos = describe_model(spec, 2, out_features, activation)
        net = build_model(spec, 2, out_features, activation)
        assert sum(i.n_params for i in infos) == count_parameters(net)
        assert [i.index for i in infos] == [*range(len(spec)), -1]
        assert [i.type for i in infos[:-1]] == [s["type"] for s in spec]
        assert infos[-1].out_features == out_features and infos[-1].type == "output"
        for info, module in zip(infos[:-1], net.hidden, strict=True):
            assert info.n_params == sum(p.numel() for p in module.parameters())


def test_describe_model_widths_and_counts():
    spec = layers(
        {"type": "linear", "units": 10},
        {"type": "relu"},
        {"type": "batchnorm"},
        {"type": "linear", "units": 4, "bias": False},
        {"type": "residual", "depth": 2},
    )
    infos = describe_model(spec, 3, 2, "softmax")
    assert [i.out_features for i in infos] == [10, 10, 10, 4, 4, 2]
    assert [i.n_params for i in infos] == [3 * 10 + 10, 0, 2 * 10, 10 * 4, 2 * (4 * 4 + 4), 4 * 2 + 2]
    assert "softmax" in infos[-1].label


def test_layer_params_reach_the_module():
    net = build_model(
        layers(
            {"type": "linear", "units": 3, "bias": False},
            {"type": "leaky_relu", "negative_slope": 0.3},
            {"type": "dropout", "p": 0.4},
        ),
        2,
        1,
    )
    assert net.hidden[0].bias is None
    assert net.hidden[1].negative_slope == pytest.approx(0.3)
    assert net.hidden[2].p == pytest.approx(0.4)


def test_dropout_only_in_training_mode():
    net = build_model(layers({"type": "linear", "units": 64}, {"type": "dropout", "p": 0.5}), 2, 1)
    x = torch.randn(16, 2)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    torch.manual_seed(0)
    assert not torch.equal(net(x), net(x))


def test_zeros_init_gives_zero_weights():
    net = build_model(one_of_each(), 2, 3, init="zeros")
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert len(linears) >= 3  # hidden, inside the residual block, the head
    for m in linears:
        assert torch.count_nonzero(m.weight) == 0
        assert m.bias is None or torch.count_nonzero(m.bias) == 0
    # Every unit of a layer is identical, so the symmetry the lesson is about is there.
    assert torch.count_nonzero(net(torch.randn(4, 2))) == 0


@pytest.mark.parametrize("init", ["xavier", "kaiming"])
def test_other_inits_give_random_weights_and_zero_biases(init):
    torch.manual_seed(0)
    net = build_model(layers({"type": "linear", "units": 400}), 200, 1, init=init)
    w = net.hidden[0].weight
    assert torch.count_nonzero(net.hidden[0].bias) == 0
    if init == "xavier":
        bound = (6 / (200 + 400)) ** 0.5
        assert w.abs().max() <= bound + 1e-6
        assert w.std().item() == pytest.approx(bound / 3**0.5, rel=0.05)
    else:
        assert w.mean().item() == pytest.approx(0.0, abs=0.01)
        assert w.std().item() == pytest.approx((2 / 200) ** 0.5, rel=0.05)


def test_default_init_is_seeded_and_keeps_biases():
    torch.manual_seed(3)
    a = build_model(layers({"type": "linear", "units": 5}), 2, 1)
    torch.manual_seed(3)
    b = build_model(layers({"type": "linear", "units": 5}), 2, 1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert torch.count_nonzero(a.hidden[0].bias) > 0


def test_every_init_is_known():
    for init in INITS:
        assert isinstance(build_model([], 2, 1, init=init), Network)
    with pytest.raises(LossLabError) as info:
        build_model([], 2, 1, init="ones")
    assert info.value.field == "model.init"


def test_unknown_layer_type_names_its_field():
    with pytest.raises(LossLabError) as info:
        build_model([{"type": "linear", "units": 2, "bias": True}, {"type": "conv"}], 2, 1)
    assert info.value.field == "model.layers[1].type"


def test_validate_layer_fills_defaults():
    assert validate_layer({"type": "linear"}, "f") == {"type": "linear", "units": 16, "bias": True}
    assert validate_layer({"type": "residual"}, "f") == {"type": "residual", "depth": 2, "activation": "relu"}
    assert validate_layer({"type": "relu"}, "f") == {"type": "relu"}
    with pytest.raises(LossLabError) as info:
        validate_layer({"type": "relu", "units": 3}, "model.layers[2]")
    assert info.value.field == "model.layers[2].units"
