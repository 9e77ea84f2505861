"""Races on image data train their variants together, as the trainer trains each alone: a conv net
on the shapes and a fully convolutional net on masks (the batched engine builds the network on the
image shape, as the trainer does)."""

from __future__ import annotations

import math

import pytest

from losslab.core.experiment import load_experiment
from losslab.core.race import plan_race, run_race
from losslab.core.resources import examples_dir

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    ("stem", "vary", "metric"),
    [
        ("22_shapes_cnn_cross_entropy", {"optimizer.lr": [0.001, 0.003]}, "accuracy"),
        ("23_segmentation_dice", {"loss": ["dice", "bce_logits"]}, "iou"),
    ],
)
def test_image_races_are_batched_and_train_as_alone(
    stem: str, vary: dict[str, list[object]], metric: str
) -> None:
    exp = load_experiment(examples_dir() / f"{stem}.losslab")
    exp = exp.replace("dataset", n_samples=120).replace("training", epochs=2)
    together = run_race(plan_race(exp, vary))
    alone = run_race(plan_race(exp, vary, sequential=True))
    assert [v.mode for v in together.variants] == ["batched", "batched"]
    assert together.fair and alone.fair
    for b, s in zip(together.variants, alone.variants, strict=True):
        assert b.init_digest == s.init_digest and b.batch_order_digest == s.batch_order_digest
        assert b.steps == s.steps and b.epochs_done == s.epochs_done == 2
        for rb, rs in zip(b.history.rows, s.history.rows, strict=True):
            for key in ("train_loss", "val_loss"):
                assert math.isclose(rb[key], rs[key], rel_tol=1e-4), (b.label, key, rb[key], rs[key])
        assert b.final["metric"] == s.final["metric"] == metric
        assert b.final["metric_value"] == pytest.approx(s.final["metric_value"], abs=0.02)
