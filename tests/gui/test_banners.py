"""Notices follow the state: the lesson banner says when the experiment left the example it describes,
and the dataset panel's "Loss switched" note goes once the loss is changed again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "05_moons_bce_logits.losslab"


def _activate(combo, data) -> None:
    index = combo.findData(data, Qt.ItemDataRole.UserRole)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_lesson_banner_says_when_the_experiment_was_edited_away_from_the_example(qtbot, window) -> None:
    assert window.open_file(EXAMPLE, as_example=True)
    assert window.lesson.isVisible() and "Edited" not in window.lesson.text()
    _activate(window.dataset_panel.kind_combo, "circles")
    assert "Edited since it was opened (dataset)" in window.lesson.text()
    window.state.update("optimizer", lr=0.05)
    assert "(dataset and optimizer)" in window.lesson.text()
    window.actionUndo.trigger()
    window.actionUndo.trigger()
    assert "Edited" not in window.lesson.text()  # back to the example as opened


def test_loss_switched_note_goes_when_the_loss_changes_again(qtbot, window) -> None:
    panel = window.dataset_panel
    _activate(panel.kind_combo, "house_prices")  # the classification loss cannot stay
    assert panel.notice_label.isVisible() and "Loss switched" in panel.notice_label.text()
    window.state.update("loss", id="mae", params={})
    assert not panel.notice_label.isVisible()
    _activate(panel.kind_combo, "moons")
    assert panel.notice_label.isVisible()
    window.actionUndo.trigger()  # undoing the switch: the note about it no longer holds
    assert not panel.notice_label.isVisible()
