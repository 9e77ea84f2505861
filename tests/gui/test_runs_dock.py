"""The Runs dock in the window: runs appear as they start and finish (through the real worker),
rename, tags, delete and undo, filter, reopen, a damaged history, repeat over seeds."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from losslab.core.runs import DB_NAME, FINISHED, RUNNING, STOPPED, open_store
from losslab.gui.runs.run_table import KEYS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {"epochs": 3, "batch_size": 64}


@pytest.fixture
def win(qtbot, settings, dialogs, data_dir):
    from losslab.gui.main_window import MainWindow

    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.state.mark_saved()
    w.controller.stop()


def _train(qtbot, window, **training):
    window.state.update("training", **{**FAST, **training})
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()


def _panel(window):
    return window.runs_ui.panel


def _cell(panel, row, key):
    return panel.proxy.index(row, KEYS.index(key)).data()


def test_the_dock_is_in_the_view_menu_and_shows_the_empty_state(win):
    dock = win.docks["runsDock"]
    assert dock.widget() is _panel(win)
    view_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    assert dock.toggleViewAction() in view_menu.actions()
    panel = _panel(win)
    assert panel.stack.currentWidget() is panel.empty
    assert "No runs yet" in panel.empty.text() and "Train" in panel.empty.text()
    train_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Train")
    names = [a.objectName() for a in train_menu.actions()]
    assert "actionRepeatSeeds" in names and "actionCompareRuns" in names


def test_a_window_run_appears_as_it_starts_and_updates_when_it_ends(qtbot, win):
    panel = _panel(win)
    win.state.update("optimizer", id="sgd", params={}, lr=0.05)
    win.state.update("training", epochs=1000, batch_size=32)
    win.actionTrain.trigger()
    assert panel.model.rowCount() == 1  # listed at once, before any epoch
    assert _cell(panel, 0, "status") == RUNNING
    qtbot.waitUntil(lambda: len(win.trainer.history) >= 2, timeout=20_000)
    with qtbot.waitSignal(win.controller.finished, timeout=20_000):
        win.actionStop.trigger()
    assert _cell(panel, 0, "status") == STOPPED
    assert _cell(panel, 0, "loss") == "BCE with logits"  # the display name, not the id
    assert _cell(panel, 0, "optimizer") == "sgd lr 0.05"
    assert _cell(panel, 0, "dataset") == "moons"
    assert _cell(panel, 0, "model") == "2-16-16-1 (337)"
    assert _cell(panel, 0, "final").startswith("Accuracy 0.")
    win.run.reset_weights()
    _train(qtbot, win)
    assert panel.model.rowCount() == 2
    assert _cell(panel, 0, "status") == FINISHED  # newest first
    assert _cell(panel, 0, "epochs") == "3/3"


def _two_runs(qtbot, win):
    _train(qtbot, win)
    win.state.update("optimizer", lr=0.05)
    _train(qtbot, win)
    panel = _panel(win)
    assert panel.model.rowCount() == 2
    return panel


def test_rename_tags_delete_and_undo(qtbot, win):
    panel = _two_runs(qtbot, win)
    store = win.runs_ui.history.store
    newest = panel.proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 2)
    assert panel.proxy.setData(panel.proxy.index(0, KEYS.index("name")), "  fast lr  ")
    assert store.summary(newest).name == "fast lr"
    assert _cell(panel, 0, "name") == "fast lr"
    assert panel.proxy.setData(panel.proxy.index(0, KEYS.index("tags")), "lesson 1, lr;  keep")
    assert store.summary(newest).tags == ("lesson 1", "lr", "keep")
    assert _cell(panel, 0, "tags") == "lesson 1, lr, keep"
    assert not panel.undo_button.isEnabled()

    panel.select_ids([newest])
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert panel.model.rowCount() == 1
    assert store.list_runs(include_deleted=True)[0].deleted is not None  # soft: nothing is gone
    assert panel.undo_button.isEnabled() and "1" in panel.undo_button.text()
    qtbot.keyClick(panel.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.model.rowCount() == 2
    assert panel.selected_ids() == [newest]
    assert not panel.undo_button.isEnabled()

    panel.table.selectAll()
    panel.delete_button.click()
    assert panel.stack.currentWidget() is panel.empty
    panel.undo_button.click()
    assert panel.model.rowCount() == 2


def test_filter_by_text_and_status(qtbot, win):
    panel = _two_runs(qtbot, win)
    store = win.runs_ui.history.store
    first = store.list_runs()[-1].id
    panel.proxy.setData(panel.proxy.index(1, KEYS.index("name")), "slow one")
    panel.filter.setText("slow")
    assert panel.model.rowCount() == 1 and panel.model.runs[0].id == first
    panel.filter.setText("no such run")
    assert panel.stack.currentWidget() is panel.empty and "filter" in panel.empty.text()
    panel.filter.clear()
    panel.status_filter.setCurrentIndex(panel.status_filter.findData(STOPPED))
    assert panel.model.rowCount() == 0
    panel.status_filter.setCurrentIndex(panel.status_filter.findData(FINISHED))
    assert panel.model.rowCount() == 2


def test_double_click_reopens_the_experiment_as_it_was_run(qtbot, win, dialogs):
    win.state.update("optimizer", lr=0.03)
    win.state.update("training", seed=7)
    _train(qtbot, win)
    panel = _panel(win)
    run_id = panel.model.runs[0].id
    ran = win.runs_ui.history.store.experiment_of(run_id).to_dict()
    assert ran == win.state.experiment.to_dict()
    win.state.update("optimizer", lr=0.2)  # an unsaved change: opening asks first
    dialogs.answer = QMessageBox.StandardButton.Cancel
    panel._on_double_click(panel.proxy.index(0, 0))
    assert dialogs.seen[-1][1] == "Unsaved changes"
    assert win.state.experiment.optimizer["lr"] == 0.2  # cancelled: nothing replaced
    dialogs.answer = QMessageBox.StandardButton.Discard
    panel._on_double_click(panel.proxy.index(0, 0))
    assert win.state.experiment.to_dict() == ran
    assert not win.state.modified
    assert win.trainer is None  # a fresh start from the reopened settings


def test_a_damaged_history_still_opens_the_window_with_a_message(qtbot, settings, dialogs, data_dir):
    from losslab.gui.main_window import MainWindow

    damaged = b"this is not a database" * 100
    (data_dir / DB_NAME).write_bytes(damaged)
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    try:
        panel = _panel(w)
        assert not panel.message.isHidden()  # shown in the Runs dock (hidden until opened)
        assert "damaged" in panel.message.text() and "Move it aside" in panel.message.text()
        assert not panel.retry_button.isHidden()
        assert panel.stack.currentWidget() is panel.empty
        _train(qtbot, w)  # training works unrecorded
        assert len(w.trainer.history) == 3
        assert (data_dir / DB_NAME).read_bytes() == damaged  # left as it was
        (data_dir / DB_NAME).rename(data_dir / "old.sqlite3")  # the fix the message gives
        panel.retry_button.click()
        assert panel.message.isHidden() and w.runs_ui.history.available
    finally:
        w.state.mark_saved()
        w.controller.stop()


def test_repeat_over_seeds_runs_one_group_and_compares_it(qtbot, win):
    win.state.update("training", **FAST, seed=5)
    runs_ui = win.runs_ui
    with qtbot.waitSignal(runs_ui.seeds.done, timeout=120_000):
        assert runs_ui.repeat_over_seeds(2)
        assert win.controller.running  # in the background: the window goes on
    store = open_store()
    try:
        runs = sorted(store.list_runs(), key=lambda r: r.id)
        assert [r.seed for r in runs] == [5, 6]
        assert len({r.group_id for r in runs}) == 1 and runs[0].group_id.startswith("seeds-")
        assert all(r.status == FINISHED and r.epochs_done == 3 for r in runs)
        assert [r.name.rsplit(" ", 1)[-1] for r in runs] == ["5", "6"]
    finally:
        store.close()
    assert win.state.experiment.training["seed"] == 5  # the panels keep their experiment
    compare = runs_ui.compare
    assert compare is not None and compare.isVisible() and compare.band.isChecked()
    assert compare.setting_rows() == ["training.seed"]
    assert compare.items["loss"][0].name().endswith("(mean ± std of 2) (train)")
    assert sorted(_panel(win).selected_ids()) == [r.id for r in runs]
    # Train afterwards trains the panels' experiment again, from fresh weights.
    _train(qtbot, win)
    assert win.trainer.experiment.training["seed"] == 5


def test_compare_from_the_train_menu(qtbot, win):
    panel = _two_runs(qtbot, win)
    win.runs_ui.actionCompare.trigger()  # nothing selected: the panel opens and says what to do
    assert win.runs_ui.dock.isVisible() and win.runs_ui.compare is None
    assert "Select the runs" in win.statusBar().currentMessage()
    panel.table.selectAll()
    win.runs_ui.actionCompare.trigger()
    compare = win.runs_ui.compare
    assert compare.isVisible()
    assert compare.setting_rows() == ["optimizer.lr"]
    assert len([i for i in compare.items["loss"] if i.name().endswith("(train)")]) == 2
    panel.select_ids([panel.model.runs[0].id])
    win.runs_ui.actionCompare.trigger()  # the same window, now with the one run
    assert win.runs_ui.compare is compare and len(compare.records) == 1


def test_a_started_run_is_listed_as_a_full_relisting_would(qtbot, win):
    panel = _panel(win)
    _train(qtbot, win)
    win.run.reset_weights()
    panel.filter.setText("no run is called this")  # a filter on: the new run is not shown
    _train(qtbot, win)
    assert panel.model.rowCount() == 0
    panel.filter.setText("")
    win.run.reset_weights()
    win.state.update("training", epochs=1000, batch_size=32)
    win.actionTrain.trigger()  # no filter: only the new row is added
    added = [(r.id, r.status) for r in panel.model.runs]
    assert panel.count.text() == "3 runs" and added[0][1] == RUNNING
    panel.refresh()
    assert [(r.id, r.status) for r in panel.model.runs] == added
    with qtbot.waitSignal(win.controller.finished, timeout=20_000):
        win.actionStop.trigger()
