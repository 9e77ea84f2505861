"""What the loss inspector draws: a loss against the prediction for fixed targets, its slope, its kinks,
whether it is convex, and where real samples sit on those curves.

The x axis depends on the task and on what the model outputs (the loss's ``output``):

==================  =============================================================================
regression          the residual r = ŷ − y (for a target y the user picks)
binary              the output itself: a probability, a logit or a raw score; curves for y = 1 and y = 0
multi-class         the true class's logit minus the log-mean-exp of the others (raw scores: minus the
                    others' mean; probabilities: the true class's probability); others held level
gan                 the discriminator's logit; curves for real (y = 1) and generated (y = 0) samples
==================  =============================================================================

With those axes a sample's (position, loss) lies exactly on the curve for the plain losses (MSE, BCE,
cross-entropy, focal, hinge …): the multi-class position is chosen so that cross-entropy depends on
nothing else. Every curve value equals ``make_loss`` on that one sample (losses.curve).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from losslab.core.losses import CURVE_CLASSES, LossSpec, curve, kinks, primary_task
from losslab.core.params import validate_params
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION

POINTS = 200
RESIDUAL, PROBABILITY, LOGIT, SCORE = "residual", "probability", "logit", "score"
TRUE_LOGIT, TRUE_SCORE, TRUE_PROBABILITY = "true_logit", "true_score", "true_probability"
P_EDGE = 1e-3  # probabilities are drawn on [P_EDGE, 1 − P_EDGE]
P_MIN = 1e-7  # and never asked for outside [P_MIN, 1 − P_MIN]


@dataclass(frozen=True)
class Axis:
    kind: str
    label: str  # the x-axis title
    lo: float
    hi: float


@dataclass(frozen=True)
class Curve:
    target: float  # the target (regression), label (classification) or true class of this curve
    label: str  # "y = 1", "y = 0.5", "true class 0"
    x: np.ndarray
    loss: np.ndarray
    slope: np.ndarray  # d loss / d x (x moves the prediction: the derivative with respect to it)
    kinks: tuple[float, ...]  # x where the loss has no derivative


@dataclass(frozen=True)
class Convexity:
    convex: bool
    text: str  # a sentence for the view
    checked: bool  # True: measured on the drawn curves (custom losses); False: the registry says so


def _scale(spec: LossSpec, params: Mapping[str, Any]) -> float:
    """A width for the x range: the parameter the spec names for it (a margin, δ: in x units), else 1."""
    value = params.get(spec.axis_scale) if spec.axis_scale else None
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    return 1.0


def axis_for(spec: LossSpec, task: str | None = None, params: Mapping[str, Any] | None = None) -> Axis:
    task = task or primary_task(spec)
    s = _scale(spec, params or {})
    if task == REGRESSION:
        r = 3.0 * max(1.0, s)
        return Axis(RESIDUAL, "residual ŷ − y (prediction minus target, in the model's units)", -r, r)
    if task == MULTICLASS:
        if spec.output == "probabilities":
            return Axis(TRUE_PROBABILITY, "predicted probability of the true class", P_EDGE, 1 - P_EDGE)
        if spec.output == "raw":
            r = 3.0 * max(1.0, s)
            return Axis(TRUE_SCORE, "true class's score minus the mean of the other scores", -r, r)
        return Axis(TRUE_LOGIT, "true class's logit minus the log-mean-exp of the other logits", -6.0, 6.0)
    if spec.output == "probabilities":
        return Axis(PROBABILITY, "predicted probability of class 1", P_EDGE, 1 - P_EDGE)
    if spec.output == "raw":
        r = 3.0 * max(1.0, s)
        return Axis(SCORE, "score s (the model's raw output; the sign is the decision)", -r, r)
    what = "the discriminator's logit" if task == GAN else "logit z (sigmoid(z) = P(class 1))"
    return Axis(LOGIT, what, -6.0, 6.0)


def curve_targets(spec: LossSpec, task: str, target: float = 0.0) -> list[tuple[float, str]]:
    if task == REGRESSION:
        return [(float(target), f"y = {target:g}")]
    if task == MULTICLASS:
        return [(float(int(target)), f"true class {int(target)}")]
    if task == GAN:
        return [(1.0, "real (y = 1)"), (0.0, "generated (y = 0)")]
    return [(1.0, "y = 1"), (0.0, "y = 0")]


def loss_curves(
    spec: LossSpec,
    task: str | None = None,
    *,
    target: float = 0.0,
    params: Mapping[str, Any] | None = None,
    classes: int = CURVE_CLASSES,
    n: int = POINTS,
    lo: float | None = None,
    hi: float | None = None,
) -> list[Curve]:
    """The loss and its slope along the inspector's axis, one curve per target (see the module doc).

    Raises LossLabError for bad parameters or a loss that does not fit ``task``; a custom loss's
    failures are CustomLossError.
    """
    task = task or primary_task(spec)
    values = validate_params(spec.params, dict(params or {}), "loss.params")
    axis = axis_for(spec, task, values)
    lo = axis.lo if lo is None else lo
    hi = axis.hi if hi is None else hi
    if axis.kind in (PROBABILITY, TRUE_PROBABILITY):  # a probability stays inside (0, 1)
        lo, hi = max(lo, P_MIN), min(hi, 1 - P_MIN)
    x = np.linspace(lo, hi, n)
    curves = []
    for value, label in curve_targets(spec, task, target):
        shift = value if axis.kind == RESIDUAL else 0.0  # regression: the prediction is y + r
        loss, slope = curve(spec, x + shift, value, task=task, classes=classes, **values)
        bends = tuple(k - shift for k in kinks(spec, value, task=task, **values)) if not spec.custom else ()
        curves.append(Curve(value, label, x, loss, slope, bends or numeric_kinks(x, slope, spec)))
    if len(curves) == 2 and np.allclose(curves[0].loss, curves[1].loss, rtol=1e-12, atol=1e-12):
        only = curves[0]  # the loss ignores the target (GAN generator losses): one curve says it all
        label = "generated sample" if task == GAN else "any label"
        curves = [Curve(only.target, label, only.x, only.loss, only.slope, only.kinks)]
    return curves


def numeric_kinks(x: np.ndarray, slope: np.ndarray, spec: LossSpec | None = None) -> tuple[float, ...]:
    """Where the slope jumps (custom losses, whose kinks the registry cannot know)."""
    if spec is not None and not spec.custom:
        return ()
    s = np.asarray(slope, dtype=np.float64)
    ok = np.isfinite(s)
    if ok.sum() < 5:
        return ()
    jumps = np.abs(np.diff(s))
    jumps[~(ok[:-1] & ok[1:])] = 0.0
    typical = float(np.median(jumps))
    span = float(np.nanmax(s[ok]) - np.nanmin(s[ok]))
    if span <= 0:
        return ()
    found = np.flatnonzero((jumps > 0.1 * span) & (jumps > 25 * typical + 1e-12))
    # Between two grid points: the middle, or 0 when they straddle it (hand-written kinks sit at 0 mostly).
    return tuple(0.0 if x[i] <= 0.0 <= x[i + 1] else float(round((x[i] + x[i + 1]) / 2, 6)) for i in found)


def convexity(spec: LossSpec, curves: list[Curve]) -> Convexity:
    if not spec.custom:
        if spec.convex:
            return Convexity(
                True,
                "Convex in the prediction: a single valley, so the loss itself has no bad local minima.",
                False,
            )
        return Convexity(False, "Not convex in the prediction: the curve bends downwards somewhere.", False)
    for c in curves:
        loss = np.asarray(c.loss, dtype=np.float64)
        if loss.size < 3 or not np.isfinite(loss).all():
            continue
        d2 = loss[:-2] - 2 * loss[1:-1] + loss[2:]
        tol = 1e-9 * (float(np.abs(loss).max()) + 1.0)
        bad = np.flatnonzero(d2 < -tol)
        if bad.size:
            where = float(c.x[bad[len(bad) // 2] + 1])
            return Convexity(
                False,
                f"Not convex on the drawn range: it bends downwards near x = {where:.3g} "
                f"({c.label}; checked numerically).",
                True,
            )
    return Convexity(True, "Convex on the drawn range (checked numerically on these curves).", True)


def sample_positions(spec: LossSpec, task: str, output: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each sample's x on the inspector's axis, from the model's outputs and the targets."""
    out = np.asarray(output, dtype=np.float64)
    y = np.asarray(target)
    if task == REGRESSION:
        return out.reshape(len(out), -1)[:, 0] - y.astype(np.float64)
    if task != MULTICLASS or out.ndim != 2:
        return out.reshape(len(out), -1)[:, 0]
    n, k = out.shape
    if n == 0:
        return np.empty(0)
    cls = y.astype(np.int64)
    rows = np.arange(n)
    true = out[rows, cls]
    mask = np.ones_like(out, dtype=bool)
    mask[rows, cls] = False
    others = out[mask].reshape(n, k - 1)
    if spec.output == "probabilities":
        return true
    if spec.output == "raw":
        centred: np.ndarray = true - others.mean(axis=1)
        return centred
    top = others.max(axis=1, keepdims=True)
    lme = top[:, 0] + np.log(np.exp(others - top).sum(axis=1)) - math.log(k - 1)
    position: np.ndarray = true - lme
    return position


def sample_slopes(spec: LossSpec, task: str, grad: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each sample's d loss / d x from its gradient with respect to the output (NaN where x is not an
    output coordinate: multi-class probabilities)."""
    g = np.asarray(grad, dtype=np.float64)
    if task != MULTICLASS or g.ndim != 2:
        return g.reshape(len(g), -1)[:, 0] if len(g) else np.empty(0)
    if spec.output == "probabilities":
        return np.full(len(g), np.nan)
    return g[np.arange(len(g)), np.asarray(target).astype(np.int64)]


def curve_for_samples(task: str, target: np.ndarray) -> np.ndarray:
    """Which curve (index into loss_curves' list) each sample belongs to: binary/GAN by label."""
    y = np.asarray(target, dtype=np.float64)
    if task in (BINARY, GAN):
        return np.where(y > 0.5, 0, 1)
    return np.zeros(len(y), dtype=np.int64)
