"""``run_race``: train a planned race, batched where it can, and report per variant as it goes."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from losslab.core.controls import Controls
from losslab.core.race.batched import BatchedGroup
from losslab.core.race.plan import RacePlan
from losslab.core.race.sequential import SequentialVariant
from losslab.core.race.types import (
    BATCHED,
    STOPPED,
    RaceFinished,
    RaceResult,
    RaceStarted,
    RaceVariantEnded,
    VariantResult,
)

Callback = Callable[[object], None]  # receives every event of the race (types.py)
# Called once per variant when it is done: (group id, its result). See run_race.
Record = Callable[[str, VariantResult], None]


class EventControls(Controls):
    """Controls driven by a ``threading.Event``: setting the event stops the race at the next batch."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event
        self._pending_flag = False
        super().__init__()

    @property
    def pending(self) -> bool:
        return self._pending_flag or self._event.is_set()

    @pending.setter
    def pending(self, value: bool) -> None:
        self._pending_flag = value

    def wait_for_batch(self) -> bool:
        if self._event.is_set():
            return False
        return super().wait_for_batch()


def as_controls(controls: Controls | threading.Event | None) -> Controls | None:
    if controls is None or isinstance(controls, Controls):
        return controls
    if isinstance(controls, threading.Event):
        return EventControls(controls)
    raise TypeError(f"controls must be a Controls or a threading.Event, got {type(controls).__name__}")


def run_race(
    plan: RacePlan,
    callback: Callback | None = None,
    controls: Controls | threading.Event | None = None,
    record: Record | None = None,
    group_id: str | None = None,
) -> RaceResult:
    """Train every variant of ``plan``; returns a RaceResult (variants in the plan's order).

    Events (types.py) go to ``callback`` from this thread: RaceStarted, then per variant RaceSteps
    / RaceEpoch / RaceNotice and RaceVariantEnded, and RaceFinished last. ``controls`` (a Controls:
    pause, one batch, stop; or a threading.Event: stop when set) is checked every batch; a stop ends
    the whole race (variants not reached are reported with status "not run"). A learning-rate
    request applies to every batched variant, except in a learning-rate race. ``record(group_id,
    result)`` is called for each variant once it is done (the run history stores races through it).
    """
    emit = callback or (lambda event: None)
    ctl = as_controls(controls)
    group_id = group_id or f"race-{uuid.uuid4().hex[:12]}"
    started = time.perf_counter()

    # Build every network first: the initial weights' digests are known before anything trains.
    units: list[tuple[Any, ...]] = []
    init = [""] * len(plan.variants)
    for group in plan.groups:
        if group.mode == BATCHED:
            batched = BatchedGroup(
                [plan.variants[i] for i in group.indices],
                plan.datasets[group.indices[0]],
                plan.path,
                plan.headline,
            )
            for v, digest in zip(batched.variants, batched.init_digests, strict=True):
                init[v.index] = digest
            units.append((group, batched))
        else:
            (i,) = group.indices
            seq = SequentialVariant(plan.variants[i], plan.datasets[i])
            init[i] = seq.init_digest
            units.append((group, seq))
    plan.init_digests = init
    emit(RaceStarted(plan.labels, list(plan.modes), list(init), list(plan.batch_order_digests), plan.setting))

    results: dict[int, VariantResult] = {}
    stopped = False
    for group, unit in units:
        if stopped:
            break
        if isinstance(unit, BatchedGroup):
            done, stopped = unit.run(emit, ctl, plan.modes, plan.batch_order_digests)
        else:
            result, stopped = unit.run(
                emit, ctl, plan.modes[group.indices[0]], plan.batch_order_digests[group.indices[0]]
            )
            done = [result]
        for r in done:
            r.setting = plan.setting
            results[r.index] = r
            if record is not None:
                record(group_id, r)
            emit(RaceVariantEnded(r.index, r))
    for v in plan.variants:
        if v.index not in results:
            results[v.index] = VariantResult(
                v.index,
                v.label,
                plan.setting,
                v.value,
                v.experiment,
                plan.modes[v.index],
                init[v.index],
                plan.batch_order_digests[v.index],
                headline=plan.headline,
            )
    if stopped and ctl is not None:
        ctl.clear_stop()  # that request is spent
    if stopped:
        for r in results.values():
            if r.status == "finished" and r.epochs_done < r.experiment.training["epochs"]:
                r.status = STOPPED
    result = RaceResult(
        plan.setting,
        [results[i] for i in range(len(plan.variants))],
        group_id,
        stopped,
        time.perf_counter() - started,
    )
    emit(RaceFinished(result))
    return result
