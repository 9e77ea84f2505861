"""The custom losses of this session, so one stays in the loss picker (and the inspector) after the
experiment switches to another loss. One list per ExperimentState; it fills itself from every custom
loss the experiment uses (written in the editor, opened from a file, or an example)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from losslab.core.custom_loss import is_custom
from losslab.gui.state import ExperimentState

_ATTRIBUTE = "_losslab_custom_losses"


class CustomLossLibrary(QObject):
    changed = Signal()

    def __init__(self, state: ExperimentState) -> None:
        super().__init__(state)
        self.state = state
        self._sections: list[dict[str, Any]] = []
        state.changed.connect(self._on_state_changed)
        self._on_state_changed("all")

    def sections(self) -> list[dict[str, Any]]:
        return [dict(s) for s in self._sections]

    def get(self, name: str) -> dict[str, Any] | None:
        return next((dict(s) for s in self._sections if s["name"] == name), None)

    def add(self, section: dict[str, Any]) -> None:
        """Add a validated custom section; one with the same name is replaced."""
        for i, s in enumerate(self._sections):
            if s["name"] == section["name"]:
                if s == section:
                    return
                self._sections[i] = dict(section)
                self.changed.emit()
                return
        self._sections.append(dict(section))
        self.changed.emit()

    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in ("loss", "all") and is_custom(self.state.experiment.loss):
            self.add(self.state.experiment.loss)


def library_for(state: ExperimentState) -> CustomLossLibrary:
    """The state's library, made on first use (the panels and views share it)."""
    library = getattr(state, _ATTRIBUTE, None)
    if library is None:
        library = CustomLossLibrary(state)
        setattr(state, _ATTRIBUTE, library)
    return library
