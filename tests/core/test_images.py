"""Image data (#14): the shapes generator, the image layers' shapes and refusals, masks through the
trainer, and Dice beating pixel-wise BCE on a rare foreground."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from losslab.core.data import make_dataset
from losslab.core.data.images import SHAPE_NAMES, draw_shapes, shape_mask
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.layers import LAYERS, describe_model, validate_layer
from losslab.core.metrics import classification_metrics, mask_iou
from losslab.core.model import build_model, count_parameters
from losslab.core.per_sample import measure
from losslab.core.tasks import BINARY, MULTICLASS
from losslab.core.trainer import make_trainer


def layers(*specs):
    return [validate_layer(s, f"model.layers[{i}]") for i, s in enumerate(specs)]


def experiment(dataset, model_layers, loss, epochs=2, lr=0.01):
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": dataset,
            "model": {"layers": model_layers},
            "loss": {"id": loss},
            "optimizer": {"id": "adam", "lr": lr},
            "training": {"epochs": epochs, "batch_size": 32, "seed": 0},
        }
    )


SEG_LAYERS = [{"type": "conv2d", "channels": 8}, {"type": "relu"}] * 3


# -- the generator --------------------------------------------------------------------------------
def test_draw_shapes_is_deterministic_by_seed_and_takes_any_size():
    a = draw_shapes(np.random.default_rng(3), 40, size=12)
    b = draw_shapes(np.random.default_rng(3), 40, size=12)
    c = draw_shapes(np.random.default_rng(4), 40, size=12)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    images, labels, masks = a
    assert images.shape == masks.shape == (40, 12, 12) and labels.shape == (40,)
    assert np.bincount(labels).tolist() == [10, 10, 10, 10]  # balanced classes
    assert masks.reshape(40, -1).any(axis=1).all()  # every image holds its shape, inside the frame


def test_the_four_outlines_differ_and_a_circle_ignores_rotation():
    drawn = {k: shape_mask(k, 28, 14, 14, 9, 0.3) for k in SHAPE_NAMES}
    areas = {k: int(m.sum()) for k, m in drawn.items()}
    assert len(set(areas.values())) == 4, areas
    np.testing.assert_array_equal(
        shape_mask("circle", 28, 14, 14, 9, 0.0), shape_mask("circle", 28, 14, 14, 9, 1.0)
    )
    assert not np.array_equal(
        shape_mask("square", 28, 14, 14, 9, 0.0), shape_mask("square", 28, 14, 14, 9, 0.6)
    )


def test_shapes_dataset_is_a_multiclass_image_set():
    ds = make_dataset({"kind": "shapes", "n_samples": 200, "image_size": 16, "seed": 1})
    assert ds.task == MULTICLASS and ds.n_classes == 4 and ds.class_names == list(SHAPE_NAMES)
    assert ds.image_shape == (1, 16, 16) and ds.input_shape == (1, 16, 16)
    assert ds.x_train.shape == (160, 256) and ds.n_features == 256  # flat rows: feature code keeps working
    # One mean and spread for all pixels, so the images keep their look.
    assert np.unique(ds.x_mean).size == 1 and abs(float(ds.x_train.mean())) < 1e-5


@pytest.mark.parametrize("foreground", [0.05, 0.2])
def test_shape_masks_have_the_asked_foreground_share(foreground):
    ds = make_dataset({"kind": "shape_masks", "n_samples": 300, "image_size": 24, "foreground": foreground})
    assert ds.task == BINARY and ds.masks and ds.y_train.shape == (240, 1, 24, 24)
    assert set(np.unique(ds.y_train)) == {0.0, 1.0}
    assert float(ds.y_train.mean()) == pytest.approx(foreground, rel=0.25)


# -- image layers -------------------------------------------------------------------------------
CNN = (
    {"type": "conv2d", "channels": 4, "kernel": 3},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2},
    {"type": "conv2d", "channels": 6, "kernel": 5, "padding": "valid", "stride": 2},
    {"type": "avgpool", "kernel": 2},
    {"type": "layernorm"},
    {"type": "dropout"},
    {"type": "global_avg_pool"},
    {"type": "linear", "units": 5},
)


def test_described_shapes_and_counts_match_the_built_network():
    spec = layers(*CNN)
    infos = describe_model(spec, (1, 28, 28), 4)
    image_shapes = [(4, 28, 28)] * 3 + [(4, 14, 14), (6, 5, 5)] + [(6, 2, 2)] * 3
    assert [i.out_shape for i in infos] == [*image_shapes, (6,), (5,), (4,)]
    net = build_model(spec, (1, 28, 28), 4)
    net.eval()
    h = torch.randn(3, 784).view(3, 1, 28, 28)
    for info, module in zip(infos[:-1], net.hidden, strict=True):
        h = module(h)
        assert tuple(h.shape[1:]) == info.out_shape, info.label
        assert info.n_params == sum(p.numel() for p in module.parameters()), info.label
    assert sum(i.n_params for i in infos) == count_parameters(net)
    assert net(torch.randn(3, 784)).shape == (3, 4)  # flat rows in, class scores out


def test_linear_on_an_image_flattens_it():
    spec = layers({"type": "linear", "units": 7}, {"type": "relu"})
    assert describe_model(spec, (2, 5, 5), 1)[0].out_shape == (7,)
    assert build_model(spec, (2, 5, 5), 1)(torch.randn(4, 50)).shape == (4,)
    conv_only = layers({"type": "conv2d", "channels": 3})  # the output Linear flattens the image too
    assert build_model(conv_only, (1, 6, 6), 3)(torch.randn(2, 36)).shape == (2, 3)


@pytest.mark.parametrize(
    ("stack", "in_shape", "words"),
    [
        ([{"type": "flatten"}, {"type": "conv2d"}], (1, 8, 8), ["layer 2 (Conv2d)", "64 features", "height"]),
        ([{"type": "maxpool", "kernel": 4}] * 3, (1, 28, 28), ["layer 3 (Max pool)", "4×4 window", "1×1×1"]),
        (
            [{"type": "conv2d", "kernel": 9, "padding": "valid"}],
            (1, 6, 6),
            ["layer 1 (Conv2d)", "9×9", "1×6×6"],
        ),
        ([{"type": "global_avg_pool"}], 12, ["layer 1 (Global average pool)", "gets 12 features"]),
    ],
)
def test_a_layer_that_cannot_take_its_input_is_refused_naming_it_and_both_shapes(stack, in_shape, words):
    with pytest.raises(LossLabError) as err:
        build_model(layers(*stack), in_shape, 2)
    for w in words:
        assert w in str(err.value)
    assert err.value.field.startswith("model.layers[")


def test_a_segmentation_network_must_keep_the_image_size():
    with pytest.raises(LossLabError, match=r"must end on an image of the input's size.*4×4"):
        describe_model(layers({"type": "conv2d"}, {"type": "maxpool"}), (1, 8, 8), 1, per_pixel=True)
    infos = describe_model(layers(*SEG_LAYERS), (1, 8, 8), 1, "sigmoid", per_pixel=True)
    assert infos[-1].out_shape == (1, 8, 8) and "1×1 Conv2d + sigmoid" in infos[-1].label


def test_image_layers_need_an_image_and_are_listed():
    assert {k for k, s in LAYERS.items() if s.needs_image} == {
        "conv2d",
        "maxpool",
        "avgpool",
        "global_avg_pool",
    }
    assert "flatten" in LAYERS


# -- masks through the trainer ------------------------------------------------------------------
def test_mask_iou_and_pixel_metrics():
    target = np.zeros((2, 1, 4, 4))
    target[:, :, :2, :2] = 1
    labels = np.zeros_like(target, dtype=np.int64)
    labels[0, :, :2, :1] = 1  # half of image 0's foreground; nothing in image 1
    assert mask_iou(labels, target) == pytest.approx((0.5 + 0.0) / 2)
    m = classification_metrics(labels, target, 1)
    assert m["accuracy"] == pytest.approx(26 / 32) and m["iou"] == pytest.approx(0.25)
    assert mask_iou(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2))) == 1.0  # nothing to find, nothing found


def test_a_cnn_trains_on_shapes_and_per_sample_losses_are_per_image():
    data = {"kind": "shapes", "n_samples": 120, "image_size": 12}
    cnn = [{"type": "conv2d", "channels": 4}, {"type": "relu"}, {"type": "maxpool"}]
    trainer = make_trainer(experiment(data, cnn, "cross_entropy"), diagnostics=True)
    trainer.run()
    assert trainer.history.last("val_accuracy") >= 0.0 and len(trainer.history) == 2
    seg = make_trainer(
        experiment({"kind": "shape_masks", "n_samples": 40, "image_size": 10}, SEG_LAYERS, "bce_logits")
    )
    seg.run()
    assert 0.0 <= seg.history.last("val_iou") <= 1.0
    xb, yb = seg.x_train[:5], seg.y_train[:5]
    event = measure(seg, xb, yb)
    assert event.loss.shape == event.grad.shape == (seg.dataset.n_train,)
    assert event.batch_loss.shape == (5,) and np.isfinite(event.loss).all()


def test_dice_beats_pixel_bce_on_a_rare_foreground():
    """The claim of examples 23/24, at a smaller size: same data, net, seed and steps."""
    data = {"kind": "shape_masks", "n_samples": 300, "image_size": 20, "noise": 0.3, "foreground": 0.05}
    iou = {}
    for loss in ("dice", "bce_logits"):
        trainer = make_trainer(experiment(data, SEG_LAYERS, loss, epochs=8), diagnostics=False)
        trainer.run()
        iou[loss] = trainer.history.last("val_iou")
    assert iou["dice"] > iou["bce_logits"] + 0.05, iou


@pytest.mark.parametrize("kind", ["shapes", "shape_masks", "gan_shapes"])
def test_an_image_dataset_too_big_for_memory_is_refused_with_the_largest_that_fits(kind):
    size = 20 if kind == "gan_shapes" else 64  # each one's largest image size
    most = 16_000_000 // (size * size)
    with pytest.raises(LossLabError, match=rf"use at most {most:,} samples at this image size") as err:
        make_dataset({"kind": kind, "n_samples": 100_000, "image_size": size})
    assert err.value.field == "dataset.n_samples"
    assert len(make_dataset({"kind": kind, "n_samples": most // 8, "image_size": size}).x_train) > 0
