"""Functions for notebooks and scripts. Errors a user can cause raise ``LossLabError``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.losses import LOSSES, make_loss

__all__ = ["load_experiment", "loss", "losses", "train"]


def losses() -> list[str]:
    """The ids of every built-in loss."""
    return list(LOSSES)


def loss(loss_id: str, **params: Any) -> Callable[[Any, Any], Any]:
    """A callable ``(pred, target) -> scalar tensor``: the mean loss, with training's target conventions."""
    return make_loss(loss_id, **params)


def train(
    experiment: Experiment | dict[str, Any] | str | os.PathLike[str],
    epochs: int | None = None,
    callback: Callable[[Any], None] | None = None,
    device: str | None = None,
) -> Any:
    """Train an experiment (an Experiment, a dict, or a path) and return its History.

    ``callback`` receives the trainer's events (losslab.core.events) as they happen.
    """
    from losslab.core.trainer import make_trainer

    if isinstance(experiment, dict):
        experiment = Experiment.from_dict(experiment)
    elif not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    if epochs is not None:
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise LossLabError(f"must be a whole number >= 1, got {epochs!r}", "epochs")
        # Through the experiment, not run(epochs): schedules such as cosine span the epochs trained.
        experiment = experiment.replace("training", epochs=epochs)
    return make_trainer(experiment, device=device).run(callback).history
