"""Races in the window (losslab/gui/race): the dialog, refusals, a live race through the real worker,
Stop, closing, and the run history's group."""

import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog

from losslab.core.errors import LossLabError
from losslab.core.events import StepBatch
from losslab.core.losses import losses_for_task
from losslab.core.race import RaceSteps
from losslab.core.resources import examples_dir

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _small(window, epochs=2, n_samples=300):
    window.state.update("dataset", n_samples=n_samples)
    window.state.update("training", epochs=epochs, batch_size=32)


def _dialog(window, setting=None):
    from losslab.gui.race import RaceDialog, open_race

    dialog = open_race(window, setting)
    assert isinstance(dialog, RaceDialog)
    return dialog


def _start(qtbot, window, values, setting="loss", epochs=None):
    from losslab.gui.race import race_window

    dialog = _dialog(window)
    dialog.select(setting)
    if epochs is not None:
        dialog.epochs.setValue(epochs)
    if isinstance(values, str):
        dialog.set_values_text(values)
    else:
        if setting == "loss":
            dialog.show_all.setChecked(False)
        dialog.set_checked(values)
    assert dialog.refusal == "", dialog.refusal
    assert dialog.start_button.isEnabled()
    dialog.start_button.click()
    races = race_window(window)
    assert races.running
    return races


def _wait_over(qtbot, races, timeout=60_000):
    qtbot.waitUntil(lambda: not races.running and races.result is not None, timeout=timeout)


# -- the dialog -----------------------------------------------------------------------------------
def test_dialog_is_prefilled_from_the_current_experiment(window):
    window.open_file(examples_dir() / "02_house_outliers_mse.losslab", as_example=True)
    exp = window.state.experiment
    assert window.state.task == "regression"
    dialog = _dialog(window)
    assert dialog.choice.setting == "loss"
    # the losses that fit the task, the current one ticked with a robust one beside it
    offered = [value for _, value in dialog._entries]
    assert offered == [spec.id for spec in losses_for_task("regression")]
    vary = dialog.vary()
    assert list(vary) == ["loss"] and exp.loss["id"] in vary["loss"] and len(vary["loss"]) == 2
    assert dialog.plan is not None and dialog.plan.labels == [f"loss={v}" for v in vary["loss"]]
    assert dialog.start_button.isEnabled()
    assert "variants" in dialog.preview.text()

    dialog.select("optimizer.lr")
    lr = exp.optimizer["lr"]
    assert dialog.vary() == {
        "optimizer.lr": [pytest.approx(lr / 10), pytest.approx(lr), pytest.approx(lr * 10)]
    }
    dialog.set_values_text("0.001, 0.03")
    assert dialog.vary() == {"optimizer.lr": [0.001, 0.03]}
    dialog.select("training.batch_size")
    assert all(isinstance(v, int) for v in dialog.vary()["training.batch_size"])
    settings = [c.setting for c in dialog.choices]
    for expected in ("optimizer", "regularization.l2", "training.seed"):
        assert expected in settings
    assert "activation" not in settings  # a linear model: no activation to swap
    # the epochs override goes into every variant
    dialog.epochs.setValue(3)
    plan = dialog.replan()
    assert all(v.experiment.training["epochs"] == 3 for v in plan.variants)
    dialog.reject()


def test_a_refusal_is_shown_in_the_dialog_not_raised(window):
    from losslab.gui.race import race_window

    dialog = _dialog(window)  # two moons: a binary task
    dialog.show_all.setChecked(True)  # the losses for other tasks are offered too
    dialog.set_checked(["bce_logits", "cross_entropy"])
    assert "Cross-entropy needs class labels" in dialog.refusal
    assert dialog.error.isVisible() and dialog.error.text() == dialog.refusal
    assert not dialog.start_button.isEnabled()
    dialog.accept()  # Enter in the dialog: nothing trains, the dialog stays with its reason
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert not race_window(window).running

    dialog.select("optimizer.lr")
    dialog.set_values_text("0.01, 0.01")
    assert "each variant must differ" in dialog.refusal
    dialog.set_values_text("0.01, fast")
    assert "must be a number" in dialog.refusal
    dialog.set_values_text("0.01, 0.1")
    assert dialog.refusal == "" and dialog.start_button.isEnabled() and not dialog.error.isVisible()
    dialog.reject()


# -- a race ---------------------------------------------------------------------------------------
def test_a_short_race_draws_a_curve_per_variant_and_ends_fair_and_kept(qtbot, window):
    from losslab.core.runs import open_store

    _small(window)
    races = _start(qtbot, window, ["bce_logits", "hinge", "focal"])
    assert races.isVisible()
    _wait_over(qtbot, races)
    result = races.result
    view = races.view

    assert [lane.label for lane in view.lanes] == ["loss=bce_logits", "loss=hinge", "loss=focal"]
    curves = view.curves()
    for lane in view.lanes:
        x, y = curves[f"{lane.label} train"]
        assert len(x) == result.variants[0].steps and np.isfinite(y).all()
        assert x[-1] == pytest.approx(2.0)  # drawn against the epoch
        assert len(curves[f"{lane.label} val"][0]) == 2
        assert len(curves[f"{lane.label} accuracy"][0]) == 2
    legend = [label.text for _, label in view.loss_legend.items]
    assert legend == ["loss=bce_logits", "loss=hinge", "loss=focal"]
    colors = {lane.color for lane in view.lanes}
    assert len(colors) == 3

    rows = view.row_texts()
    assert [r[2] for r in rows] == ["finished"] * 3
    assert [r[3] for r in rows] == ["2/2"] * 3
    assert all(r[1] == "batched" for r in rows)
    assert view.table.horizontalHeaderItem(6).text() == "Accuracy"
    for row, v in zip(rows, result.variants, strict=True):
        assert row[6] == f"{v.final['metric_value']:.4g}"

    assert result.fair and len({v.init_digest for v in result.variants}) == 1
    assert len({v.batch_order_digest for v in result.variants}) == 1
    fair = view.fair_badge.text()
    assert fair.startswith("Fair") and result.variants[0].init_digest[:12] in fair
    assert result.variants[0].batch_order_digest[:12] in fair
    assert view.scale_note.isVisible() and "own scale" in view.scale_note.text()
    assert races.status.text().startswith("Finished")

    with open_store() as store:
        runs = store.groups(result.group_id)
    assert len(runs) == 3
    assert all("race" in r.tags and r.status == "finished" for r in runs)
    assert result.group_id in races.kept.text() and "3 runs" in races.kept.text()


def test_stop_mid_race_ends_it_stopped_without_freezing(qtbot, window):
    _small(window, epochs=3000, n_samples=400)
    races = _start(qtbot, window, "0.001, 0.01", setting="optimizer.lr")
    qtbot.waitUntil(lambda: all(lane.steps.n > 20 for lane in races.view.lanes), timeout=20_000)
    # the GUI thread keeps serving events while the race trains
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    qtbot.wait(300)
    assert len(ticks) >= 5
    started = time.perf_counter()
    races.stop_button.click()
    assert time.perf_counter() - started < 0.5  # the click asks; it does not wait for the thread
    _wait_over(qtbot, races, timeout=15_000)
    timer.stop()
    result = races.result
    assert result.stopped
    assert [v.status for v in result.variants] == ["stopped", "stopped"]
    assert [r[2] for r in races.view.row_texts()] == ["stopped", "stopped"]
    assert races.status.text().startswith("Stopped")
    assert races.new_button.isEnabled() and not races.stop_button.isEnabled()


def test_a_race_whose_history_cannot_be_opened_still_runs_and_says_so(qtbot, window):
    from losslab.gui.race import race_window

    def locked():
        raise LossLabError("the run history is locked by another program")

    _small(window)
    race_window(window).open_store = locked
    races = _start(qtbot, window, ["bce_logits", "hinge"])
    _wait_over(qtbot, races)
    assert [v.status for v in races.result.variants] == ["finished", "finished"]
    assert "not kept" in races.kept.text() and "locked" in races.kept.text()


def test_race_action_in_the_train_menu_and_toolbar(qtbot, window):
    from PySide6.QtWidgets import QToolBar

    from losslab.gui.race import RaceDialog

    action = window.actionRace
    toolbar = window.findChild(QToolBar, "trainingToolbar")
    assert action in toolbar.actions()
    train_menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "&Train")
    assert action in train_menu.actions()
    action.trigger()
    dialog = window.findChild(RaceDialog, "raceDialog")
    assert dialog is not None and dialog.isVisible()
    dialog.reject()


def test_closing_the_main_window_stops_its_race(qtbot, window):
    _small(window, epochs=3000)
    races = _start(qtbot, window, ["bce_logits", "hinge"])
    qtbot.waitUntil(lambda: any(lane.steps.n for lane in races.view.lanes), timeout=20_000)
    window.state.mark_saved()
    assert window.close()
    assert not races.running
    assert races.result is not None and races.result.stopped


def test_a_custom_loss_races_on_its_own_labelled_by_its_name(qtbot, window):
    window.open_file(examples_dir() / "14_house_asymmetric_custom.losslab", as_example=True)
    window.state.update("training", epochs=2)
    dialog = _dialog(window)
    assert dialog.choice.options[0][0].endswith("(your loss)")
    dialog.epochs.setValue(3)
    dialog.start_button.click()  # at once: Start plans the race as it is now
    from losslab.gui.race import race_window

    races = race_window(window)
    _wait_over(qtbot, races)
    rows = races.view.row_texts()
    assert rows[0][0] == "loss=Asymmetric squared error"
    assert rows[0][1] == "sequential (custom loss code runs on its own)"
    assert [r[3] for r in rows] == ["3/3", "3/3"]


def test_steps_are_merged_per_variant_once_per_frame(qtbot):
    from losslab.gui.race import RaceController

    controller = RaceController()
    seen = []
    controller.variantSteps.connect(lambda v, batch: seen.append((v, batch)))

    def batch(first, n):
        steps = np.arange(first, first + n)
        loss = np.full(n, 0.5)
        return StepBatch(0, steps, loss, loss, None, None, 0.01, 0.1, 100.0)

    for k in range(10):
        controller._events.append(RaceSteps(0, batch(1 + 3 * k, 3)))
        if k % 2 == 0:
            controller._events.append(RaceSteps(1, batch(1 + 3 * k, 3)))
    assert controller.deliver() == 15
    assert [v for v, _ in seen] == [0, 1]
    assert seen[0][1].steps.tolist() == list(range(1, 31))
    assert len(seen[1][1].steps) == 15
    assert controller.deliver() == 0
