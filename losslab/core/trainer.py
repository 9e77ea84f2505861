"""Training, as the rest of LossLab uses it: ``make_trainer`` picks the trainer an experiment needs.

The loop itself is ``Trainer`` in base_trainer.py (regression and classification); GAN training
extends it in gan.py. This module sits above both, so the base class never imports its subclass;
their public names are re-exported here, the one place callers import training from.
"""

from __future__ import annotations

from typing import Any

from losslab.core.base_trainer import (
    EXPLOSION_FACTOR,
    FLUSH_SECONDS,
    Callback,
    GoodWeights,
    Trainer,
    default_probes,
    describe_divergence,
    divergence_advice,
)
from losslab.core.data import Dataset, make_dataset
from losslab.core.experiment import Experiment
from losslab.core.gan import GanTrainer
from losslab.core.tasks import GAN

__all__ = [
    "EXPLOSION_FACTOR",
    "FLUSH_SECONDS",
    "Callback",
    "GanTrainer",
    "GoodWeights",
    "Trainer",
    "default_probes",
    "describe_divergence",
    "divergence_advice",
    "make_trainer",
]


def make_trainer(experiment: Experiment, dataset: Dataset | None = None, **kwargs: Any) -> Trainer:
    """The right trainer for the experiment's task: a GanTrainer for GAN datasets, else a Trainer.

    ``kwargs`` are Trainer's keyword arguments (device, threads, diagnostics, diagnostics_budget).
    """
    dataset = dataset if dataset is not None else make_dataset(experiment.dataset)
    if dataset.task == GAN:
        return GanTrainer(experiment, dataset, **kwargs)
    return Trainer(experiment, dataset, **kwargs)
