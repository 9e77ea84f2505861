"""What a lesson's claim can measure: THE registry of quantities, each a function of one run.

A run (``RunOutcome``) is a trained preset: its per-epoch history, where it diverged, and a trainer
holding its final weights (plus its initial ones), so a quantity can be read from the history
(``val_loss`` at the last epoch), from the weights (the fitted slope, the weight norm, gradient
sizes at the initial weights, the loss along the line from the initial to the final weights) or
from the loss registry alone (``loss_value`` of a made-up prediction: no training at all).

Any history column (``train_loss``, ``val_accuracy``, ``val_mae``, ``lr`` ...) is a quantity too;
``at`` picks ``last`` (the default), ``first``, ``min``, ``max`` or an epoch number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from losslab.core.errors import LossLabError

if TYPE_CHECKING:  # torch loads with the trainer, only when a claim is checked
    import torch

    from losslab.core.base_trainer import Trainer

HISTORY_AT = ("last", "first", "min", "max")
WEIGHTS_AT = ("final", "initial")
_COLUMN = re.compile(r"^(train|val)_[a-z0-9_]+$|^(lr|l1|l2|step)$")


@dataclass
class RunOutcome:
    """One trained run of a lesson."""

    label: str
    rows: list[dict[str, float]]
    diverged_epoch: int | None  # the epoch it diverged in; None when it did not
    trainer: Trainer  # its model holds the final weights
    initial: torch.Tensor  # the initial weights, flat (landscape.flat_from_state order)


@dataclass(frozen=True)
class Quantity:
    name: str
    help: str
    fn: Callable[[RunOutcome | None, str | int, dict[str, Any]], float]
    at: tuple[str, ...] = ()  # the words `at` may be ("" = no `at`)
    options: tuple[str, ...] = ()  # keys besides run/at
    needs_run: bool = True


def _history(run: RunOutcome, column: str, at: str | int) -> float:
    values = [row[column] for row in run.rows if column in row]
    if not run.rows:
        return math.nan  # diverged before the first epoch ended
    if not values:
        known = ", ".join(k for k in run.rows[0] if k not in ("epoch", "elapsed_s"))
        raise LossLabError(f"run {run.label!r} has no column {column!r}; it has: {known}", "claims")
    at = at or "last"
    if isinstance(at, int):
        if not 1 <= at <= len(values):
            return math.nan  # that epoch was not reached
        return float(values[at - 1])
    finite = [v for v in values if math.isfinite(v)] or [math.nan]
    return float({"last": values[-1], "first": values[0], "min": min(finite), "max": max(finite)}[at])


def _need(run: RunOutcome | None) -> RunOutcome:
    if run is None:  # measures.needs_run and format._run_checked make this unreachable from a file
        raise LossLabError("this quantity needs a trained run", "claims")
    return run


def _epochs(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    return float(len(_need(run).rows))


def _diverged_at(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    epoch = _need(run).diverged_epoch
    return math.inf if epoch is None else float(epoch)


def _first_epoch(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    """The first epoch whose ``column`` is below (or, with ``above``, above) ``threshold``."""
    run = _need(run)
    column, threshold = opt["column"], float(opt["threshold"])
    below = at != "above"
    for row in run.rows:
        value = row.get(column, math.nan)
        if math.isfinite(value) and (value < threshold if below else value > threshold):
            return float(row["epoch"])
    return math.inf


def _best_epoch(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    run = _need(run)
    column = opt.get("column", "val_loss")
    pairs = [(row[column], row["epoch"]) for row in run.rows if math.isfinite(row.get(column, math.nan))]
    return float(min(pairs)[1]) if pairs else math.nan


class _AtWeights:
    """The run's model with the initial or final weights in it, for the length of a ``with``."""

    def __init__(self, run: RunOutcome, at: str | int) -> None:
        self.run, self.initial = run, at == "initial"

    def __enter__(self) -> Trainer:
        import torch

        model = self.run.trainer.model
        if self.initial:
            self.saved = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
            torch.nn.utils.vector_to_parameters(self.run.initial.to(self.saved.dtype), model.parameters())
        return self.run.trainer

    def __exit__(self, *exc: object) -> None:
        import torch

        if self.initial:
            torch.nn.utils.vector_to_parameters(self.saved, self.run.trainer.model.parameters())


def _slope(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    """The fitted line's slope in display units (price per square foot), across the data's range."""
    run = _need(run)
    trainer = run.trainer
    ds = trainer.dataset
    if ds.task != "regression" or ds.n_features != 1:
        raise LossLabError(f"'slope' needs a regression on one input; {ds.name} is not one", "claims")
    xs = ds.x_to_display(ds.x_train[:, :1])
    lo, hi = float(xs.min()), float(xs.max())
    with _AtWeights(run, at) as tr:
        y = tr.predict(np.array([[lo], [hi]]))
    return float((y[1] - y[0]) / (hi - lo))


def _above_share(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    """The share of training targets above the fitted prediction (0.5 for a fit through the middle)."""
    run = _need(run)
    ds = run.trainer.dataset
    if ds.task != "regression":
        raise LossLabError(f"'above_share' needs a regression; {ds.name} is not one", "claims")
    with _AtWeights(run, at) as tr:
        pred = tr.predict(ds.x_to_display(ds.x_train))
    return float(np.mean(ds.y_to_display(ds.y_train) > np.ravel(pred)))


def _per_sample(run: RunOutcome, at: str | int) -> tuple[np.ndarray, float, np.ndarray]:
    """(per-sample losses, the loss over all the training data, outlier mask) at those weights."""
    from losslab.core.per_sample import measure

    with _AtWeights(run, at) as tr:
        m = measure(tr, tr.x_train[:1], tr.y_train[:1])
    return m.loss, m.cost, np.asarray(tr.dataset.outliers_train, dtype=bool)


def _cost(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    return _per_sample(_need(run), at)[1]


def _per_sample_mean(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    return float(np.mean(_per_sample(_need(run), at)[0]))


def _per_sample_max(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    return float(np.max(_per_sample(_need(run), at)[0]))


def _outlier_share(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    losses, _, mask = _per_sample(_need(run), at)
    total = float(np.sum(losses))
    if not mask.any():
        raise LossLabError("'outlier_share' needs a dataset with outliers (outlier_fraction > 0)", "claims")
    return float(np.sum(losses[mask]) / total) if total > 0 else math.nan


def _linear_weights(run: RunOutcome) -> list[Any]:
    from losslab.core.diagnostics import linear_layers

    return [m.weight for _, m in linear_layers(run.trainer.model)]


def _grad_ratio(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    """|gradient| of the first Linear layer's weights over the output layer's, on all training data."""
    import torch

    run = _need(run)
    with _AtWeights(run, at) as tr:
        weights = _linear_weights(run)
        if len(weights) < 2:
            raise LossLabError("'grad_ratio' needs a network with a hidden layer", "claims")
        was = tr.model.training
        tr.model.eval()
        try:
            with torch.enable_grad():
                loss = tr.data_loss(tr.model(tr.x_train), tr.y_train)
                first, last = torch.autograd.grad(loss, [weights[0], weights[-1]])
        finally:
            tr.model.train(was)
    return float(first.norm() / last.norm()) if float(last.norm()) > 0 else math.nan


def _weight_l2(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    run = _need(run)
    with _AtWeights(run, at):
        return float(sum(float((w.detach() ** 2).sum()) for w in _linear_weights(run)))


def _weight_l1(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    run = _need(run)
    with _AtWeights(run, at):
        return float(sum(float(w.detach().abs().sum()) for w in _linear_weights(run)))


def _line_bulge(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    """How far the loss along initial -> final weights (the Landscape tab's line) rises above its
    lower convex hull, as a share of the loss range: 0 for a convex loss, clearly more when not."""
    from losslab.core.landscape import LossSurface, line

    run = _need(run)
    alphas = np.linspace(-0.5, 1.5, 81)
    result = line(LossSurface(run.trainer), run.initial.to(dtype=_dtype(run)), alphas=alphas)
    losses = result.losses
    if not np.all(np.isfinite(losses)):
        return math.nan
    hull = _lower_hull(alphas, losses)
    span = float(losses.max() - losses.min())
    return float(np.max(losses - hull) / span) if span > 0 else 0.0


def _dtype(run: RunOutcome) -> Any:
    from losslab.core.weights import flat_params

    return flat_params(run.trainer.model).dtype


def _lower_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The lower convex hull of the points (x sorted), evaluated at every x."""
    hull: list[int] = []
    for i in range(len(x)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (y[b] - y[a]) * (x[i] - x[a]) >= (y[i] - y[a]) * (x[b] - x[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    out: np.ndarray = np.interp(x, x[hull], y[hull])
    return out


def _made_up(opt: dict[str, Any]) -> tuple[Any, Any, Any, dict[str, Any]]:
    """(loss spec, prediction, target, params) from a claim's ``loss``, ``pred``, ``target``, ``params``.
    Targets are class indices when the prediction has a row per sample and the target does not."""
    import torch

    from losslab.core.losses import get_loss
    from losslab.core.params import validate_params

    spec = get_loss(opt["loss"])
    params = validate_params(spec.params, opt.get("params"), "claims.params")
    pred = torch.tensor(opt["pred"], dtype=torch.float32, requires_grad=True)
    target = torch.tensor(opt["target"], dtype=torch.float32)
    if pred.ndim == 2 and target.ndim == 1:
        target = target.long()
    return spec, pred, target, params


def _loss_value(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    """A registered loss of a made-up prediction: ``{"loss": "bce", "pred": [0.01], "target": [1]}``."""
    spec, pred, target, params = _made_up(opt)
    return float(spec.compute(pred, target, **params).detach())


def _loss_grad(run: RunOutcome | None, at: str | int, opt: dict[str, Any]) -> float:
    """|d loss / d prediction| at a made-up prediction (the push training gets there)."""
    import torch

    spec, pred, target, params = _made_up(opt)
    (grad,) = torch.autograd.grad(spec.compute(pred, target, **params), pred)
    return float(grad.norm())


QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        Quantity("epochs", "epochs completed (early stopping or divergence ends a run sooner)", _epochs),
        Quantity("diverged_at", "the epoch the run diverged in; infinity when it did not", _diverged_at),
        Quantity(
            "first_epoch",
            "the first epoch where `column` is below `threshold` (at: 'above' for above); infinity if never",
            _first_epoch,
            at=("below", "above"),
            options=("column", "threshold"),
        ),
        Quantity(
            "best_epoch",
            "the epoch with the lowest `column` (default val_loss)",
            _best_epoch,
            options=("column",),
        ),
        Quantity(
            "slope", "the fitted line's slope in display units (one-input regression)", _slope, WEIGHTS_AT
        ),
        Quantity(
            "above_share",
            "the share of training targets above the fit (regression)",
            _above_share,
            WEIGHTS_AT,
        ),
        Quantity("cost", "the loss over the whole training set at those weights", _cost, WEIGHTS_AT),
        Quantity(
            "per_sample_mean", "the mean of the per-sample losses (Samples tab)", _per_sample_mean, WEIGHTS_AT
        ),
        Quantity("per_sample_max", "the largest per-sample loss", _per_sample_max, WEIGHTS_AT),
        Quantity(
            "outlier_share",
            "the share of the summed per-sample loss carried by the outliers",
            _outlier_share,
            WEIGHTS_AT,
        ),
        Quantity(
            "grad_ratio",
            "|first layer's weight gradient| / |output layer's|, all training data",
            _grad_ratio,
            WEIGHTS_AT,
        ),
        Quantity("weight_l2", "sum of the squared Linear weights", _weight_l2, WEIGHTS_AT),
        Quantity("weight_l1", "sum of the absolute Linear weights", _weight_l1, WEIGHTS_AT),
        Quantity(
            "line_bulge",
            "how far the loss on the line from the initial to the final weights rises above its convex hull "
            "(share of its range; 0 = convex along that line)",
            _line_bulge,
        ),
        Quantity(
            "loss_value",
            "a registered loss of a made-up prediction (`loss`, `pred`, `target`, optional `params`)",
            _loss_value,
            options=("loss", "pred", "target", "params"),
            needs_run=False,
        ),
        Quantity(
            "loss_grad",
            "|gradient of a registered loss| at a made-up prediction (`loss`, `pred`, `target`, `params`)",
            _loss_grad,
            options=("loss", "pred", "target", "params"),
            needs_run=False,
        ),
    )
}


def needs_run(quantity: str) -> bool:
    q = QUANTITIES.get(quantity)
    return True if q is None else q.needs_run


def check_measure_spec(quantity: str, at: str | int, options: dict[str, Any], where: str) -> None:
    """Refuse, naming the field, a quantity or option that does not exist (before anything trains)."""
    q = QUANTITIES.get(quantity)
    if q is None:
        if not _COLUMN.match(quantity):
            raise LossLabError(
                f"unknown quantity {quantity!r}; use a history column (train_loss, val_accuracy, ...) or one "
                f"of: {', '.join(QUANTITIES)}",
                f"{where}.quantity",
            )
        allowed_at: tuple[str, ...] = HISTORY_AT
        allowed_options: tuple[str, ...] = ()
        epoch_ok = True
    else:
        allowed_at, allowed_options, epoch_ok = q.at, q.options, False
    if isinstance(at, int) and not (epoch_ok and at >= 1):
        raise LossLabError(f"{quantity!r} takes no epoch number here, got {at}", f"{where}.at")
    if isinstance(at, str) and at and at not in allowed_at:
        choices = ", ".join(allowed_at) or "no 'at'"
        raise LossLabError(f"{quantity!r} at {at!r}? use {choices}", f"{where}.at")
    extra = sorted(set(options) - set(allowed_options))
    if extra:
        raise LossLabError(f"{quantity!r} takes no {extra[0]!r}", f"{where}.{extra[0]}")
    if q is not None and q.name == "first_epoch":
        if not isinstance(options.get("column"), str) or not _COLUMN.match(options["column"]):
            raise LossLabError("needs a history column such as 'val_loss'", f"{where}.column")
        threshold = options.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise LossLabError(f"needs a number, got {threshold!r}", f"{where}.threshold")
    if q is not None and q.name in ("loss_value", "loss_grad"):
        from losslab.core.losses import LOSSES

        if options.get("loss") not in LOSSES:
            raise LossLabError(
                f"unknown loss {options.get('loss')!r}; known: {', '.join(LOSSES)}", f"{where}.loss"
            )
        for key in ("pred", "target"):
            if not isinstance(options.get(key), list) or not options[key]:
                raise LossLabError(f"needs a list of numbers, got {options.get(key)!r}", f"{where}.{key}")


def evaluate(quantity: str, run: RunOutcome | None, at: str | int, options: dict[str, Any]) -> float:
    q = QUANTITIES.get(quantity)
    if q is None:
        return _history(_need(run), quantity, at)
    return q.fn(run, at, options)
