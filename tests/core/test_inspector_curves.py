"""The loss inspector's curves: every built-in loss's curve equals losslab.loss at 200 points, and real
samples land on the curves where they should."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import losslab
from losslab.core.inspector import (
    LOGIT,
    PROBABILITY,
    RESIDUAL,
    SCORE,
    TRUE_LOGIT,
    TRUE_SCORE,
    axis_for,
    convexity,
    curve_for_samples,
    loss_curves,
    sample_positions,
    sample_slopes,
)
from losslab.core.losses import LOSSES, resolve_loss
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION, TASKS

pytestmark = pytest.mark.usefixtures("any_code_runs")  # these test what code does

# Every built-in loss on every task it fits with its default parameters, plus other parameters.
CASES = [(s.id, t, {}) for s in LOSSES.values() for t in TASKS if t in s.tasks] + [
    ("huber", REGRESSION, {"delta": 0.4}),
    ("bce_logits", BINARY, {"pos_weight": 2.5}),
    ("hinge", BINARY, {"margin": 0.5}),
    ("iou", BINARY, {"smooth": 0.1}),
    ("focal", BINARY, {"gamma": 1.5, "alpha": [0.3]}),
    ("cross_entropy", MULTICLASS, {"label_smoothing": 0.1, "class_weights": [0.5, 2.0, 1.0]}),
    ("multi_hinge", MULTICLASS, {"margin": 0.5}),
    ("kl_div", MULTICLASS, {"smoothing": 0.3}),
]
TARGETS = {REGRESSION: (0.0, 1.7), MULTICLASS: (0, 2), BINARY: (0.0,), GAN: (0.0,)}


def _model_output(kind: str, x: float, target: float, classes: int) -> torch.Tensor:
    """The one-sample model output the inspector's x stands for."""
    if kind == RESIDUAL:
        return torch.tensor([target + x], dtype=torch.float64)
    if kind in (TRUE_LOGIT, TRUE_SCORE):
        out = torch.zeros(1, classes, dtype=torch.float64)
        out[0, int(target)] = x
        return out
    return torch.tensor([x], dtype=torch.float64)


@pytest.mark.parametrize(("loss_id", "task", "params"), CASES, ids=[f"{i}-{t}-{len(p)}" for i, t, p in CASES])
def test_inspector_curve_equals_losslab_loss_at_200_points(loss_id, task, params):
    spec = LOSSES[loss_id]
    fn = losslab.loss(loss_id, **params)
    for target in TARGETS[task]:
        curves = loss_curves(spec, task, target=target, params=params, classes=3)
        assert curves
        kind = axis_for(spec, task, params).kind
        for c in curves:
            assert c.x.shape == c.loss.shape == c.slope.shape == (200,)
            expected = []
            for xi in c.x:
                pred = _model_output(kind, float(xi), c.target, 3)
                y = torch.tensor([c.target], dtype=torch.float64)
                if task == MULTICLASS:
                    y = torch.tensor([int(c.target)])
                expected.append(float(fn(pred, y)))
            np.testing.assert_allclose(c.loss, expected, rtol=1e-9, atol=1e-12)
            # The slope is the derivative along x: compare with central differences away from kinks.
            h = 1e-6
            hi = loss_curves(spec, task, target=target, params=params, lo=c.x[0] + h, hi=c.x[-1] + h)
            lo = loss_curves(spec, task, target=target, params=params, lo=c.x[0] - h, hi=c.x[-1] - h)
            i = curves.index(c)
            fd = (hi[i].loss - lo[i].loss) / (2 * h)
            away = np.ones(200, dtype=bool)
            for k in c.kinks:
                away &= np.abs(c.x - k) > 1e-3
            np.testing.assert_allclose(c.slope[away], fd[away], rtol=1e-4, atol=1e-5)


def test_axes_follow_the_task_and_the_output():
    assert axis_for(LOSSES["mse"], REGRESSION).kind == RESIDUAL
    assert axis_for(LOSSES["bce"], BINARY).kind == PROBABILITY
    assert axis_for(LOSSES["bce_logits"], BINARY).kind == LOGIT
    assert axis_for(LOSSES["hinge"], BINARY).kind == SCORE
    assert axis_for(LOSSES["cross_entropy"], MULTICLASS).kind == TRUE_LOGIT
    assert axis_for(LOSSES["multi_hinge"], MULTICLASS).kind == TRUE_SCORE
    assert axis_for(LOSSES["huber"], REGRESSION, {"delta": 3.0}).hi == pytest.approx(9.0)  # δ stays in view


def test_kinks_are_where_the_loss_has_no_derivative():
    (mae,) = loss_curves(LOSSES["mae"], REGRESSION, target=2.0)
    assert mae.kinks == (0.0,)  # zero residual, whatever the target
    one, zero = loss_curves(LOSSES["hinge"], BINARY, params={"margin": 0.5})
    assert (one.label, one.kinks) == ("y = 1", (0.5,))
    assert (zero.label, zero.kinks) == ("y = 0", (-0.5,))
    (mh,) = loss_curves(LOSSES["multi_hinge"], MULTICLASS, target=1)
    assert mh.kinks == (1.0,)
    for spec in LOSSES.values():
        if spec.differentiable:
            assert all(c.kinks == () for c in loss_curves(spec)), spec.id


def test_generator_losses_ignore_the_label_and_get_one_curve():
    assert [c.label for c in loss_curves(LOSSES["gan_g_nonsat"], GAN)] == ["generated sample"]
    assert len(loss_curves(LOSSES["gan_d"], GAN)) == 2


def test_convexity_comes_from_the_registry_for_built_ins():
    for spec in LOSSES.values():
        result = convexity(spec, loss_curves(spec))
        assert result.convex == spec.convex and not result.checked


def _custom(code: str, **extra):
    return resolve_loss({"id": "custom", "code": code, **extra}, extra.get("tasks", ["regression"])[0])


def test_custom_losses_get_numeric_kinks_and_convexity():
    pinball = _custom(
        "def loss(pred, target):\n    e = target - pred\n    return torch.maximum(0.9 * e, -0.1 * e).mean()\n"
    )
    (c,) = loss_curves(pinball, REGRESSION, target=0.5)
    assert len(c.kinks) == 1 and abs(c.kinks[0]) < 0.05
    assert convexity(pinball, [c]).convex and convexity(pinball, [c]).checked
    # Its curve is the same function losslab.loss computes.
    fn = losslab.loss(
        "custom",
        code="def loss(pred, target):\n    e = target - pred\n"
        "    return torch.maximum(0.9 * e, -0.1 * e).mean()\n",
    )
    assert c.loss[10] == pytest.approx(float(fn(torch.tensor([0.5 + c.x[10]]), torch.tensor([0.5]))))
    welsch = _custom("def loss(pred, target):\n    return (1 - torch.exp(-(pred - target) ** 2)).mean()\n")
    curves = loss_curves(welsch, REGRESSION)
    result = convexity(welsch, curves)
    assert not result.convex and "numerically" in result.text
    assert curves[0].kinks == ()


def test_custom_multiclass_probabilities_curve():
    spec = _custom(
        "def loss(pred, target):\n    return -torch.log(pred[torch.arange(len(target)), target]).mean()\n",
        tasks=["multiclass"],
        output="probabilities",
    )
    (c,) = loss_curves(spec, MULTICLASS, target=1, classes=4)
    np.testing.assert_allclose(c.loss, -np.log(c.x), rtol=1e-9)


def test_samples_sit_on_the_curve():
    rng = np.random.default_rng(0)
    # Multi-class cross-entropy with K = 4 and arbitrary logits: the position makes it exact.
    logits = rng.normal(size=(30, 4)) * 2
    y = rng.integers(0, 4, size=30)
    ce = losslab.loss("cross_entropy")
    spec = LOSSES["cross_entropy"]
    x = sample_positions(spec, MULTICLASS, logits, y)
    (c,) = loss_curves(spec, MULTICLASS, target=0, classes=4, lo=-10, hi=10, n=4001)
    on_curve = np.interp(x, c.x, c.loss)
    actual = [float(ce(torch.tensor(logits[i : i + 1]), torch.tensor(y[i : i + 1]))) for i in range(30)]
    np.testing.assert_allclose(on_curve, actual, rtol=2e-3, atol=1e-4)
    # Its gradient with respect to the true logit is the curve's slope there.
    out = torch.tensor(logits, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, torch.tensor(y), reduction="sum"), out)
    np.testing.assert_allclose(
        sample_slopes(spec, MULTICLASS, g.numpy(), y), np.interp(x, c.x, c.slope), rtol=2e-3, atol=1e-4
    )
    # Regression: residuals; binary: outputs, on the curve of their label.
    residuals = sample_positions(LOSSES["mse"], REGRESSION, np.array([3.0, 1.0]), np.array([1.0, 1.5]))
    assert residuals.tolist() == [2.0, -0.5]
    assert curve_for_samples(BINARY, np.array([1.0, 0.0, 1.0])).tolist() == [0, 1, 0]
