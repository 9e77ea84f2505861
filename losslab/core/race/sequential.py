"""A variant trained on its own by LossLab's trainer: the fallback, and the batched path's reference.

The trainer is built up front (so its initial weights can be hashed before the race starts) and
rebuilt from the seed right before it trains (``reset_weights``), so each variant starts from the
same global random state as a run of it alone would: dropout masks are then as fair as they can be.
"""

from __future__ import annotations

from collections.abc import Callable

from losslab.core.controls import Controls
from losslab.core.data import Dataset
from losslab.core.events import Diverged, EpochEnd, Notice, StepBatch
from losslab.core.metrics import headline_of
from losslab.core.race.fairness import state_digest
from losslab.core.race.types import (
    DIVERGED,
    FINISHED,
    STOPPED,
    RaceEpoch,
    RaceNotice,
    RaceSteps,
    Variant,
    VariantResult,
)
from losslab.core.trainer import Trainer, make_trainer
from losslab.core.weights import clone_state

Emit = Callable[[object], None]


class SequentialVariant:
    def __init__(self, variant: Variant, dataset: Dataset) -> None:
        self.variant = variant
        self.trainer: Trainer = make_trainer(variant.experiment, dataset, diagnostics=False)
        self.init_digest = state_digest(self.trainer.initial_state)

    def run(
        self, emit: Emit, controls: Controls | None, mode: str, order_digest: str
    ) -> tuple[VariantResult, bool]:
        v, trainer = self.variant, self.trainer
        trainer.reset_weights()  # the global random state as when this variant runs alone
        if controls is not None:
            trainer.controls = controls
        result = VariantResult(
            v.index,
            v.label,
            "",
            v.value,
            v.experiment,
            mode,
            self.init_digest,
            order_digest,
            headline=headline_of(trainer.dataset),
        )

        def forward(event: object) -> None:
            if isinstance(event, StepBatch):
                emit(RaceSteps(v.index, event))
            elif isinstance(event, EpochEnd):
                emit(RaceEpoch(v.index, event))
            elif isinstance(event, Notice):
                emit(RaceNotice(v.index, event.message))
            elif isinstance(event, Diverged):
                emit(RaceNotice(v.index, f"{v.label}: {event.message}"))

        finished = trainer.run(forward)
        result.history = finished.history
        result.epochs_done, result.steps, result.elapsed = trainer.epoch, trainer.step, trainer.elapsed
        result.diverged, result.early_stop = finished.diverged, finished.early_stop
        result.state_dict = clone_state(trainer.model)
        if finished.diverged is not None:
            result.status = DIVERGED
        elif finished.stopped:
            result.status = STOPPED
        else:
            result.status = FINISHED
        return result, finished.stopped
