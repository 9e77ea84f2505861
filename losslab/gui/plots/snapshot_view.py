"""A tab drawn from the latest snapshot a probe sends from the training thread (the GAN and the
Calibration tabs): taken once more from the idle trainer when a run ends, so the last picture shows
the final weights, and drawn only when something changed and the tab is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from losslab.gui.view_api import DrawnWhenDue, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import Finished
    from losslab.core.trainer import Trainer


class SnapshotView(DrawnWhenDue):
    snapshot_type: ClassVar[type] = object  # the event type the view's probe sends

    def __init__(self, services: ViewServices) -> None:
        super().__init__()
        self.services = services
        self._dataset: Dataset | None = None
        self._snapshot: Any = None

    def final_snapshot(self, trainer: Trainer) -> Any:
        """The snapshot of an idle trainer whose run has ended (None: nothing for this view)."""
        return None

    def can_draw(self) -> bool:
        return self._dataset is not None

    def on_event(self, event: object) -> None:
        if isinstance(event, self.snapshot_type):
            self._snapshot = event
            self._dirty = True

    def on_finished(self, result: Finished | None) -> None:
        trainer = self.services.trainer
        if trainer is not None and not self.services.running:
            snapshot = self.final_snapshot(trainer)  # the run's thread has ended: the final weights
            if snapshot is not None:
                self._snapshot = snapshot
                self._dirty = True
                self.redraw()
