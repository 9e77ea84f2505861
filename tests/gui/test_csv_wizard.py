"""The CSV import wizard (#14): what it shows is what the trainer trains on; the window keeps
running while a large file is read; a changed or missing CSV is a notice, not a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer

from losslab.core.data import CSV_KIND
from losslab.core.experiment import Experiment
from losslab.core.tasks import MULTICLASS, REGRESSION
from losslab.gui.csv_wizard import CsvImportDialog
from losslab.gui.panels.dataset import DatasetPanel
from losslab.gui.state import ExperimentState

CITIES = ("Paris", "Rome", "Oslo")


@pytest.fixture
def state() -> ExperimentState:
    return ExperimentState()


def _export(path: Path, n: int = 40, gap: bool = True) -> Path:
    """Semicolons, decimal commas, a text column, an id column and (at line 6) a missing size."""
    rows = [f"{i},5;{CITIES[i % 3]};{100 + i};{'yes' if (i * 7) % 3 else 'no'}" for i in range(n)]
    if gap:
        rows[4] = f";Rome;104;{'yes' if 28 % 3 else 'no'}"
    path.write_text("size;city;id;bought\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _panel(qtbot: Any, state: ExperimentState) -> DatasetPanel:
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    panel.resize(320, 800)
    panel.show()
    return panel


def _settled(qtbot: Any, wizard: CsvImportDialog) -> None:
    qtbot.waitUntil(lambda: not wizard.busy, timeout=20_000)


def _item(wizard: CsvImportDialog, name: str) -> Any:
    return next(
        wizard.feature_list.item(i)
        for i in range(wizard.feature_list.count())
        if wizard.feature_list.item(i).text() == name
    )


def test_the_wizard_imports_what_it_shows_and_the_trainer_gets_it(qtbot, state, tmp_path):
    from losslab.core.trainer import make_trainer

    path = _export(tmp_path / "shop.csv")
    panel = _panel(qtbot, state)
    wizard = panel.open_csv_wizard(str(path))
    _settled(qtbot, wizard)
    assert "semicolon-separated, decimal comma · 40 rows · 4 columns" in wizard.format_label.text()
    headers = [wizard.preview.horizontalHeaderItem(j).text() for j in range(4)]
    assert headers[1] == "city\n(text: one-hot)" and headers[0] == "size\n(numbers)"
    # As read: the decimal comma understood, the gap shown empty.
    assert wizard.preview.item(0, 0).text() == "0.5" and wizard.preview.item(4, 0).text() == ""
    assert wizard.target_combo.currentText() == "bought"
    assert wizard.task_combo.currentText() == "Detected: Binary classification, 2 classes"
    # The default policy refuses the gap and says where it is; Import waits for a choice.
    assert "line 6, column 'size': missing value" in wizard.error.message()
    assert not wizard.import_button.isEnabled()

    wizard.missing_combo.setCurrentIndex(wizard.missing_combo.findData("mean"))
    wizard.missing_combo.activated.emit(wizard.missing_combo.currentIndex())
    _item(wizard, "id").setCheckState(Qt.CheckState.Unchecked)  # an id is no feature
    _settled(qtbot, wizard)
    assert wizard.import_button.isEnabled(), wizard.error.message()
    assert "filled 1 missing value(s) of column 'size'" in wizard.summary.text()
    assert "4 inputs from 2 columns" in wizard.summary.text()
    wizard.import_button.click()

    cfg = state.experiment.dataset
    assert cfg["kind"] == CSV_KIND and cfg["features"] == ["size", "city"] and cfg["missing"] == "mean"
    assert cfg["sha256"] == wizard.table.sha256 and cfg["target_column"] == "bought"
    trainer = make_trainer(state.experiment)
    assert trainer.dataset.feature_names == ["size", "city=Oslo", "city=Paris", "city=Rome"]
    assert trainer.dataset.class_names == ["no", "yes"]
    assert "mean" in panel.notice_label.text() and not panel.notice_label.isHidden()

    # Re-opened on the same file: the choices made are preselected; override the task.
    again = panel.open_csv_wizard(str(path))
    _settled(qtbot, again)
    assert again.features() == ["size", "city"] and again.missing_combo.currentData() == "mean"
    again.target_combo.setCurrentIndex(again.target_combo.findData("city"))
    again.target_combo.activated.emit(again.target_combo.currentIndex())
    _settled(qtbot, again)
    assert again.task_combo.currentText() == "Detected: Multi-class classification, 3 classes"
    again.import_button.click()
    assert state.task == MULTICLASS and state.dataset.class_names == ["Oslo", "Paris", "Rome"]


def test_a_large_file_is_read_while_the_window_keeps_running(qtbot, state, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,y\n" + "".join(f"{i * 0.5},{i % 7},{i * 0.25}\n" for i in range(150_000)))
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    wizard = CsvImportDialog(str(path))
    qtbot.addWidget(wizard)
    assert wizard.busy and wizard.progress.isVisibleTo(wizard)  # the reading runs elsewhere
    _settled(qtbot, wizard)
    timer.stop()
    assert len(ticks) >= 3, "the GUI thread was blocked while the file was read"
    assert wizard.import_button.isEnabled() and "150,000 rows" in wizard.summary.text()
    assert wizard.table is not None and wizard.table.task == REGRESSION


def test_stop_ends_the_read(qtbot, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(150_000)))
    wizard = CsvImportDialog(str(path))
    qtbot.addWidget(wizard)
    wizard.stop_button.click()
    _settled(qtbot, wizard)
    assert wizard.parsed is None and wizard.error.message() == "Stopped."
    assert not wizard.import_button.isEnabled()


def test_an_opened_experiment_whose_csv_changed_says_so(qtbot, state, tmp_path):
    path = _export(tmp_path / "shop.csv", gap=False)
    panel = _panel(qtbot, state)
    wizard = panel.open_csv_wizard(str(path))
    _settled(qtbot, wizard)
    wizard.import_button.click()
    saved = Experiment.from_dict(state.experiment.to_dict())

    _export(path, n=41, gap=False)  # edited in a spreadsheet since
    notices: list[str] = []
    panel.notice.connect(notices.append)
    state.replace_experiment(saved)
    assert not panel.source_box.isHidden() and "shop.csv has changed" in panel.source_label.text()
    assert notices and "has changed" in notices[0]
    panel.source_button.click()
    assert panel.source_box.isHidden()
    assert state.experiment.dataset["sha256"] != saved.dataset["sha256"]
    assert state.dataset.n_train + state.dataset.n_val == 41


def test_opening_an_experiment_whose_csv_is_missing_says_so_and_keeps_the_window(
    qtbot, window, dialogs, tmp_path
):
    path = _export(tmp_path / "shop.csv", gap=False)
    wizard = window.dataset_panel.open_csv_wizard(str(path))
    _settled(qtbot, wizard)
    wizard.import_button.click()
    experiment_path = tmp_path / "shop.losslab"
    window.state.experiment.save(experiment_path)
    window.state.mark_saved()
    before = window.state.experiment.to_dict()
    path.unlink()

    assert window.files.open_file(experiment_path) is False
    kind, _title, text = dialogs.seen[-1]
    assert kind == "warning" and "shop.csv is missing" in text
    assert window.state.experiment.to_dict() == before  # the window kept what it had


def test_file_menu_import_csv_opens_the_wizard(qtbot, window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    path = _export(tmp_path / "shop.csv", gap=False)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    opened: list[str] = []
    monkeypatch.setattr(window.dataset_panel, "open_csv_wizard", lambda p: opened.append(p))
    window.actions_by_name["actionImportCsv"].trigger()
    assert opened == [str(path)]
