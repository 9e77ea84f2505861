"""The loss registry: every loss LossLab can train with, what it fits, and how it is computed.

Each ``LossSpec`` describes one loss for the GUI (name, formula, teaching notes, parameters) and
carries ``per_sample``, the function the trainer calls on its hot path.

Conventions for ``per_sample(pred, target, **params)`` (no validation, no Python loops):

* regression: pred (N,), target (N,) float.
* binary: pred (N,) — a logit ("logits" losses), a raw score ("raw": hinge family) or a
  probability ("probabilities" losses); target (N,) float in {0, 1}. Hinge losses map targets
  ``t > 0`` to +1 and everything else to −1, so {−1, +1} targets work too.
* multiclass: pred (N, K) logits or scores, target (N,) int64.
* kl_div: targets are distributions. Multiclass: target (N,) int64 labels become one-hot, or
  target (N, K) float probabilities are used as given; either is then smoothed,
  q = (1 − ε)·q + ε/K with ε = ``smoothing``. Binary: target (N,) is the probability of class 1
  (hard labels or soft), smoothed as q = (1 − ε)·q + ε/2. The loss is KL(q ‖ model), the model
  being softmax(pred) (multiclass) or sigmoid(pred) (binary, two-class KL).
* focal and kl_div fit binary and multiclass: they dispatch on ``pred.ndim`` (1 → binary).
* gan: pred = discriminator logits (N,), target (N,) float, 1 real / 0 fake; the generator
  losses ignore target.
* dice / iou: pred (N,) probabilities, target (N,) in [0, 1]; the batch is one mask
  (``set_level``): ``compute`` returns 1 − soft Dice (or IoU) over the whole batch. Their
  ``per_sample`` is each sample's own overlap loss, 1 − (2·p·y + s)/(p + y + s) for dice, i.e. the
  set-level loss of a batch holding only that sample. Masks (N, H, W, ...) are also accepted:
  then each sample is its own mask and ``compute`` is the mean of the per-mask losses.

``compute`` is the training loss: the mean of ``per_sample``, except for cross-entropy with class
weights (sum of weighted terms / sum of the weights of the targets' classes, exactly as torch's
``F.cross_entropy``) and the set-level dice / iou.

torch is imported inside functions only, so the window can paint before torch loads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from losslab.core.errors import LossLabError
from losslab.core.params import Param, validate_params
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION, TASKS

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor

PARAMS_FIELD = "loss.params"  # experiment-file field the loss parameters live under
# Roles the pairing advisor suggests a built-in loss in (LossSpec.suggested_as, suggested_loss).
SUGGEST_PLAIN = "plain"  # the usual loss for its task
SUGGEST_ROBUST = "robust"  # a regression loss that limits the pull of outliers
SUGGEST_MARGIN = "margin"  # a classification loss on raw scores that handles 0/1 labels itself
_TASK_ORDER = (REGRESSION, BINARY, MULTICLASS, GAN)
CURVE_CLASSES = 3  # number of classes in the multiclass curve()


@dataclass(frozen=True)
class LossSpec:
    id: str  # stable id used in experiment files
    name: str  # display name
    formula: str  # HTML rich text for a QLabel
    tasks: frozenset[str]  # tasks it fits (losslab.core.tasks)
    target_format: str  # what targets it needs and how LossLab adapts them
    output: str  # "raw", "logits" or "probabilities": what the model's final output must be
    output_activation: str | None  # layer LossLab adds after the final Linear: None, "sigmoid", "softmax"
    params: tuple[Param, ...]
    convex: bool  # convex in the prediction?
    robust_to_outliers: bool
    differentiable: bool  # differentiable everywhere in the prediction?
    notes: str  # teaching notes
    per_sample: Callable[..., Tensor]  # (pred, target, **params) -> (N,)
    # Where the loss has a kink, as a residual (prediction − target; regression) or a margin (signed
    # score / true logit − other logits; classification): a number, or the name of the parameter that
    # sets it (a hinge's margin). kinks() gives them in curve()'s x.
    nondifferentiable_at: tuple[float | str, ...] = ()
    # The parameter, in the x units of the inspector's axis, that sets how wide the axis is drawn
    # (a margin, Huber's δ); None: the loss has no natural width.
    axis_scale: str | None = None
    # Multi-class targets may also be (N, K) distributions, used as given (KL divergence).
    soft_targets: bool = False
    # One more thing to try when training with this loss diverges (trainer.divergence_advice).
    divergence_tip: str | None = None
    # What the pairing advisor may suggest this loss as (SUGGEST_*): the first loss of the registry
    # marked with a role that fits the task is the one suggested (suggested_loss).
    suggested_as: frozenset[str] = frozenset()
    # A per-class parameter that may also be a single number for two classes: the weight of class 1.
    binary_weight: str | None = None
    # GAN: the loss the generator minimises when this one is chosen, when that is not itself
    # (the discriminator's loss, read as the zero-sum game: the generator maximises it).
    gan_generator: str | None = None
    set_level: bool = False  # overlap losses whose batch value is not a mean of per-sample terms
    # (pred, target, **params) -> (N,) weights, or None: compute = sum(per_sample) / sum(weights).
    sample_weight: Callable[..., Tensor | None] | None = None
    # (pred, target, **params) -> scalar for set-level losses.
    set_value: Callable[..., Tensor] | None = None
    # (pred, target, **params) -> the batch mean in one fused torch op, where torch has the loss:
    # training's hot path (a small MLP step is dispatch-bound; this saved 3-5% per step).
    fused_mean: Callable[..., Tensor] | None = None
    # A user's own loss (core/custom_loss.py): its traits (convex, robust, smooth) are unknown, not
    # claimed, and its batch value comes from the user's function (set_value).
    custom: bool = False

    def compute(self, pred: Tensor, target: Tensor, **params: Any) -> Tensor:
        """The training loss of a batch: a scalar."""
        if self.set_value is not None:
            return self.set_value(pred, target, **params)
        if self.fused_mean is not None:
            return self.fused_mean(pred, target, **params)
        values = self.per_sample(pred, target, **params)
        if self.sample_weight is not None:
            weights = self.sample_weight(pred, target, **params)
            if weights is not None:
                return values.sum() / weights.sum()
        return values.mean()


# --- per-sample functions ---------------------------------------------------------------------
# Keyword defaults equal the Param defaults, so spec.compute(pred, target) works without params.


def _mse(pred: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    return F.mse_loss(pred, target, reduction="none")


def _mse_mean(pred: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    return F.mse_loss(pred, target)


def _mae(pred: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    return F.l1_loss(pred, target, reduction="none")


def _huber(pred: Tensor, target: Tensor, delta: float = 1.0) -> Tensor:
    import torch.nn.functional as F

    return F.huber_loss(pred, target, reduction="none", delta=delta)


def _log_cosh(pred: Tensor, target: Tensor) -> Tensor:
    import math

    import torch.nn.functional as F

    # log cosh r = r + log(1 + e^(−2r)) − log 2; cosh itself overflows for |r| > ~710 in float64.
    r = pred - target
    return r + F.softplus(-2.0 * r) - math.log(2.0)


def _bce(pred: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    # torch clamps each log at −100, so p = 0 or 1 gives a finite loss (and exactly 0 when right).
    return F.binary_cross_entropy(pred, target, reduction="none")


def _bce_logits(pred: Tensor, target: Tensor, pos_weight: float = 1.0) -> Tensor:
    import torch
    import torch.nn.functional as F

    if pos_weight == 1.0:
        return F.binary_cross_entropy_with_logits(pred, target, reduction="none")
    weight = torch.tensor(pos_weight, dtype=pred.dtype, device=pred.device)
    return F.binary_cross_entropy_with_logits(pred, target, reduction="none", pos_weight=weight)


def _bce_logits_mean(pred: Tensor, target: Tensor, pos_weight: float = 1.0) -> Tensor:
    import torch.nn.functional as F

    if pos_weight == 1.0:
        return F.binary_cross_entropy_with_logits(pred, target)
    return _bce_logits(pred, target, pos_weight).mean()


def _class_weight_tensor(weights: Any, like: Tensor) -> Tensor:
    import torch

    return torch.as_tensor(weights, dtype=like.dtype, device=like.device)


def _cross_entropy(
    pred: Tensor, target: Tensor, label_smoothing: float = 0.0, class_weights: Any = None
) -> Tensor:
    import torch.nn.functional as F

    weight = None if class_weights is None else _class_weight_tensor(class_weights, pred)
    return F.cross_entropy(pred, target, weight=weight, reduction="none", label_smoothing=label_smoothing)


def _cross_entropy_mean(
    pred: Tensor, target: Tensor, label_smoothing: float = 0.0, class_weights: Any = None
) -> Tensor:
    import torch.nn.functional as F

    # With class weights torch's mean is the weighted mean, as compute() defines it.
    weight = None if class_weights is None else _class_weight_tensor(class_weights, pred)
    return F.cross_entropy(pred, target, weight=weight, label_smoothing=label_smoothing)


def _cross_entropy_weights(
    pred: Tensor, target: Tensor, label_smoothing: float = 0.0, class_weights: Any = None
) -> Tensor | None:
    if class_weights is None:
        return None
    # torch's weighted mean divides by the summed weights of the targets' classes.
    return _class_weight_tensor(class_weights, pred)[target]


def _focal_weight(one_minus_pt: Tensor, gamma: float) -> Tensor:
    """(1 − p_t)^γ with 1 − p_t kept above the smallest normal float: for γ < 1 the power's slope is
    infinite at 0, and 0 · ∞ made the gradient NaN for a sample the network already classifies right."""
    import torch

    return one_minus_pt.clamp_min(torch.finfo(one_minus_pt.dtype).tiny).pow(gamma)


def _focal(pred: Tensor, target: Tensor, gamma: float = 2.0, alpha: Any = None) -> Tensor:
    import torch
    import torch.nn.functional as F

    if pred.ndim == 1:  # binary: one logit per sample
        ce = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
        # p_t = exp(−ce); 1 − p_t via expm1 keeps precision for well-classified samples.
        loss = _focal_weight(-torch.expm1(-ce), gamma) * ce
        if alpha is not None:
            a = _class_weight_tensor(alpha, pred)
            w0, w1 = (1.0 - a[0], a[0]) if a.numel() == 1 else (a[0], a[1])
            loss = loss * (w0 + (w1 - w0) * target)  # α for class 1, 1 − α (or w0) for class 0
        return loss
    log_pt = F.log_softmax(pred, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    loss = _focal_weight(-torch.expm1(log_pt), gamma) * -log_pt
    if alpha is not None:
        loss = loss * _class_weight_tensor(alpha, pred)[target]
    return loss


def _kl_div(pred: Tensor, target: Tensor, smoothing: float = 0.1) -> Tensor:
    import torch
    import torch.nn.functional as F

    if pred.ndim == 1:  # binary: two-class KL between q = P(y=1) and sigmoid(logit)
        q = target * (1.0 - smoothing) + smoothing / 2.0
        q0 = 1.0 - q
        return torch.xlogy(q, q) + torch.xlogy(q0, q0) - q * F.logsigmoid(pred) - q0 * F.logsigmoid(-pred)
    k = pred.shape[1]
    if target.ndim == 1:
        q = F.one_hot(target, k).to(pred.dtype)
    else:
        q = target
    if smoothing:
        q = q * (1.0 - smoothing) + smoothing / k
    # F.kl_div uses xlogy, so classes with q = 0 contribute exactly 0.
    return F.kl_div(F.log_softmax(pred, dim=1), q, reduction="none").sum(1)


def _signs(target: Tensor) -> Tensor:
    # {0, 1} and {−1, +1} labels alike: positive -> +1, else −1.
    return target.gt(0).to(target.dtype) * 2.0 - 1.0


def _hinge(pred: Tensor, target: Tensor, margin: float = 1.0) -> Tensor:
    return (margin - _signs(target) * pred).clamp_min(0.0)


def _squared_hinge(pred: Tensor, target: Tensor, margin: float = 1.0) -> Tensor:
    return (margin - _signs(target) * pred).clamp_min(0.0).square()


def _multi_hinge(pred: Tensor, target: Tensor, margin: float = 1.0) -> Tensor:
    import torch.nn.functional as F

    # Weston–Watkins: (1/K) Σ_{j≠y} max(0, margin − s_y + s_j), as torch's multi_margin_loss (p=1).
    return F.multi_margin_loss(pred, target, margin=margin, reduction="none")


def _overlap_terms(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample Σp·y, Σp, Σy; a (N,) batch has one-element 'masks'."""
    if pred.ndim == 1:
        return pred * target, pred, target
    p = pred.flatten(1)
    y = target.flatten(1)
    return (p * y).sum(1), p.sum(1), y.sum(1)


def _dice(pred: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    inter, p, y = _overlap_terms(pred, target)
    return 1.0 - (2.0 * inter + smooth) / (p + y + smooth)


def _iou(pred: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    inter, p, y = _overlap_terms(pred, target)
    return 1.0 - (inter + smooth) / (p + y - inter + smooth)


def _dice_set(pred: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    if pred.ndim > 1:  # masks: the mean of each mask's own loss
        return _dice(pred, target, smooth).mean()
    inter = (pred * target).sum()
    return 1.0 - (2.0 * inter + smooth) / (pred.sum() + target.sum() + smooth)


def _iou_set(pred: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    if pred.ndim > 1:
        return _iou(pred, target, smooth).mean()
    inter = (pred * target).sum()
    return 1.0 - (inter + smooth) / (pred.sum() + target.sum() - inter + smooth)


def _gan_d(pred: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(pred, target, reduction="none")


def _gan_g_minimax(pred: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    # log(1 − σ(z)) = −softplus(z): flat where D confidently rejects the fake (early training).
    return -F.softplus(pred)


def _gan_g_nonsat(pred: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    # −log σ(z) = softplus(−z): steep exactly where the minimax form is flat.
    return F.softplus(-pred)


# --- parameters -------------------------------------------------------------------------------

_MARGIN = Param(
    "margin",
    "Margin",
    "float",
    1.0,
    minimum=0.0,
    help="How far past the boundary a sample must be before it stops costing anything.",
)
_SMOOTH = Param(
    "smooth",
    "Smoothing",
    "float",
    1.0,
    minimum=1e-6,
    log=True,
    help="Added to numerator and denominator so empty masks give 0, not 0/0.",
)

_Y = "<i>y</i>"
_YHAT = "<i>y&#770;</i>"

# --- the registry -----------------------------------------------------------------------------

_SPECS: tuple[LossSpec, ...] = (
    # Regression
    LossSpec(
        id="mse",
        name="MSE",
        formula=f"L = ({_YHAT} &minus; {_Y})<sup>2</sup>",
        tasks=frozenset({REGRESSION}),
        target_format="real values, used as given",
        output="raw",
        output_activation=None,
        params=(),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="Convex and smooth, with a gradient proportional to the error: a far-off outlier pulls "
        "hardest of all, so a few bad targets can dominate training. Its minimiser is the mean.",
        per_sample=_mse,
        fused_mean=_mse_mean,
        divergence_tip="use a loss less sensitive to outliers (Huber or MAE)",
        suggested_as=frozenset({SUGGEST_PLAIN}),
    ),
    LossSpec(
        id="mae",
        name="MAE",
        formula=f"L = |{_YHAT} &minus; {_Y}|",
        tasks=frozenset({REGRESSION}),
        target_format="real values, used as given",
        output="raw",
        output_activation=None,
        params=(),
        convex=True,
        robust_to_outliers=True,
        differentiable=False,
        notes="Convex, and every error pulls with the same force (±1), so outliers cannot dominate; "
        "its minimiser is the median. The kink at zero makes the gradient jump and can make the "
        "last steps of training jitter.",
        per_sample=_mae,
        nondifferentiable_at=(0.0,),
    ),
    LossSpec(
        id="huber",
        name="Huber",
        formula=f"L = &frac12;<i>r</i><sup>2</sup> if |<i>r</i>| &le; &delta;, else "
        f"&delta;(|<i>r</i>| &minus; &frac12;&delta;), &nbsp; <i>r</i> = {_YHAT} &minus; {_Y}",
        tasks=frozenset({REGRESSION}),
        target_format="real values, used as given",
        output="raw",
        output_activation=None,
        params=(
            Param(
                "delta",
                "δ",
                "float",
                1.0,
                minimum=1e-6,
                log=True,
                help="Errors smaller than δ are squared, larger ones count linearly.",
            ),
        ),
        convex=True,
        robust_to_outliers=True,
        differentiable=True,
        notes="Quadratic for small errors and linear beyond δ: smooth near the optimum like MSE, "
        "but an outlier's pull is capped at δ like MAE.",
        per_sample=_huber,
        axis_scale="delta",
        suggested_as=frozenset({SUGGEST_ROBUST}),
    ),
    LossSpec(
        id="log_cosh",
        name="Log-cosh",
        formula=f"L = log cosh({_YHAT} &minus; {_Y})",
        tasks=frozenset({REGRESSION}),
        target_format="real values, used as given",
        output="raw",
        output_activation=None,
        params=(),
        convex=True,
        robust_to_outliers=True,
        differentiable=True,
        notes="Behaves like ½r² near zero and like |r| − log 2 far away, so it is a Huber loss "
        "with no kink in its second derivative; its gradient tanh(r) never exceeds 1.",
        per_sample=_log_cosh,
    ),
    # Binary classification
    LossSpec(
        id="bce",
        name="BCE",
        formula=f"L = &minus;[{_Y} log <i>p</i> + (1 &minus; {_Y}) log(1 &minus; <i>p</i>)]",
        tasks=frozenset({BINARY}),
        target_format="labels {0, 1} (soft labels in [0, 1] also work)",
        output="probabilities",
        output_activation="sigmoid",
        params=(),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="Convex in the probability and unbounded as a confident prediction turns out wrong, so "
        "mislabelled samples weigh heavily. Computed on probabilities each log is clamped at "
        "−100; the logits form is the numerically safer twin.",
        per_sample=_bce,
    ),
    LossSpec(
        id="bce_logits",
        name="BCE with logits",
        formula=f"L = &minus;[<i>w</i>{_Y} log &sigma;(<i>z</i>) + (1 &minus; {_Y}) "
        "log(1 &minus; &sigma;(<i>z</i>))]",
        tasks=frozenset({BINARY}),
        target_format="labels {0, 1} (soft labels in [0, 1] also work)",
        output="logits",
        output_activation=None,
        params=(
            Param(
                "pos_weight",
                "Positive weight",
                "float",
                1.0,
                minimum=0.0,
                help="Multiplies the loss of class-1 samples; > 1 favours recall on rare positives.",
            ),
        ),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="The same loss as BCE, computed from the logit in one stable step. The gradient with "
        "respect to the logit is simply σ(z) − y, so it never vanishes on a wrong prediction and "
        "grows only linearly for confident mistakes.",
        per_sample=_bce_logits,
        fused_mean=_bce_logits_mean,
        suggested_as=frozenset({SUGGEST_PLAIN}),
    ),
    LossSpec(
        id="hinge",
        name="Hinge",
        formula="L = max(0, <i>m</i> &minus; <i>t</i>&middot;<i>s</i>), &nbsp; "
        f"<i>t</i> = 2{_Y} &minus; 1 &isin; {{&minus;1, +1}}",
        tasks=frozenset({BINARY}),
        target_format="labels {0, 1}, mapped to {−1, +1} (labels already in {−1, +1} also work)",
        output="raw",
        output_activation=None,
        params=(_MARGIN,),
        convex=True,
        robust_to_outliers=False,
        differentiable=False,
        notes="The SVM loss: exactly zero once a sample is on the right side by the margin, so "
        "well-classified samples stop contributing. Convex but kinked at the margin; wrong "
        "samples cost linearly, which tempers but does not remove the pull of outliers.",
        per_sample=_hinge,
        nondifferentiable_at=("margin",),
        axis_scale="margin",
        suggested_as=frozenset({SUGGEST_MARGIN}),
    ),
    LossSpec(
        id="squared_hinge",
        name="Squared hinge",
        formula="L = max(0, <i>m</i> &minus; <i>t</i>&middot;<i>s</i>)<sup>2</sup>, &nbsp; "
        f"<i>t</i> = 2{_Y} &minus; 1",
        tasks=frozenset({BINARY}),
        target_format="labels {0, 1}, mapped to {−1, +1} (labels already in {−1, +1} also work)",
        output="raw",
        output_activation=None,
        params=(_MARGIN,),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="Squaring the hinge removes its kink (the gradient goes smoothly to zero at the "
        "margin) but makes badly wrong samples cost quadratically, like MSE.",
        per_sample=_squared_hinge,
        axis_scale="margin",
    ),
    LossSpec(
        id="dice",
        name="Dice",
        formula="L = 1 &minus; (2&sum;<i>p</i><i>y</i> + <i>s</i>) / "
        "(&sum;<i>p</i> + &sum;<i>y</i> + <i>s</i>)",
        tasks=frozenset({BINARY}),
        target_format="labels {0, 1} (or soft masks); the whole batch is scored as one mask",
        output="probabilities",
        output_activation="sigmoid",
        params=(_SMOOTH,),
        convex=False,
        robust_to_outliers=True,
        differentiable=True,
        notes="Scores the overlap of predicted and true positives over the whole batch, so it "
        "ignores how many negatives there are — useful when positives are rare. Bounded in "
        "[0, 1], so no single sample can dominate; the per-sample view shows each sample scored "
        "alone.",
        per_sample=_dice,
        set_level=True,
        set_value=_dice_set,
    ),
    LossSpec(
        id="iou",
        name="IoU (Jaccard)",
        formula="L = 1 &minus; (&sum;<i>p</i><i>y</i> + <i>s</i>) / "
        "(&sum;<i>p</i> + &sum;<i>y</i> &minus; &sum;<i>p</i><i>y</i> + <i>s</i>)",
        tasks=frozenset({BINARY}),
        target_format="labels {0, 1} (or soft masks); the whole batch is scored as one mask",
        output="probabilities",
        output_activation="sigmoid",
        params=(_SMOOTH,),
        convex=False,
        robust_to_outliers=True,
        differentiable=True,
        notes="Soft intersection over union of the batch; like Dice it ignores true negatives and "
        "is bounded in [0, 1], but it penalises a partial overlap more than Dice does.",
        per_sample=_iou,
        set_level=True,
        set_value=_iou_set,
    ),
    # Multi-class classification (focal and KL also fit binary)
    LossSpec(
        id="cross_entropy",
        name="Cross-entropy",
        formula="L = &minus;&sum;<sub><i>k</i></sub> <i>w</i><sub><i>k</i></sub><i>q</i><sub><i>k</i></sub> "
        "log softmax(<i>z</i>)<sub><i>k</i></sub>, &nbsp; <i>q</i> = (1 &minus; &epsilon;)&middot;"
        f"onehot({_Y}) + &epsilon;/<i>K</i>",
        tasks=frozenset({MULTICLASS}),
        target_format="integer class labels 0 … K−1",
        output="logits",
        output_activation=None,
        params=(
            Param(
                "label_smoothing",
                "Label smoothing ε",
                "float",
                0.0,
                minimum=0.0,
                maximum=0.99,
                help="Moves ε of the target probability from the true class to all classes evenly.",
            ),
            Param(
                "class_weights",
                "Class weights",
                "floats",
                None,
                minimum=0.0,
                help="One weight per class; the batch loss is the weighted mean.",
            ),
        ),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="Convex in the logits; the gradient is softmax(z) − q, so confident mistakes push "
        "hard and mislabelled samples are never ignored. Label smoothing stops the logits from "
        "growing forever on separable data.",
        per_sample=_cross_entropy,
        fused_mean=_cross_entropy_mean,
        sample_weight=_cross_entropy_weights,
        suggested_as=frozenset({SUGGEST_PLAIN}),
    ),
    LossSpec(
        id="multi_hinge",
        name="Multi-class hinge",
        formula="L = (1/<i>K</i>) &sum;<sub><i>j</i>&ne;<i>y</i></sub> max(0, <i>m</i> &minus; "
        "<i>s</i><sub><i>y</i></sub> + <i>s</i><sub><i>j</i></sub>)",
        tasks=frozenset({MULTICLASS}),
        target_format="integer class labels 0 … K−1",
        output="raw",
        output_activation=None,
        params=(_MARGIN,),
        convex=True,
        robust_to_outliers=False,
        differentiable=False,
        notes="Weston–Watkins multi-class SVM loss (torch's multi_margin_loss): every wrong class "
        "scoring within the margin of the true one costs linearly, and a sample costs nothing "
        "once all are beaten by the margin.",
        per_sample=_multi_hinge,
        nondifferentiable_at=("margin",),
        axis_scale="margin",
    ),
    LossSpec(
        id="focal",
        name="Focal",
        formula="L = &minus;&alpha;<sub><i>t</i></sub>(1 &minus; <i>p</i><sub><i>t</i></sub>)"
        "<sup>&gamma;</sup> log <i>p</i><sub><i>t</i></sub>",
        tasks=frozenset({BINARY, MULTICLASS}),
        target_format="labels {0, 1} (binary) or integer class labels 0 … K−1",
        output="logits",
        output_activation=None,
        params=(
            Param(
                "gamma",
                "Focus γ",
                "float",
                2.0,
                minimum=0.0,
                help="0 gives plain cross-entropy; larger values ignore easy samples more.",
            ),
            Param(
                "alpha",
                "Class weights α",
                "floats",
                None,
                minimum=0.0,
                help="Binary: one value α for class 1 (class 0 gets 1 − α) or two weights "
                "[class 0, class 1]; multi-class: one weight per class.",
            ),
        ),
        convex=False,
        robust_to_outliers=False,
        differentiable=True,
        notes="Cross-entropy scaled by (1 − p_t)^γ: samples the model already gets right fade out, "
        "so training concentrates on hard ones. Not convex for γ > 0, and because hard includes "
        "mislabelled, it is no defence against label noise.",
        per_sample=_focal,
        binary_weight="alpha",
    ),
    LossSpec(
        id="kl_div",
        name="KL divergence",
        formula="L = &sum;<sub><i>k</i></sub> <i>q</i><sub><i>k</i></sub> log(<i>q</i><sub><i>k</i></sub> "
        "/ <i>p</i><sub><i>k</i></sub>), &nbsp; <i>q</i> = (1 &minus; &epsilon;)&middot;target + "
        "&epsilon;/<i>K</i>",
        tasks=frozenset({BINARY, MULTICLASS}),
        target_format="a target distribution: labels {0, 1} or probabilities of class 1 (binary); "
        "integer labels (one-hot) or (N, K) probabilities (multi-class); smoothed by ε",
        output="logits",
        output_activation=None,
        params=(
            Param(
                "smoothing",
                "Target smoothing ε",
                "float",
                0.1,
                minimum=0.0,
                maximum=0.99,
                help="Mixes the target distribution with the uniform one.",
            ),
        ),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="Cross-entropy minus the target's own entropy: the same gradient softmax(z) − q, "
        "but the loss reaches exactly 0 when the model matches the target distribution. With hard "
        "labels and ε = 0 it equals cross-entropy.",
        per_sample=_kl_div,
        soft_targets=True,
    ),
    # GAN
    LossSpec(
        id="gan_d",
        name="GAN discriminator",
        formula="L<sub><i>D</i></sub> = &minus;[<i>y</i> log <i>D</i>(<i>x</i>) + (1 &minus; <i>y</i>) "
        "log(1 &minus; <i>D</i>(<i>x</i>))], &nbsp; <i>D</i> = &sigma;(logit)",
        tasks=frozenset({GAN}),
        target_format="1 for real samples, 0 for generated ones (LossLab labels them itself)",
        output="logits",
        output_activation=None,
        params=(),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="Binary cross-entropy on the discriminator's logit: it learns to tell real from "
        "fake. Convex in the logit, but the game with the generator is not a plain minimisation.",
        per_sample=_gan_d,
        gan_generator="gan_g_minimax",
    ),
    LossSpec(
        id="gan_g_minimax",
        name="GAN generator (minimax)",
        formula="L<sub><i>G</i></sub> = log(1 &minus; <i>D</i>(<i>G</i>(<i>z</i>)))",
        tasks=frozenset({GAN}),
        target_format="none (the discriminator's verdict on generated samples)",
        output="logits",
        output_activation=None,
        params=(),
        convex=False,
        robust_to_outliers=False,
        differentiable=True,
        notes="The original minimax objective. Concave in the logit and nearly flat when the "
        "discriminator confidently rejects the fakes — exactly early in training — so the "
        "generator's gradient vanishes (saturates).",
        per_sample=_gan_g_minimax,
    ),
    LossSpec(
        id="gan_g_nonsat",
        name="GAN generator (non-saturating)",
        formula="L<sub><i>G</i></sub> = &minus;log <i>D</i>(<i>G</i>(<i>z</i>))",
        tasks=frozenset({GAN}),
        target_format="none (the discriminator's verdict on generated samples)",
        output="logits",
        output_activation=None,
        params=(),
        convex=True,
        robust_to_outliers=False,
        differentiable=True,
        notes="Same fixed point as the minimax loss but steep where that one is flat: a rejected "
        "fake gives a gradient near −1 in the logit, so the generator learns from the start.",
        per_sample=_gan_g_nonsat,
    ),
)

LOSSES: dict[str, LossSpec] = {spec.id: spec for spec in _SPECS}


# --- lookup and pairing -----------------------------------------------------------------------


def get_loss(loss_id: object) -> LossSpec:
    """The built-in loss ``loss_id`` (any value read from a file: anything else raises LossLabError)."""
    spec = LOSSES.get(loss_id) if isinstance(loss_id, str) else None
    if spec is None:
        raise LossLabError(f"unknown loss {loss_id!r}; known: {', '.join(LOSSES)}", "loss.id")
    return spec


# Losses that are not entries of this registry plug in here by the id of their experiment section:
# a user's own loss (custom_loss.py registers itself when imported, as experiment.py does).
SectionResolver = Callable[[Mapping[str, Any], str | None], LossSpec]
_SECTION_KINDS: dict[str, SectionResolver] = {}


def register_loss_kind(loss_id: str, resolver: SectionResolver) -> None:
    """Let ``resolve_loss`` turn loss sections with id ``loss_id`` into specs: ``resolver(section, task)``."""
    _SECTION_KINDS[loss_id] = resolver


def resolve_loss(loss: LossSpec | str | Mapping[str, Any], task: str | None = None) -> LossSpec:
    """THE way to a LossSpec: from a spec, a built-in id, or an experiment's loss section (custom
    losses included; ``task`` picks what a custom loss is built for among the tasks it declares).

    A custom loss's code is not run here; it is compiled on the first call of its functions.
    """
    if isinstance(loss, LossSpec):
        return loss
    if isinstance(loss, Mapping):
        loss_id = loss.get("id")
        kind = _SECTION_KINDS.get(loss_id) if isinstance(loss_id, str) else None
        if kind is not None:
            return kind(loss, task)
        return get_loss(loss_id)
    return get_loss(loss)


def suggested_loss(task: str, role: str = SUGGEST_PLAIN) -> LossSpec:
    """The built-in loss the advisor suggests for ``task`` in ``role`` (SUGGEST_*): the first marked
    with it that fits, else the first loss for the task."""
    fitting = losses_for_task(task)
    return next((s for s in fitting if role in s.suggested_as), fitting[0])


def losses_for_task(task: str) -> list[LossSpec]:
    return [spec for spec in LOSSES.values() if task in spec.tasks]


_NEEDS = {
    REGRESSION: "a real-valued target",
    BINARY: "two-class labels (0/1)",
    MULTICLASS: "class labels",
    GAN: "a generator and a discriminator (GAN training)",
}
_FOR_TASK = {
    REGRESSION: "regression",
    BINARY: "binary classification",
    MULTICLASS: "multi-class classification",
    GAN: "GAN training",
}
_TASK_DETAIL = {
    REGRESSION: "a regression task (a real-valued target)",
    BINARY: "a binary classification task (one output, labels 0/1)",
    MULTICLASS: "a multi-class classification task (one output per class, integer labels)",
    GAN: "a generative (GAN) task (no targets: a generator learns to imitate the data)",
}


def check_pairing(loss_id: LossSpec | str, task: str, dataset: str | None = None) -> None:
    """Raise LossLabError (field ``loss.id``) saying why ``loss_id`` does not fit ``task`` and what does."""
    spec = resolve_loss(loss_id)
    if task not in TASKS:
        raise LossLabError(f"unknown task {task!r}; known: {', '.join(TASKS)}", "task")
    if task in spec.tasks:
        return
    needs = " or ".join(_NEEDS[t] for t in _TASK_ORDER if t in spec.tasks)
    subject = f"{dataset!r}" if dataset else "this"
    fitting = ", ".join(s.name for s in losses_for_task(task))
    if spec.custom:
        raise LossLabError(
            f"your loss {spec.name!r} is declared for {needs}, but {subject} is {_TASK_DETAIL[task]}. "
            f"Tick {_FOR_TASK[task]} in its editor if the code handles it, or use: {fitting}.",
            "loss.tasks",
        )
    raise LossLabError(
        f"{spec.name} needs {needs}, but {subject} is {_TASK_DETAIL[task]}. "
        f"For {_FOR_TASK[task]} use: {fitting}.",
        "loss.id",
    )


# --- the public callable ----------------------------------------------------------------------


def make_loss(
    loss_id: LossSpec | str | Mapping[str, Any], **params: Any
) -> Callable[[Tensor, Tensor], Tensor]:
    """Return ``(pred, target) -> scalar`` for ``loss_id`` with validated ``params``.

    ``loss_id`` is a built-in id, a LossSpec, or a loss section such as an experiment's
    ``{"id": "custom", "code": "def loss(pred, target): ..."}``.
    Accepts any float dtype (float16/bfloat16 are computed in float32), (N,) and (N, 1) alike for
    single-output tasks, and int/bool/float targets, converted as the loss needs.
    """
    spec = resolve_loss(loss_id)
    values = validate_params(spec.params, params, PARAMS_FIELD)
    multiclass_only = spec.tasks == {MULTICLASS}
    may_be_multiclass = MULTICLASS in spec.tasks

    def loss(pred: Tensor, target: Tensor) -> Tensor:
        import torch

        try:
            pred = torch.as_tensor(pred)
            target = torch.as_tensor(target, device=pred.device)
        except (TypeError, ValueError, RuntimeError):  # None, text, ragged lists
            raise LossLabError(
                f"pred and target must be tensors (or lists of numbers), got {type(pred).__name__} "
                f"and {type(target).__name__}"
            ) from None
        if not pred.is_floating_point():
            pred = pred.to(torch.get_default_dtype())
        elif pred.dtype in (torch.float16, torch.bfloat16):
            pred = pred.float()  # half precision loses too much in log/exp
        multiclass = multiclass_only or (may_be_multiclass and pred.ndim == 2 and pred.shape[1] > 1)
        if multiclass:
            pred, target = _prepare_multiclass(pred, target, spec)
            check_class_lists(spec, values, pred.shape[1])
        else:
            pred, target = _prepare_single(pred, target)
            if may_be_multiclass:
                check_class_lists(spec, values, 2)
        _check_values(spec, pred, target)
        try:
            return spec.compute(pred, target, **values)
        except (RuntimeError, IndexError, ValueError) as exc:  # torch's own complaint, in our words
            raise LossLabError(
                f"{spec.name} could not be computed on these tensors ({str(exc).splitlines()[0]}); "
                f"it expects: {spec.target_format}"
            ) from None

    loss.__name__ = f"loss_{spec.id}"
    return loss


def _squeeze_column(t: Tensor) -> Tensor:
    return t[:, 0] if t.ndim == 2 and t.shape[1] == 1 else t


def _prepare_single(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    pred = _squeeze_column(pred)
    target = _squeeze_column(target).to(pred.dtype)
    if pred.shape != target.shape:
        raise LossLabError(
            f"prediction shape {tuple(pred.shape)} does not match target shape {tuple(target.shape)}"
        )
    return pred, target


def _prepare_multiclass(pred: Tensor, target: Tensor, spec: LossSpec) -> tuple[Tensor, Tensor]:
    if pred.ndim != 2:
        raise LossLabError(f"{spec.name} needs one score per class, shape (N, K); got {tuple(pred.shape)}")
    target = _squeeze_column(target)
    if spec.soft_targets and target.ndim == 2:
        target = target.to(pred.dtype)  # soft targets: a distribution per sample
        if target.shape != pred.shape:
            raise LossLabError(
                f"target distribution shape {tuple(target.shape)} does not match prediction "
                f"shape {tuple(pred.shape)}"
            )
        return pred, target
    if target.ndim != 1 or target.shape[0] != pred.shape[0]:
        raise LossLabError(
            f"{spec.name} needs one class label per sample, shape ({pred.shape[0]},); "
            f"got {tuple(target.shape)}"
        )
    import torch

    return pred, target.to(torch.int64)


def _check_values(spec: LossSpec, pred: Tensor, target: Tensor) -> None:
    """Values the loss is undefined for, named before torch fails on them with an index error."""
    if spec.output == "probabilities" and pred.numel() and (pred.min() < 0 or pred.max() > 1):
        raise LossLabError(
            f"{spec.name} takes probabilities in [0, 1], got predictions from {pred.min().item():.4g} "
            f"to {pred.max().item():.4g}; pass raw scores to a logits loss (such as BCE with logits) "
            "or squash them with a sigmoid/softmax first"
        )
    if target.dtype.is_floating_point or not target.numel() or pred.ndim != 2:
        return
    classes = pred.shape[1]
    low, high = int(target.min()), int(target.max())
    if low < 0 or high >= classes:
        bad = low if low < 0 else high
        raise LossLabError(
            f"{spec.name}: class label {bad} is out of range for {classes} classes "
            f"(labels must be 0 to {classes - 1})"
        )


def check_class_lists(spec: LossSpec, values: dict[str, Any], classes: int) -> None:
    """Per-class lists (the spec's "floats" parameters) must have one entry per class; for two classes
    the spec's ``binary_weight`` parameter may also be one number (focal's α of class 1)."""
    for name in (p.name for p in spec.params if p.kind == "floats"):
        weights = values.get(name)
        if weights is None:
            continue
        allowed = (1, 2) if name == spec.binary_weight and classes == 2 else (classes,)
        if len(weights) not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise LossLabError(
                f"needs {want} value(s) for {classes} classes, got {len(weights)}", f"{PARAMS_FIELD}.{name}"
            )


# --- inspector support ------------------------------------------------------------------------


def primary_task(spec: LossSpec) -> str:
    """The task curve() uses by default: the first of regression, binary, multiclass, gan it fits."""
    return next(t for t in _TASK_ORDER if t in spec.tasks)


def curve(
    loss_id: LossSpec | str,
    x: np.ndarray,
    target: float,
    task: str | None = None,
    classes: int = CURVE_CLASSES,
    **params: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """The loss of a single sample and its derivative d loss / d prediction along ``x``.

    x is: regression — the prediction (residual = x − target); binary — the model output in its
    own space (a probability in (0, 1) for "probabilities" losses, a logit or score otherwise) for
    a label ``target`` (0 or 1; a probability for kl_div); multiclass — the logit of the true class
    ``int(target)`` with the other logits at 0 and K = ``classes`` (for a loss on probabilities:
    the true class's probability, the others sharing the rest); gan — the discriminator logit
    (target 1 real, 0 fake). ``task`` picks binary or multiclass for losses fitting both.
    Each value equals ``make_loss(loss_id, **params)`` on that one sample.
    """
    import numpy as np
    import torch

    spec = resolve_loss(loss_id)
    task = task or primary_task(spec)
    check_pairing(spec, task)
    values = validate_params(spec.params, params, PARAMS_FIELD)
    xs = torch.tensor(np.asarray(x, dtype=np.float64).ravel(), requires_grad=True)
    n = xs.shape[0]
    if task == MULTICLASS:
        cls = int(target)
        if classes < 2 or not 0 <= cls < classes:
            raise LossLabError(f"the true class must be 0 … {classes - 1}, got {target!r}")
        check_class_lists(spec, values, classes)
        onehot = torch.zeros(classes, dtype=torch.float64)
        onehot[cls] = 1.0
        if spec.output == "probabilities":  # the true class gets x, the others share 1 − x
            rest = ((1.0 - xs) / (classes - 1))[:, None]
            pred = rest + (xs[:, None] - rest) * onehot
        else:
            pred = torch.zeros(n, classes, dtype=torch.float64) + xs[:, None] * onehot
        targets = torch.full((n,), cls, dtype=torch.int64)
    else:
        if MULTICLASS in spec.tasks:
            check_class_lists(spec, values, 2)
        pred = xs
        targets = torch.full((n,), float(target), dtype=torch.float64)
    loss = spec.per_sample(pred, targets, **values)
    if spec.sample_weight is not None:
        weights = spec.sample_weight(pred, targets, **values)
        if weights is not None:
            loss = loss / weights  # a lone sample's weighted mean is its unweighted loss
    (grad,) = torch.autograd.grad(loss.sum(), xs)
    shape = np.shape(x)
    return loss.detach().numpy().reshape(shape), grad.numpy().reshape(shape)


def kinks(
    loss_id: LossSpec | str, target: float, task: str | None = None, **params: Any
) -> tuple[float, ...]:
    """Where curve(loss_id, x, target, task, **params) has a kink, in x (none known for custom losses):
    the spec's ``nondifferentiable_at``, moved from residual or margin units to curve()'s x."""
    spec = resolve_loss(loss_id)
    if spec.custom:
        return ()
    values = validate_params(spec.params, params, PARAMS_FIELD)
    task = task or primary_task(spec)
    found = []
    for at in spec.nondifferentiable_at:
        where = float(values[at]) if isinstance(at, str) else at
        if task == REGRESSION:
            found.append(float(target) + where)  # the prediction where the residual is ``where``
        elif task == BINARY:
            found.append(where if target > 0 else -where)  # the score whose signed margin is ``where``
        else:
            found.append(where)  # true logit − the other logits (all 0)
    return tuple(found)
