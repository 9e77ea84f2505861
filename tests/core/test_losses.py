"""Tests for the loss registry: closed forms, agreement with torch, gradients, adapters, curves."""

from __future__ import annotations

import inspect
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from losslab.core.errors import LossLabError
from losslab.core.losses import (
    CURVE_CLASSES,
    LOSSES,
    SUGGEST_MARGIN,
    SUGGEST_ROBUST,
    LossSpec,
    check_pairing,
    curve,
    get_loss,
    kinks,
    losses_for_task,
    make_loss,
    primary_task,
    suggested_loss,
)
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION, TASKS

REPO = Path(__file__).resolve().parents[2]
# Ids that experiment files already hold: they must keep meaning the same loss for the same tasks.
# (New losses need no entry here; every table below is derived from the registry.)
SAVED_IDS_TASKS = {
    "mse": {REGRESSION}, "mae": {REGRESSION}, "huber": {REGRESSION}, "log_cosh": {REGRESSION},
    "bce": {BINARY}, "bce_logits": {BINARY}, "hinge": {BINARY}, "squared_hinge": {BINARY},
    "dice": {BINARY}, "iou": {BINARY},
    "cross_entropy": {MULTICLASS}, "multi_hinge": {MULTICLASS},
    "focal": {BINARY, MULTICLASS}, "kl_div": {BINARY, MULTICLASS},
    "gan_d": {GAN}, "gan_g_minimax": {GAN}, "gan_g_nonsat": {GAN},
}  # fmt: skip


def t64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def loss_of(loss_id: str, pred, target, **params) -> float:
    return float(make_loss(loss_id, **params)(pred, target))


# --- the registry itself ------------------------------------------------------------------------


def test_registry_ids_tasks_and_grouping():
    assert {i: LOSSES[i].tasks for i in SAVED_IDS_TASKS if i in LOSSES} == SAVED_IDS_TASKS
    for loss_id, spec in LOSSES.items():
        assert isinstance(spec, LossSpec)
        assert spec.id == loss_id
        assert spec.tasks <= set(TASKS)
        assert spec.output in {"raw", "logits", "probabilities"}
        assert spec.output_activation in {None, "sigmoid", "softmax"}
        # A probability output needs the activation LossLab adds; logits and raw scores must not get one.
        assert (spec.output == "probabilities") == (spec.output_activation is not None)
        assert spec.name and spec.formula and spec.notes and spec.target_format
        assert spec.differentiable == (not spec.nondifferentiable_at)
        names = {p.name for p in spec.params}
        assert {at for at in spec.nondifferentiable_at if isinstance(at, str)} <= names
        assert spec.axis_scale is None or spec.axis_scale in names
        assert spec.binary_weight is None or spec.binary_weight in names
        assert spec.gan_generator is None or GAN in get_loss(spec.gan_generator).tasks
    # Grouped by task: the primary task never goes back to an earlier one.
    order = [REGRESSION, BINARY, MULTICLASS, GAN]
    ranks = [order.index(primary_task(spec)) for spec in LOSSES.values() if len(spec.tasks) == 1]
    assert ranks == sorted(ranks)
    assert {s.id for s in LOSSES.values() if s.set_level} == {"dice", "iou"}


def test_per_sample_defaults_match_param_defaults():
    # spec.compute(pred, target) without params must behave like the validated defaults.
    for spec in LOSSES.values():
        sig = inspect.signature(spec.per_sample)
        names = list(sig.parameters)[2:]
        assert names == [p.name for p in spec.params], spec.id
        for p in spec.params:
            assert sig.parameters[p.name].default == p.default, (spec.id, p.name)


def test_formulas_are_rich_text():
    for spec in LOSSES.values():
        assert spec.formula.startswith("L")
        assert "<" in spec.formula  # italics / sub / sup markup for QLabel
        assert spec.formula.count("<i>") == spec.formula.count("</i>")


def test_get_loss_and_losses_for_task():
    assert get_loss("huber").name == "Huber"
    with pytest.raises(LossLabError) as err:
        get_loss("nope")
    assert err.value.field == "loss.id"
    assert "unknown loss 'nope'" in str(err.value) and "mse" in str(err.value)
    for task in TASKS:  # registry order, each loss under every task it fits
        assert losses_for_task(task) == [s for s in LOSSES.values() if task in s.tasks]
    assert "focal" in [s.id for s in losses_for_task(BINARY)]
    assert "cross_entropy" not in [s.id for s in losses_for_task(BINARY)]


def test_suggested_losses():
    assert [suggested_loss(t).id for t in (REGRESSION, BINARY, MULTICLASS)] == [
        "mse",
        "bce_logits",
        "cross_entropy",
    ]
    assert suggested_loss(REGRESSION, SUGGEST_ROBUST).id == "huber"
    assert suggested_loss(BINARY, SUGGEST_MARGIN).id == "hinge"
    assert suggested_loss(GAN, SUGGEST_ROBUST) == losses_for_task(GAN)[0]  # no loss in that role: the first
    for task in TASKS:
        assert task in suggested_loss(task).tasks


# --- closed-form values -------------------------------------------------------------------------


def test_mse_house_price_float64():
    pred = torch.tensor([200_000.0], dtype=torch.float64)
    target = torch.tensor([250_000.0], dtype=torch.float64)
    value = make_loss("mse")(pred, target)
    assert value.dtype == torch.float64
    assert float(value) == 2.5e9


def test_regression_closed_forms():
    assert loss_of("mse", t64(1.0, 3.0), t64(0.0, 0.0)) == 5.0
    assert loss_of("mae", t64(3.0, -1.0), t64(5.0, 0.0)) == 1.5
    # Huber: ½r² inside δ, δ(|r| − ½δ) outside.
    assert loss_of("huber", t64(0.5), t64(0.0)) == 0.125
    assert loss_of("huber", t64(-3.0), t64(0.0)) == 2.5
    assert loss_of("huber", t64(3.0), t64(0.0), delta=2.0) == 4.0
    assert loss_of("huber", t64(1.5), t64(0.0), delta=2.0) == 1.125
    assert loss_of("log_cosh", t64(1.0), t64(0.0)) == pytest.approx(math.log(math.cosh(1.0)), rel=1e-14)
    assert loss_of("log_cosh", t64(0.0), t64(0.0)) == pytest.approx(0.0, abs=1e-15)


def test_log_cosh_does_not_overflow():
    big = torch.tensor([1000.0, -1000.0])
    values = LOSSES["log_cosh"].per_sample(big, torch.zeros(2))
    assert torch.isfinite(values).all()
    assert values.tolist() == pytest.approx([1000.0 - math.log(2.0)] * 2)


def test_bce_closed_forms():
    assert loss_of("bce", t64(0.1), t64(1.0)) == pytest.approx(2.302585092994046, rel=1e-14)
    value = make_loss("bce")(torch.tensor([0.0]), torch.tensor([0.0]))
    assert not torch.isnan(value) and float(value) == 0.0
    assert loss_of("bce", t64(1.0), t64(1.0)) == 0.0
    assert loss_of("bce", t64(0.0), t64(1.0)) == 100.0  # log clamped at −100, like torch
    assert loss_of("bce_logits", t64(0.0), t64(1.0)) == pytest.approx(math.log(2.0))
    assert loss_of("bce_logits", t64(0.0), t64(1.0), pos_weight=3.0) == pytest.approx(3 * math.log(2.0))
    assert loss_of("bce_logits", t64(0.0), t64(0.0), pos_weight=3.0) == pytest.approx(math.log(2.0))
    z = 2.0
    assert loss_of("bce_logits", t64(z), t64(0.0)) == pytest.approx(math.log1p(math.exp(z)))


@pytest.mark.parametrize(
    ("score", "label", "expected"),
    [
        (1.0, 1.0, 0.0),  # exactly at the margin
        (0.5, 1.0, 0.5),  # inside the margin, right side
        (2.0, 1.0, 0.0),  # beyond the margin
        (-1.0, 1.0, 2.0),  # wrong side
        (-1.0, 0.0, 0.0),  # label 0 -> −1: at the margin
        (0.5, 0.0, 1.5),
        (-3.0, 0.0, 0.0),
    ],
)
def test_hinge_closed_forms(score, label, expected):
    assert loss_of("hinge", t64(score), t64(label)) == expected
    signed = 2 * label - 1  # {−1, +1} labels give the same loss
    assert loss_of("hinge", t64(score), t64(signed)) == expected
    assert loss_of("squared_hinge", t64(score), t64(label)) == expected**2


def test_hinge_margin_and_int_labels():
    assert loss_of("hinge", t64(0.5), torch.tensor([1]), margin=2.0) == 1.5
    assert loss_of("hinge", t64(0.5), torch.tensor([-1]), margin=2.0) == 2.5
    assert loss_of("squared_hinge", t64(0.5), torch.tensor([True]), margin=2.0) == 2.25


def test_cross_entropy_closed_forms():
    logits = torch.zeros(1, 3, dtype=torch.float64)
    assert loss_of("cross_entropy", logits, torch.tensor([0])) == pytest.approx(math.log(3.0))
    logits = t64(2.0, 0.0, 0.0).unsqueeze(0)
    log_p = [2 - math.log(math.exp(2) + 2), -math.log(math.exp(2) + 2), -math.log(math.exp(2) + 2)]
    assert loss_of("cross_entropy", logits, torch.tensor([0])) == pytest.approx(-log_p[0])
    eps = 0.3
    q = [1 - eps + eps / 3, eps / 3, eps / 3]
    expected = -sum(qk * lp for qk, lp in zip(q, log_p, strict=True))
    assert loss_of("cross_entropy", logits, torch.tensor([0]), label_smoothing=eps) == pytest.approx(expected)


def test_multi_hinge_closed_form():
    scores = torch.zeros(1, 3, dtype=torch.float64)
    assert loss_of("multi_hinge", scores, torch.tensor([0])) == pytest.approx(2 / 3)
    scores = t64(2.0, 0.5, 1.5).unsqueeze(0)
    # (1/K) Σ_{j≠y} max(0, m − s_y + s_j) = (0 + 0.5) / 3
    assert loss_of("multi_hinge", scores, torch.tensor([0])) == pytest.approx(0.5 / 3)
    assert loss_of("multi_hinge", scores, torch.tensor([0]), margin=2.0) == pytest.approx((0.5 + 1.5) / 3)


def test_focal_closed_forms():
    log2 = math.log(2.0)
    assert loss_of("focal", t64(0.0), t64(1.0)) == pytest.approx(0.25 * log2)
    assert loss_of("focal", t64(0.0), t64(1.0), gamma=1.0) == pytest.approx(0.5 * log2)
    assert loss_of("focal", t64(0.0), t64(1.0), alpha=[0.25]) == pytest.approx(0.25 * 0.25 * log2)
    assert loss_of("focal", t64(0.0), t64(0.0), alpha=[0.25]) == pytest.approx(0.75 * 0.25 * log2)
    assert loss_of("focal", t64(0.0), t64(0.0), alpha=[2.0, 5.0]) == pytest.approx(2.0 * 0.25 * log2)
    logits = torch.zeros(1, 3, dtype=torch.float64)
    expected = (2 / 3) ** 2 * math.log(3.0)
    assert loss_of("focal", logits, torch.tensor([1])) == pytest.approx(expected)
    assert loss_of("focal", logits, torch.tensor([1]), alpha=[1.0, 4.0, 1.0]) == pytest.approx(4 * expected)


def test_kl_div_closed_forms():
    # Binary: q = 0.5 matches σ(0) exactly.
    assert loss_of("kl_div", t64(0.0), t64(0.5)) == pytest.approx(0.0, abs=1e-15)
    # Hard label, no smoothing: KL is BCE.
    assert loss_of("kl_div", t64(1.3), t64(1.0), smoothing=0.0) == pytest.approx(math.log1p(math.exp(-1.3)))
    # Binary with smoothing: q = 1 − ε/2.
    q, z = 0.95, 0.7
    p = 1 / (1 + math.exp(-z))
    expected = q * math.log(q / p) + (1 - q) * math.log((1 - q) / (1 - p))
    assert loss_of("kl_div", t64(z), t64(1.0)) == pytest.approx(expected)
    # Multi-class: label 0, ε = 0.3 -> q = [0.8, 0.1, 0.1] against uniform predictions.
    logits = torch.zeros(1, 3, dtype=torch.float64)
    expected = sum(qk * math.log(qk * 3) for qk in (0.8, 0.1, 0.1))
    assert loss_of("kl_div", logits, torch.tensor([0]), smoothing=0.3) == pytest.approx(expected)
    # Soft targets equal to the prediction: 0.
    soft = torch.full((1, 3), 1 / 3, dtype=torch.float64)
    assert loss_of("kl_div", logits, soft, smoothing=0.0) == pytest.approx(0.0, abs=1e-15)
    # Zero-probability classes contribute exactly 0, not NaN.
    assert loss_of("kl_div", logits, torch.tensor([2]), smoothing=0.0) == pytest.approx(math.log(3.0))


def test_dice_and_iou_closed_forms():
    assert loss_of("dice", t64(1.0, 0.0), t64(1.0, 0.0)) == 0.0
    assert loss_of("dice", t64(0.5), t64(1.0)) == pytest.approx(0.2)  # 1 − (1 + 1)/(1.5 + 1)
    assert loss_of("iou", t64(0.5), t64(1.0)) == pytest.approx(0.25)  # 1 − 1.5/(1 + 1)
    # Set level: the batch is one mask, not a mean of per-sample terms.
    p, y = t64(1.0, 0.0), t64(0.0, 1.0)
    assert loss_of("dice", p, y) == pytest.approx(1 - 1 / 3)
    assert loss_of("iou", p, y) == pytest.approx(1 - 1 / 3)
    assert LOSSES["dice"].per_sample(p, y).tolist() == pytest.approx([0.5, 0.5])
    p, y = t64(0.9, 0.2, 0.7, 0.0), t64(1.0, 0.0, 1.0, 1.0)
    inter, total = 0.9 + 0.7, 1.8 + 3.0
    assert loss_of("dice", p, y, smooth=0.01) == pytest.approx(1 - (2 * inter + 0.01) / (total + 0.01))
    assert loss_of("iou", p, y, smooth=0.01) == pytest.approx(1 - (inter + 0.01) / (total - inter + 0.01))
    # Per sample = the set-level loss of a one-sample batch.
    for k in range(4):
        assert float(LOSSES["dice"].per_sample(p, y)[k]) == pytest.approx(
            loss_of("dice", p[k : k + 1], y[k : k + 1])
        )
        assert float(LOSSES["iou"].per_sample(p, y)[k]) == pytest.approx(
            loss_of("iou", p[k : k + 1], y[k : k + 1])
        )


def test_dice_masks_are_scored_per_sample():
    gen = torch.Generator().manual_seed(3)
    p = torch.rand(4, 5, 6, generator=gen, dtype=torch.float64)
    y = (torch.rand(4, 5, 6, generator=gen) > 0.5).double()
    s = 1.0
    dice = 1 - (2 * (p * y).sum((1, 2)) + s) / (p.sum((1, 2)) + y.sum((1, 2)) + s)
    inter = (p * y).sum((1, 2))
    iou = 1 - (inter + s) / (p.sum((1, 2)) + y.sum((1, 2)) - inter + s)
    torch.testing.assert_close(LOSSES["dice"].per_sample(p, y), dice)
    torch.testing.assert_close(make_loss("dice")(p, y), dice.mean())
    torch.testing.assert_close(LOSSES["iou"].per_sample(p, y), iou)
    torch.testing.assert_close(make_loss("iou")(p, y), iou.mean())


def test_gan_closed_forms():
    log2 = math.log(2.0)
    assert loss_of("gan_d", t64(0.0), t64(1.0)) == pytest.approx(log2)
    assert loss_of("gan_d", t64(0.0), t64(0.0)) == pytest.approx(log2)
    assert loss_of("gan_g_minimax", t64(0.0), t64(0.0)) == pytest.approx(-log2)
    assert loss_of("gan_g_nonsat", t64(0.0), t64(0.0)) == pytest.approx(log2)
    # A confidently rejected fake: minimax is flat (saturates), non-saturating is steep.
    _, d_minimax = curve("gan_g_minimax", np.array([-10.0]), 0.0)
    _, d_nonsat = curve("gan_g_nonsat", np.array([-10.0]), 0.0)
    assert abs(d_minimax[0]) < 1e-4 and d_nonsat[0] == pytest.approx(-1.0, abs=1e-4)
    # Generator losses ignore the target.
    z = t64(0.3, -1.2)
    assert loss_of("gan_g_nonsat", z, t64(1.0, 1.0)) == loss_of("gan_g_nonsat", z, t64(0.0, 0.0))


# --- agreement with torch.nn.functional ---------------------------------------------------------


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


def test_regression_matches_torch(gen):
    pred = torch.randn(64, generator=gen, dtype=torch.float64) * 3
    target = torch.randn(64, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(make_loss("mse")(pred, target), F.mse_loss(pred, target))
    torch.testing.assert_close(make_loss("mae")(pred, target), F.l1_loss(pred, target))
    torch.testing.assert_close(
        make_loss("huber", delta=0.7)(pred, target), F.huber_loss(pred, target, delta=0.7)
    )
    # Huber with δ = 1 is smooth L1 with β = 1.
    torch.testing.assert_close(make_loss("huber")(pred, target), F.smooth_l1_loss(pred, target, beta=1.0))
    torch.testing.assert_close(
        make_loss("log_cosh")(pred, target), torch.log(torch.cosh(pred - target)).mean()
    )


def test_binary_matches_torch(gen):
    logits = torch.randn(64, generator=gen, dtype=torch.float64) * 3
    labels = (torch.rand(64, generator=gen) > 0.4).double()
    probs = torch.sigmoid(logits)
    torch.testing.assert_close(make_loss("bce")(probs, labels), F.binary_cross_entropy(probs, labels))
    torch.testing.assert_close(
        make_loss("bce_logits")(logits, labels), F.binary_cross_entropy_with_logits(logits, labels)
    )
    torch.testing.assert_close(
        make_loss("bce_logits", pos_weight=2.5)(logits, labels),
        F.binary_cross_entropy_with_logits(logits, labels, pos_weight=torch.tensor(2.5, dtype=torch.float64)),
    )
    torch.testing.assert_close(
        make_loss("gan_d")(logits, labels), F.binary_cross_entropy_with_logits(logits, labels)
    )
    # Soft margin loss is logistic loss on ±1 labels; squared/plain hinge against hand formulas.
    signs = labels * 2 - 1
    torch.testing.assert_close(make_loss("bce_logits")(logits, labels), F.soft_margin_loss(logits, signs))
    torch.testing.assert_close(make_loss("hinge")(logits, labels), torch.relu(1 - signs * logits).mean())
    torch.testing.assert_close(
        make_loss("squared_hinge", margin=0.5)(logits, labels), (torch.relu(0.5 - signs * logits) ** 2).mean()
    )
    # Binary KL with hard labels and ε = 0 is BCE with logits; soft binary KL = BCE − target entropy.
    torch.testing.assert_close(
        make_loss("kl_div", smoothing=0.0)(logits, labels), F.binary_cross_entropy_with_logits(logits, labels)
    )
    soft = torch.rand(64, generator=gen, dtype=torch.float64)
    entropy = -(soft * soft.log() + (1 - soft) * (1 - soft).log())
    torch.testing.assert_close(
        LOSSES["kl_div"].per_sample(logits, soft, smoothing=0.0),
        F.binary_cross_entropy_with_logits(logits, soft, reduction="none") - entropy,
    )


def test_cross_entropy_matches_torch(gen):
    logits = torch.randn(50, 4, generator=gen, dtype=torch.float64) * 2
    labels = torch.randint(0, 4, (50,), generator=gen)
    weights = [0.5, 2.0, 1.0, 3.0]
    w = torch.tensor(weights, dtype=torch.float64)
    for smoothing in (0.0, 0.2):
        for class_weights, torch_weight in ((None, None), (weights, w)):
            got = make_loss("cross_entropy", label_smoothing=smoothing, class_weights=class_weights)(
                logits, labels
            )
            want = F.cross_entropy(logits, labels, weight=torch_weight, label_smoothing=smoothing)
            torch.testing.assert_close(got, want)
            per = LOSSES["cross_entropy"].per_sample(
                logits, labels, label_smoothing=smoothing, class_weights=class_weights
            )
            want_per = F.cross_entropy(
                logits, labels, weight=torch_weight, label_smoothing=smoothing, reduction="none"
            )
            torch.testing.assert_close(per, want_per)
    # Float32 weights with float32 logits keep float32.
    got = make_loss("cross_entropy", class_weights=weights)(logits.float(), labels)
    assert got.dtype == torch.float32


def test_multiclass_matches_torch(gen):
    logits = torch.randn(40, 5, generator=gen, dtype=torch.float64) * 2
    labels = torch.randint(0, 5, (40,), generator=gen)
    for margin in (1.0, 0.3):
        torch.testing.assert_close(
            make_loss("multi_hinge", margin=margin)(logits, labels),
            F.multi_margin_loss(logits, labels, margin=margin),
        )
    # KL with soft targets: torch's kl_div "batchmean" is our mean of per-sample sums.
    soft = torch.softmax(torch.randn(40, 5, generator=gen, dtype=torch.float64), dim=1)
    torch.testing.assert_close(
        make_loss("kl_div", smoothing=0.0)(logits, soft),
        F.kl_div(F.log_softmax(logits, dim=1), soft, reduction="batchmean"),
    )
    smoothed = soft * 0.8 + 0.2 / 5
    torch.testing.assert_close(
        make_loss("kl_div", smoothing=0.2)(logits, soft),
        F.kl_div(F.log_softmax(logits, dim=1), smoothed, reduction="batchmean"),
    )
    # Hard labels: KL = label-smoothed cross-entropy minus the target's entropy.
    eps = 0.1
    q = F.one_hot(labels, 5).double() * (1 - eps) + eps / 5
    entropy = -(q * q.log()).sum(1).mean()
    torch.testing.assert_close(
        make_loss("kl_div", smoothing=eps)(logits, labels),
        F.cross_entropy(logits, labels, label_smoothing=eps) - entropy,
    )


def test_focal_matches_references(gen):
    logits = torch.randn(64, generator=gen, dtype=torch.float64) * 3
    labels = (torch.rand(64, generator=gen) > 0.5).double()
    # γ = 0 is plain cross-entropy.
    torch.testing.assert_close(
        make_loss("focal", gamma=0.0)(logits, labels), F.binary_cross_entropy_with_logits(logits, labels)
    )
    # torchvision's sigmoid_focal_loss formula, written out.
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    p_t = p * labels + (1 - p) * (1 - labels)
    alpha_t = 0.25 * labels + 0.75 * (1 - labels)
    torch.testing.assert_close(
        make_loss("focal", gamma=2.0, alpha=[0.25])(logits, labels), (alpha_t * (1 - p_t) ** 2 * ce).mean()
    )
    torch.testing.assert_close(make_loss("focal", gamma=1.5)(logits, labels), ((1 - p_t) ** 1.5 * ce).mean())
    # Multi-class.
    logits = torch.randn(30, 4, generator=gen, dtype=torch.float64) * 2
    classes = torch.randint(0, 4, (30,), generator=gen)
    torch.testing.assert_close(
        make_loss("focal", gamma=0.0)(logits, classes), F.cross_entropy(logits, classes)
    )
    log_pt = F.log_softmax(logits, 1)[torch.arange(30), classes]
    alpha = torch.tensor([1.0, 0.5, 2.0, 0.25], dtype=torch.float64)
    want = (alpha[classes] * (1 - log_pt.exp()) ** 2 * -log_pt).mean()
    torch.testing.assert_close(make_loss("focal", alpha=alpha.tolist())(logits, classes), want)


# --- gradients ----------------------------------------------------------------------------------


def _gradcheck(fn, pred: torch.Tensor) -> None:
    pred = pred.detach().double().requires_grad_(True)
    assert torch.autograd.gradcheck(fn, (pred,), eps=1e-6, atol=1e-6)


def test_gradcheck_hand_written_losses(gen):
    n = 12
    residual = torch.randn(n, generator=gen, dtype=torch.float64) * 2
    zeros = torch.zeros(n, dtype=torch.float64)
    labels = (torch.rand(n, generator=gen) > 0.5).double()
    soft = torch.rand(n, generator=gen, dtype=torch.float64)
    logits = torch.randn(n, generator=gen, dtype=torch.float64) * 2
    probs = torch.rand(n, generator=gen, dtype=torch.float64) * 0.9 + 0.05
    signs = labels * 2 - 1
    # Scores whose signed margin stays away from the hinge's kink at 1.
    margins = torch.where(torch.rand(n, generator=gen) > 0.5, 0.4, 1.7).double()
    scores = margins * signs + torch.rand(n, generator=gen, dtype=torch.float64) * 0.1
    classes = torch.randint(0, 3, (n,), generator=gen)
    class_logits = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    class_soft = torch.softmax(torch.randn(n, 3, generator=gen, dtype=torch.float64), 1)
    masks_p = torch.rand(3, 4, 4, generator=gen, dtype=torch.float64)
    masks_y = (torch.rand(3, 4, 4, generator=gen) > 0.5).double()

    def spec_fn(loss_id, target, **params):
        spec = LOSSES[loss_id]
        return lambda p: (spec.per_sample(p, target, **params), spec.compute(p, target, **params))

    _gradcheck(spec_fn("log_cosh", zeros), residual)
    _gradcheck(spec_fn("focal", labels), logits)
    _gradcheck(spec_fn("focal", labels, gamma=1.5, alpha=[0.3]), logits)
    _gradcheck(spec_fn("focal", classes), class_logits)
    _gradcheck(spec_fn("focal", classes, gamma=3.0, alpha=[1.0, 2.0, 0.5]), class_logits)
    _gradcheck(spec_fn("hinge", labels), scores)
    _gradcheck(spec_fn("squared_hinge", labels), scores)
    _gradcheck(spec_fn("squared_hinge", labels, margin=0.2), logits)
    _gradcheck(spec_fn("dice", labels), probs)
    _gradcheck(spec_fn("dice", soft, smooth=0.1), probs)
    _gradcheck(spec_fn("iou", labels), probs)
    _gradcheck(spec_fn("dice", masks_y), masks_p)
    _gradcheck(spec_fn("iou", masks_y, smooth=0.5), masks_p)
    _gradcheck(spec_fn("gan_d", labels), logits)
    _gradcheck(spec_fn("gan_g_minimax", labels), logits)
    _gradcheck(spec_fn("gan_g_nonsat", labels), logits)
    _gradcheck(spec_fn("kl_div", soft), logits)
    _gradcheck(spec_fn("kl_div", labels, smoothing=0.0), logits)
    _gradcheck(spec_fn("kl_div", classes), class_logits)
    _gradcheck(spec_fn("kl_div", class_soft, smoothing=0.05), class_logits)
    _gradcheck(
        spec_fn("cross_entropy", classes, label_smoothing=0.1, class_weights=[1.0, 2.0, 3.0]), class_logits
    )


def test_focal_gamma_zero_gradient_is_finite_for_perfect_predictions():
    # (1 − p_t)^0 with p_t = 1 must not give 0 · ∞ = NaN in the backward pass.
    z = torch.tensor([60.0, -60.0], dtype=torch.float64, requires_grad=True)
    LOSSES["focal"].compute(z, torch.tensor([1.0, 0.0], dtype=torch.float64), gamma=0.0).backward()
    assert torch.isfinite(z.grad).all()


# --- make_loss: shapes, dtypes, errors ----------------------------------------------------------

SINGLE_OUTPUT = [s.id for s in LOSSES.values() if s.tasks - {MULTICLASS}]  # one output per sample
MULTI_OUTPUT = [s.id for s in LOSSES.values() if MULTICLASS in s.tasks]


@pytest.mark.parametrize("loss_id", SINGLE_OUTPUT)
def test_make_loss_shapes_and_dtypes(loss_id, gen):
    spec = LOSSES[loss_id]
    n = 16
    if spec.output == "probabilities":
        pred = torch.rand(n, generator=gen, dtype=torch.float64) * 0.9 + 0.05
    else:
        pred = torch.randn(n, generator=gen, dtype=torch.float64)
    if REGRESSION in spec.tasks:
        target = torch.randn(n, generator=gen, dtype=torch.float64)
    else:
        target = (torch.rand(n, generator=gen) > 0.5).double()
    fn = make_loss(loss_id)
    ref = fn(pred, target)
    assert ref.ndim == 0 and ref.dtype == torch.float64
    for p in (pred, pred[:, None]):
        for t in (target, target[:, None]):
            torch.testing.assert_close(fn(p, t), ref)
    for dtype, tol in ((torch.float32, 1e-5), (torch.float16, 5e-3), (torch.bfloat16, 3e-2)):
        got = fn(pred.to(dtype), target.to(dtype))
        assert got.dtype in (dtype, torch.float32)
        assert float(got) == pytest.approx(float(ref), rel=tol, abs=tol)
    if REGRESSION not in spec.tasks:
        # int and bool labels are converted
        torch.testing.assert_close(fn(pred, target.long()), ref)
        torch.testing.assert_close(fn(pred, target.bool()), ref)
        torch.testing.assert_close(fn(pred.float(), target.int()), ref.float())


def test_make_loss_gradient_flows_to_half_precision_input():
    pred = torch.randn(8, dtype=torch.float16, requires_grad=True)
    make_loss("mse")(pred, torch.zeros(8)).backward()
    assert pred.grad is not None and pred.grad.dtype == torch.float16


@pytest.mark.parametrize("loss_id", MULTI_OUTPUT)
def test_make_loss_multiclass_targets(loss_id, gen):
    logits = torch.randn(10, 4, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 4, (10,), generator=gen)
    fn = make_loss(loss_id)
    ref = fn(logits, labels)
    assert ref.ndim == 0
    torch.testing.assert_close(fn(logits, labels[:, None]), ref)
    torch.testing.assert_close(fn(logits, labels.int()), ref)
    torch.testing.assert_close(fn(logits, labels.double()), ref)  # float-coded labels
    assert float(fn(logits.half(), labels)) == pytest.approx(float(ref), rel=5e-3)


def test_make_loss_errors():
    with pytest.raises(LossLabError) as err:
        make_loss("squared_error")
    assert err.value.field == "loss.id"
    with pytest.raises(LossLabError) as err:
        make_loss("huber", beta=1.0)
    assert err.value.field == "loss.params.beta" and "delta" in str(err.value)
    with pytest.raises(LossLabError) as err:
        make_loss("huber", delta=0.0)
    assert err.value.field == "loss.params.delta"
    with pytest.raises(LossLabError) as err:
        make_loss("cross_entropy", label_smoothing=1.0)
    assert err.value.field == "loss.params.label_smoothing"
    with pytest.raises(LossLabError) as err:
        make_loss("focal", gamma=-1.0)
    assert err.value.field == "loss.params.gamma"
    with pytest.raises(LossLabError) as err:
        make_loss("cross_entropy", class_weights=[1.0, 2.0])(torch.zeros(3, 4), torch.tensor([0, 1, 2]))
    assert err.value.field == "loss.params.class_weights"
    with pytest.raises(LossLabError) as err:
        make_loss("focal", alpha=[1.0, 2.0])(torch.zeros(3, 4), torch.tensor([0, 1, 2]))
    assert err.value.field == "loss.params.alpha"
    with pytest.raises(LossLabError) as err:
        make_loss("focal", alpha=[1.0, 2.0, 3.0])(torch.zeros(3), torch.tensor([0.0, 1.0, 1.0]))
    assert err.value.field == "loss.params.alpha"
    with pytest.raises(LossLabError, match="does not match"):
        make_loss("mse")(torch.zeros(4), torch.zeros(5))
    with pytest.raises(LossLabError, match="one score per class"):
        make_loss("cross_entropy")(torch.zeros(4), torch.zeros(4))
    with pytest.raises(LossLabError, match="does not match"):
        make_loss("kl_div")(torch.zeros(4, 3), torch.zeros(4, 2))


# --- pairing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_id", list(LOSSES))
def test_check_pairing(loss_id):
    spec = LOSSES[loss_id]
    for task in TASKS:
        if task in spec.tasks:
            check_pairing(loss_id, task)
            check_pairing(loss_id, task, "Some data")
            continue
        with pytest.raises(LossLabError) as err:
            check_pairing(loss_id, task, "Some data")
        assert err.value.field == "loss.id"
        message = str(err.value)
        assert spec.name in message and "'Some data'" in message
        for fitting in losses_for_task(task):
            assert fitting.name in message
        with pytest.raises(LossLabError):
            check_pairing(loss_id, task)


def test_check_pairing_message():
    with pytest.raises(LossLabError) as err:
        check_pairing("cross_entropy", REGRESSION, "House prices")
    assert str(err.value) == (
        "loss.id: Cross-entropy needs class labels, but 'House prices' is a regression task "
        "(a real-valued target). For regression use: MSE, MAE, Huber, Log-cosh."
    )
    with pytest.raises(LossLabError, match="binary classification"):
        check_pairing("cross_entropy", BINARY)
    with pytest.raises(LossLabError) as err:
        check_pairing("mse", "ranking")
    assert err.value.field == "task"
    with pytest.raises(LossLabError) as err:
        check_pairing("nope", REGRESSION)
    assert err.value.field == "loss.id"


# --- curve --------------------------------------------------------------------------------------

# Every loss on every task it fits with its default parameters, plus other parameters worth a check.
CURVE_CASES = [(s.id, t, {}) for s in LOSSES.values() for t in TASKS if t in s.tasks] + [
    ("huber", REGRESSION, {"delta": 0.4}),
    ("bce_logits", BINARY, {"pos_weight": 2.5}),
    ("hinge", BINARY, {"margin": 0.5}),
    ("squared_hinge", BINARY, {"margin": 2.0}),
    ("dice", BINARY, {"smooth": 0.1}),
    ("iou", BINARY, {"smooth": 0.1}),
    ("focal", BINARY, {"gamma": 0.0}),
    ("focal", BINARY, {"gamma": 1.5, "alpha": [0.3]}),
    ("kl_div", BINARY, {"smoothing": 0.0}),
    ("cross_entropy", MULTICLASS, {"label_smoothing": 0.2}),
    ("cross_entropy", MULTICLASS, {"label_smoothing": 0.1, "class_weights": [0.5, 2.0, 1.0]}),
    ("multi_hinge", MULTICLASS, {"margin": 0.5}),
    ("focal", MULTICLASS, {"gamma": 0.5, "alpha": [1.0, 3.0, 0.5]}),
    ("kl_div", MULTICLASS, {"smoothing": 0.3}),
]


def _xs(spec: LossSpec, task: str, target: float) -> np.ndarray:
    if spec.output == "probabilities":
        return np.linspace(0.01, 0.99, 200)
    x = np.linspace(-4.0, 4.0, 200) + 0.0137  # off the grid's exact zero
    return x + target if task == REGRESSION else x


def _targets(task: str) -> tuple[float, ...]:
    return {REGRESSION: (0.5, -2.0), BINARY: (0.0, 1.0), MULTICLASS: (0, 2), GAN: (0.0, 1.0)}[task]


def _single_sample(loss_id: str, task: str, x: float, target: float, params: dict) -> float:
    fn = make_loss(loss_id, **params)
    if task == MULTICLASS:
        logits = torch.zeros(1, CURVE_CLASSES, dtype=torch.float64)
        logits[0, int(target)] = x
        return float(fn(logits, torch.tensor([int(target)])))
    return float(fn(t64(x), t64(target)))


@pytest.mark.parametrize(("loss_id", "task", "params"), CURVE_CASES)
def test_curve_matches_make_loss_on_single_samples(loss_id, task, params):
    spec = LOSSES[loss_id]
    for target in _targets(task):
        x = _xs(spec, task, target)
        values, _ = curve(loss_id, x, target, task=task, **params)
        assert values.shape == x.shape and values.dtype == np.float64
        expected = [_single_sample(loss_id, task, xi, target, params) for xi in x]
        np.testing.assert_allclose(values, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("loss_id", "task", "params"), CURVE_CASES)
def test_curve_derivative_matches_finite_differences(loss_id, task, params):
    spec = LOSSES[loss_id]
    h = 1e-6
    for target in _targets(task):
        x = _xs(spec, task, target)
        values, slope = curve(loss_id, x, target, task=task, **params)
        assert np.isfinite(values).all() and np.isfinite(slope).all()
        hi, _ = curve(loss_id, x + h, target, task=task, **params)
        lo, _ = curve(loss_id, x - h, target, task=task, **params)
        fd = (hi - lo) / (2 * h)
        away = np.ones_like(x, dtype=bool)
        for kink in kinks(loss_id, target, task=task, **params):
            away &= np.abs(x - kink) > 1e-3
        np.testing.assert_allclose(slope[away], fd[away], rtol=1e-5, atol=1e-6)


def test_kinks_match_nondifferentiable_at():
    # nondifferentiable_at is in residual/margin units for default params; kinks() in curve's x.
    assert kinks("mae", 3.0) == (3.0,) and LOSSES["mae"].nondifferentiable_at == (0.0,)
    assert kinks("hinge", 1.0) == (1.0,) and kinks("hinge", 0.0) == (-1.0,)
    assert kinks("hinge", 1.0, margin=0.5) == (0.5,)
    assert kinks("multi_hinge", 0, margin=2.0) == (2.0,)
    for spec in LOSSES.values():
        if spec.differentiable:
            assert kinks(spec.id, 1.0) == ()
    # The curve really has a slope jump there.
    _, slope = curve("hinge", np.array([0.999, 1.001]), 1.0)
    assert slope.tolist() == [-1.0, 0.0]


def test_curve_errors_and_defaults():
    with pytest.raises(LossLabError) as err:
        curve("cross_entropy", np.zeros(3), 0.0, task=REGRESSION)
    assert err.value.field == "loss.id"
    with pytest.raises(LossLabError):
        curve("cross_entropy", np.zeros(3), 5)
    with pytest.raises(LossLabError) as err:
        curve("huber", np.zeros(3), 0.0, width=1.0)
    assert err.value.field == "loss.params.width"
    # focal defaults to its binary curve; the multiclass one differs.
    x = np.array([0.5])
    assert curve("focal", x, 1.0)[0] == pytest.approx(curve("focal", x, 1.0, task=BINARY)[0])
    assert curve("focal", x, 1, task=MULTICLASS)[0] != pytest.approx(curve("focal", x, 1.0)[0])
    # Shape is preserved.
    values, slope = curve("mse", np.zeros((2, 3)), 1.0)
    assert values.shape == slope.shape == (2, 3)


# --- import hygiene -----------------------------------------------------------------------------


def _run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)


def test_no_module_level_torch_import():
    result = _run_python(
        "import losslab.core.losses, sys; assert 'torch' not in sys.modules, 'torch imported'"
    )
    assert result.returncode == 0, result.stderr


def test_losses_module_alone_does_not_import_torch():
    # Same check with the package __init__ files bypassed, so only this module and its own imports count.
    code = (
        "import sys, types\n"
        "for name in ('losslab', 'losslab.core'):\n"
        "    pkg = types.ModuleType(name)\n"
        "    pkg.__path__ = [name.replace('.', '/')]\n"
        "    sys.modules[name] = pkg\n"
        "import losslab.core.losses\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
