"""Races: N variants of one experiment that differ in exactly one setting, trained fairly and fast.

>>> plan = plan_race(experiment, {"loss": ["mse", "mae", "huber"]})
>>> result = run_race(plan, callback=print)
>>> result.fair, [v.final["val_loss"] for v in result.variants]

Every variant starts from the same initial weights and sees the same batches in the same order
(``init_digest`` / ``batch_order_digest`` let anyone check); variants of one network train together
in one batched computation (batched.py), the others one after another through LossLab's trainer
(sequential.py), each labelled with its mode and, when sequential, the reason.

Modules: plan.py (variants, validation, grouping), batched.py (the vmapped trainer),
stacked_optim.py (optimizer steps on stacked weights), sequential.py (the fallback),
fairness.py (digests, the batch order), types.py (events and results), run.py (run_race).
"""

from losslab.core.race.fairness import BatchOrder, batch_order_digest, state_digest
from losslab.core.race.plan import RacePlan, format_value, parse_vary, plan_race
from losslab.core.race.run import EventControls, Record, run_race
from losslab.core.race.types import (
    BATCHED,
    SEQUENTIAL,
    RaceEpoch,
    RaceFinished,
    RaceGroup,
    RaceNotice,
    RaceResult,
    RaceStarted,
    RaceSteps,
    RaceVariantEnded,
    Variant,
    VariantResult,
    number_text,
)

__all__ = [
    "BATCHED",
    "SEQUENTIAL",
    "BatchOrder",
    "EventControls",
    "RaceEpoch",
    "RaceFinished",
    "RaceGroup",
    "RaceNotice",
    "RacePlan",
    "RaceResult",
    "RaceStarted",
    "RaceSteps",
    "RaceVariantEnded",
    "Record",
    "Variant",
    "VariantResult",
    "batch_order_digest",
    "format_value",
    "number_text",
    "parse_vary",
    "plan_race",
    "run_race",
    "state_digest",
]
