"""What the loss axis measures: the loss of the standardized targets the model sees and, where the
loss scales as a power of the error, what one unit of it is in the target's own units.

A regression target is standardized for training (y / σ after centring), so an MSE of 0.1 on house
prices is 0.1 σ² = 0.1 × 6.3·10⁸ $². The power is measured, not looked up: a loss is homogeneous of
degree k when doubling every error multiplies it by 2^k (MSE 2, MAE 1); Huber, log-cosh and most
custom losses are not, and get no conversion.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from losslab.core.tasks import REGRESSION
from losslab.gui.plots.axes import power_text

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.losses import LossSpec

_SQUARE = {1: "", 2: "²", 3: "³"}


def target_unit(name: str) -> str | None:
    """The unit in a target's name: "price ($)" -> "$"; None when it names none."""
    match = re.search(r"\(([^()]+)\)\s*$", name)
    return match.group(1).strip() if match else None


def error_degree(spec: LossSpec, params: dict[str, Any], target: Any) -> int | None:
    """k where the loss of errors 2e is 2^k times that of e (1 or 2), else None. ``target``: a few
    targets as the trainer has them (a torch tensor)."""
    import torch  # the trainer exists, so torch is loaded

    try:
        t = target[:6].to(torch.float32)
        e = torch.linspace(-1.3, 1.7, t.numel()).reshape(t.shape) + 0.05
        with torch.no_grad():
            one = spec.per_sample(t + e, t, **params).double()
            two = spec.per_sample(t + 2 * e, t, **params).double()
    except Exception:  # a custom loss may fail on made-up errors: no conversion then
        return None
    if one.numel() == 0 or not bool(torch.all(one > 0)):
        return None
    ratio = two / one
    for k in (1, 2):
        if bool(torch.allclose(ratio, torch.full_like(ratio, 2.0**k), rtol=1e-4)):
            return k
    return None


def loss_axis_label(ds: Dataset | None, degree: int | None = None) -> tuple[str, str]:
    """(axis label, caption): ("loss", "") for classification; for a standardized regression target
    ("loss", "standardized loss: 1 = 6.2·10⁸ $²") where one unit of loss converts. The caption sits
    beside the plot's controls: a short plot has no room for it along its axis."""
    if ds is None or ds.task != REGRESSION:
        return "loss", ""
    name = ds.target_name or "y"
    unit = target_unit(name)
    power = _SQUARE.get(degree or 0)
    if not (unit and degree and power is not None):
        standardized = abs(ds.y_std - 1.0) >= 1e-12
        return "loss", f"loss of the standardized {_bare(name)}" if standardized else ""
    if abs(ds.y_std - 1.0) < 1e-12:
        return f"loss ({unit}{power})", ""
    return "loss", f"standardized loss: 1 = {power_text(ds.y_std**degree, digits=2)} {unit}{power}"


def units_tip(ds: Dataset | None) -> str:
    """Why the loss is in standardized units (the caption's tooltip)."""
    if ds is None or ds.task != REGRESSION or abs(ds.y_std - 1.0) < 1e-12:
        return ""
    name = _bare(ds.target_name or "y")
    return (
        f"The model is trained on the standardized {name}, (y − mean) / σ with σ = {ds.y_std:,.4g}, "
        "so the loss is in those units."
    )


def _bare(name: str) -> str:
    """ "price ($)" -> "price"."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", name) or name
