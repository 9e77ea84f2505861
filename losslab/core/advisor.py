"""The pairing advisor: warnings, each with a one-click fix, for loss set-ups that train badly.

LossLab's registry already refuses a loss that does not fit the task and adds the output layer a
built-in loss needs, so most traps open with custom losses, whose behaviour the advisor measures on
the loss's own curves rather than guessing from its code:

``single_output``       a loss that mixes the samples of a batch, e.g. cross-entropy (a softmax over
                        the outputs) on a single output unit
``labels_not_signed``   samples labelled 0 never change the loss: a hinge-style formula written for
                        labels −1/+1 gets LossLab's 0/1
``output_mismatch``     probabilities fed to a formula made for logits, or the reverse
``slow_when_wrong``     a sigmoid (softmax) output with a squared error: the gradient fades exactly when
                        the model is confidently wrong
``outliers``            a squared error on regression data with outliers (suggests Huber or MAE)

Each ``Advice`` carries ``fix``, changes to experiment sections; ``apply_fix`` makes the new
experiment. The custom-loss rules run the loss's code, so call ``advise`` only for trusted code.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losslab.core.custom_loss import CUSTOM_ID
from losslab.core.data import Dataset
from losslab.core.experiment import Experiment
from losslab.core.losses import (
    SUGGEST_MARGIN,
    SUGGEST_ROBUST,
    LossSpec,
    curve,
    resolve_loss,
    suggested_loss,
)
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION

OUTLIER_Z = 5.0  # robust z-score beyond which a target counts as an outlier
SLOW_RATIO = 0.2  # gradient when confidently wrong / gradient when unsure, below which learning is slow
CONFIDENT_LOGIT = 5.0
GRID = np.linspace(-6.0, 6.0, 49)


@dataclass(frozen=True)
class Advice:
    id: str
    title: str  # a few words
    message: str  # what is wrong, why it trains badly, what the fix does
    fix_label: str  # the fix button's text
    fix: dict[str, dict[str, Any]] = field(default_factory=dict)  # section -> changes


def advise(experiment: Experiment, dataset: Dataset) -> list[Advice]:
    """Every warning that applies, most fundamental first."""
    try:
        spec = resolve_loss(experiment.loss, dataset.task)
    except Exception:  # a broken loss is reported by its own checks, not here
        return []
    found = []
    for rule in _RULES:
        try:
            advice = rule(experiment, dataset, spec)
        except Exception:  # the advisor only advises: a custom loss failing here is shown elsewhere
            advice = None
        if advice is not None:
            found.append(advice)
    return found


def apply_fix(experiment: Experiment, advice: Advice) -> Experiment:
    """A validated copy of ``experiment`` with ``advice.fix`` applied (raises LossLabError if invalid)."""
    doc = experiment.to_dict()
    for section, changes in advice.fix.items():
        merged = {**doc[section], **changes}
        if section == "loss":
            if "id" in changes and changes["id"] != doc["loss"].get("id"):
                merged["params"] = changes.get("params", {})
            if merged.get("id") != CUSTOM_ID:
                merged = {"id": merged["id"], "params": merged.get("params", {})}
        doc[section] = merged
    return Experiment.from_dict(doc)


# --- helpers -----------------------------------------------------------------------------------


def _switch_to(spec: LossSpec) -> dict[str, dict[str, Any]]:
    return {"loss": {"id": spec.id, "params": {}}}


def _values(spec: LossSpec, x: np.ndarray, target: float, task: str, experiment: Experiment) -> np.ndarray:
    params = experiment.loss["params"] if not spec.custom else {}
    return curve(spec, x, target, task=task, **params)[0]


def _flat(v: np.ndarray) -> bool:
    return bool(np.isfinite(v).all() and np.ptp(v) <= 1e-9 * (1.0 + float(np.abs(v).max())))


def _batch_depends_on_pred(spec: LossSpec, task: str) -> bool:
    import torch

    gen = torch.Generator().manual_seed(0)
    n = 16
    labels = (torch.rand(n, generator=gen) < 0.5).double()
    target = labels if task == BINARY else torch.randn(n, generator=gen)
    pred = (2 * torch.randn(n, generator=gen, dtype=torch.float64)).requires_grad_(True)
    value = spec.compute(pred, target)
    if not value.requires_grad:
        return False
    (grad,) = torch.autograd.grad(value, pred, allow_unused=True)
    return grad is not None and bool(grad.abs().gt(0).any())


# --- the rules ---------------------------------------------------------------------------------


def _single_output(exp: Experiment, ds: Dataset, spec: LossSpec) -> Advice | None:
    if not spec.custom or ds.task not in (BINARY, REGRESSION):
        return None
    labels = (1.0, 0.0) if ds.task == BINARY else (0.0,)
    alone = [_values(spec, GRID, y, ds.task, exp) for y in labels]
    if not all(_flat(v) for v in alone) or not _batch_depends_on_pred(spec, ds.task):
        return None
    fix = suggested_loss(ds.task)
    return Advice(
        "single_output",
        "Loss mixes the samples of a batch",
        f"On a single sample this loss is always {float(alone[0][0]) + 0.0:.3g}, whatever the prediction, "
        "yet on a batch it changes: it compares samples with each other instead of scoring each one. That is "
        "what a softmax or cross-entropy over the outputs does with a single output unit: the softmax "
        "of one number is always 1, so the batch itself is treated as the classes. "
        + (
            "Binary classification has one output per sample; binary cross-entropy on the logit "
            "scores each sample on its own."
            if ds.task == BINARY
            else "Regression has one output per sample; a squared error scores each one on its own."
        ),
        f"Use {fix.name}",
        _switch_to(fix),
    )


def _labels_not_signed(exp: Experiment, ds: Dataset, spec: LossSpec) -> Advice | None:
    if not spec.custom or ds.task != BINARY:
        return None
    ones = _values(spec, GRID, 1.0, BINARY, exp)
    zeros = _values(spec, GRID, 0.0, BINARY, exp)
    if not _flat(zeros) or _flat(ones):
        return None
    message = (
        "Samples labelled 0 never change this loss (it is the same whatever the model predicts for "
        "them), so training learns from class 1 only. The formula looks written for labels −1 and +1, "
        "as a hinge loss is, but LossLab's binary labels are 0 and 1. "
    )
    code = exp.loss["code"]
    new_code = _with_signed_target(code)
    if new_code is not None and _signed_fix_works(exp, new_code):
        return Advice(
            "labels_not_signed",
            "Labels 0 are ignored",
            message + "The fix maps them first: target = 2 * target − 1.",
            "Map the labels to −1/+1",
            {"loss": {"code": new_code}},
        )
    fix = suggested_loss(BINARY, SUGGEST_MARGIN) if spec.output == "raw" else suggested_loss(BINARY)
    return Advice(
        "labels_not_signed",
        "Labels 0 are ignored",
        message + f"{fix.name} handles 0/1 labels itself.",
        f"Use {fix.name}",
        _switch_to(fix),
    )


def _with_signed_target(code: str) -> str | None:
    """``code`` with ``target = 2 * target - 1`` as the first line of loss's body, or None."""
    tree = ast.parse(code)
    fn = next((n for n in reversed(tree.body) if isinstance(n, ast.FunctionDef) and n.name == "loss"), None)
    args = [*fn.args.posonlyargs, *fn.args.args] if fn is not None else []
    if fn is None or len(args) < 2 or fn.body[0].lineno <= fn.lineno:
        return None
    name = args[1].arg
    first = fn.body[0]
    lines = code.splitlines(keepends=True)
    indent = " " * first.col_offset
    line = f"{indent}{name} = 2 * {name} - 1  # labels 0/1 -> -1/+1 (added by the advisor)\n"
    at = first.lineno - 1
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        at = first.end_lineno or first.lineno  # after a docstring
    return "".join([*lines[:at], line, *lines[at:]])


def _signed_fix_works(exp: Experiment, new_code: str) -> bool:
    spec = resolve_loss({**exp.loss, "code": new_code}, BINARY)
    wide = np.linspace(-20.0, 20.0, 81)
    zeros = _values(spec, wide, 0.0, BINARY, exp)
    ones = _values(spec, wide, 1.0, BINARY, exp)
    ok = np.isfinite(zeros).all() and np.isfinite(ones).all() and not _flat(zeros)
    # A label-0 sample must now prefer negative scores, and a label-1 sample positive ones.
    return bool(ok and zeros[0] < zeros[-1] and ones[-1] < ones[0])


def _output_mismatch(exp: Experiment, ds: Dataset, spec: LossSpec) -> Advice | None:
    if not spec.custom or ds.task != BINARY:
        return None
    if spec.output == "probabilities":
        p = np.array([1e-3, 1 - 1e-3])
        for label, right, wrong in ((1.0, 1, 0), (0.0, 0, 1)):
            v = _values(spec, p, label, BINARY, exp)
            if v[right] > 0.25 * v[wrong] and v[right] > 0.05:
                return Advice(
                    "output_mismatch",
                    "Probabilities fed to a formula for logits",
                    f"A perfect prediction (probability {p[right]:.3f} for a sample labelled {label:g}) "
                    f"still costs {v[right]:.3g}, not much less than a completely wrong one "
                    f"({v[wrong]:.3g}): the formula seems to expect logits and apply a sigmoid itself (as "
                    "binary_cross_entropy_with_logits does), but pred holds probabilities, squashed twice. "
                    "Declaring the output as logits removes LossLab's sigmoid.",
                    "Declare the output as logits",
                    {"loss": {"output": "logits"}},
                )
        return None
    for label, sign in ((1.0, 1.0), (0.0, -1.0)):
        v = _values(spec, GRID, label, BINARY, exp)
        right_cost, wrong_cost = (float(v[-1]), float(v[0])) if sign > 0 else (float(v[0]), float(v[-1]))
        low = float(v.min())
        if np.isfinite(v).all() and wrong_cost > low and right_cost - low > 0.3 * (wrong_cost - low):
            best = float(GRID[int(np.argmin(v))])
            return Advice(
                "output_mismatch",
                "Logits fed to a formula for probabilities",
                f"For a sample labelled {label:g}, a confident correct prediction (pred = "
                f"{sign * GRID[-1]:+g}) costs {right_cost:.3g}, about as much as a confident wrong one "
                f"({wrong_cost:.3g}); the loss is lowest at {best:+.3g}. The formula treats pred as a "
                f"probability or a 0/1 value, but with the output declared as {spec.output} it gets any real "
                "number. Declaring the output as probabilities makes LossLab add a sigmoid (or apply "
                "torch.sigmoid(pred) in the code).",
                "Declare the output as probabilities",
                {"loss": {"output": "probabilities"}},
            )
    return None


def _slow_when_wrong(exp: Experiment, ds: Dataset, spec: LossSpec) -> Advice | None:
    if ds.task not in (BINARY, MULTICLASS) or spec.output != "probabilities" or spec.set_level:
        return None
    k = max(ds.n_classes, 2) if ds.task == MULTICLASS else 2
    z = np.array([-CONFIDENT_LOGIT, 0.0])
    p = np.exp(z) / (np.exp(z) + (k - 1))  # the true class's probability for logit z, the others at 0
    params = exp.loss["params"] if not spec.custom else {}
    target = 1.0 if ds.task == BINARY else 0.0
    _, slope = curve(spec, p, target, task=ds.task, classes=k, **params)
    push = np.abs(slope * p * (1 - p))  # chain rule through the sigmoid/softmax: d loss / d logit
    if not np.isfinite(push).all() or push[1] <= 0:
        return None
    ratio = float(push[0] / push[1])
    if ratio >= SLOW_RATIO:
        return None
    squash = "sigmoid" if ds.task == BINARY else "softmax"
    fix = suggested_loss(ds.task)
    return Advice(
        "slow_when_wrong",
        f"{squash.capitalize()} output with a loss that stalls on confident mistakes",
        f"Through the {squash}, this loss pushes a confidently wrong prediction (probability {p[0]:.3f} "
        f"for the true class) with only {ratio:.1%} of the push it gives an unsure one (probability "
        f"{p[1]:.2f}). The worst mistakes are then corrected slowest, the classic trouble with a squared "
        f"error on probabilities. Cross-entropy on logits keeps the push strong exactly there.",
        f"Use {fix.name}",
        _switch_to(fix),
    )


def count_outliers(ds: Dataset) -> int:
    """Training targets far off the trend: the dataset's own marks, else robust z-scores of the
    residuals of a straight-line fit beyond OUTLIER_Z."""
    marked = int(np.count_nonzero(ds.outliers_train))
    if marked:
        return marked
    n = ds.n_train
    if n < 10:
        return 0
    a = np.column_stack([np.asarray(ds.x_train, dtype=np.float64), np.ones(n)])
    y = np.asarray(ds.y_train, dtype=np.float64)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    r = y - a @ coef
    med = float(np.median(r))
    mad = 1.4826 * float(np.median(np.abs(r - med)))
    if not mad > 0:
        return 0
    count = int(np.count_nonzero(np.abs(r - med) / mad > OUTLIER_Z))
    return count if count >= max(2, math.ceil(0.005 * n)) else 0


def _outliers(exp: Experiment, ds: Dataset, spec: LossSpec) -> Advice | None:
    if ds.task != REGRESSION or spec.custom or spec.robust_to_outliers:
        return None
    count = count_outliers(ds)
    if not count:
        return None
    fix = suggested_loss(REGRESSION, SUGGEST_ROBUST)
    return Advice(
        "outliers",
        f"{spec.name} on data with outliers",
        f"{count} of the {ds.n_train} training targets lie far from the trend of the others. {spec.name} "
        "squares each error, so these few samples give most of the gradient and drag the fit towards "
        "themselves. Huber (squared for small errors, linear for large ones) or MAE limit how hard any "
        "single sample can pull.",
        f"Use {fix.name}",
        _switch_to(fix),
    )


_RULES: tuple[Callable[[Experiment, Dataset, LossSpec], Advice | None], ...] = (
    _single_output,
    _labels_not_signed,
    _output_mismatch,
    _slow_when_wrong,
    _outliers,
)
