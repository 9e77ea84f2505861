"""Per-sample losses of the weights as they are now, whenever training stands still.

The per-sample probe measures on the training thread, only while a view watches it and only every so
often, so after Pause or Stop the last measurement can be many steps old (or missing: the Samples tab
was hidden during the run). When the trainer is still (its thread has ended, or it is blocked in a
pause, ``controls.waiting``), the GUI thread may read the model: nothing moves it until the GUI itself
resumes or steps the run. The views share one measurement per trainer and step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from losslab.core.per_sample import PerSampleLosses, latest_probe, measure

if TYPE_CHECKING:
    from losslab.core.trainer import Trainer
    from losslab.gui.view_api import ViewServices

_last: tuple[int, int, PerSampleLosses] | None = None  # (id of the trainer, step, measurement)


def is_still(trainer: Trainer, running: bool) -> bool:
    """Whether ``trainer``'s weights stay as they are until the GUI lets them move (stopped, or paused
    and waiting)."""
    return not running or bool(trainer.controls.waiting)


def current_losses(services: ViewServices, latest: PerSampleLosses | None) -> PerSampleLosses | None:
    """``latest``, or a fresh measurement when the trainer is still and has moved on since ``latest``."""
    global _last
    trainer = services.trainer
    if trainer is None or latest_probe(trainer) is None or not is_still(trainer, services.running):
        return latest
    if latest is not None and latest.step >= trainer.step:
        return latest
    if _last is not None and _last[:2] == (id(trainer), trainer.step):
        return _last[2]
    batch = getattr(trainer, "last_batch", None)
    if batch is None:  # not a step taken yet
        return latest
    event = measure(trainer, *batch)
    _last = (id(trainer), trainer.step, event)
    return event
