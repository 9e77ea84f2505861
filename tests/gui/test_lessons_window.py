"""The Lessons dock, classroom locks, presenter zoom, Step One Epoch and Save Window as Lesson (#15),
through the real window and worker."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QApplication

from losslab.core.experiment import Experiment, load_experiment
from losslab.core.lessons import find_lessons, load_lesson
from losslab.core.resources import examples_dir


def _lesson(window, wanted):
    return find_lessons(window.lessons_ui.browser.lessons, [wanted])[0]


def test_help_lessons_opens_the_browser_and_a_lesson_loads_its_preset(qtbot, window, settings):
    ui = window.lessons_ui
    helpm = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert ui.action in helpm.actions()
    ui.action.trigger()
    assert ui.dock.isVisible() and ui.browser.pages.currentIndex() == 1
    lesson = _lesson(window, "04")
    ui.browser.select(lesson.id)
    assert "Mean squared error on house prices" in ui.browser.text.toPlainText()
    assert "MSE = 1⁄N" in ui.browser.text.toPlainText()  # the formula, rendered
    ui.browser.open_button.click()

    exp = window.state.experiment
    preset = load_experiment(examples_dir() / "01_house_prices_mse.losslab")
    for section in ("dataset", "model", "loss", "optimizer", "training"):
        assert getattr(exp, section) == getattr(preset, section)
    assert window.lesson.isVisible() and "Lesson 04" in window.lesson.text()
    assert ui.browser.note.text().startswith("Open in the window")
    assert settings.value("lessons/current") == lesson.id
    assert lesson.id in settings.value("lessons/done")
    assert ui.browser.list.currentItem().text().startswith("✓ ")

    # Edited away from the preset: the banner and the lesson text both say so.
    window.state.update("dataset", noise=2.0)
    assert "Edited since it was opened (dataset)" in window.lesson.text()
    assert "checked on the preset" in ui.browser.note.text()
    ui.browser.go(+1)
    assert ui.browser.current.id != lesson.id and ui.browser.note.text().startswith("Not open")


def test_progress_is_remembered_and_the_start_page_continues_from_it(qtbot, window, settings):
    from losslab.gui.lessons import LessonsUI

    ui = window.lessons_ui
    first = ui.browser.lessons[0]
    assert ui.open_lesson(first)
    again = LessonsUI(window)  # a new window's lessons, from the same settings
    assert again.browser.pages.currentIndex() == 0  # the start page first
    assert "1 of" in again.browser.progress_label.text()
    assert again.browser.continue_button.text().startswith(
        f"Continue with lesson {ui.browser.lessons[1].number}"
    )
    again.browser.continue_button.click()
    assert again.browser.pages.currentIndex() == 1
    assert again.browser.current.id == ui.browser.lessons[1].id  # the one the button named
    assert settings.value("lessons/current") == again.browser.current.id


def test_a_lessons_locks_follow_the_experiment(qtbot, window):
    ui, classroom = window.lessons_ui, window.classroom
    assert ui.open_lesson(_lesson(window, "05"))  # locks dataset, model, optimizer
    assert not window.dataset_panel.isEnabled() and not window.layer_panel.isEnabled()
    optimizer_boxes = classroom.section_widgets("optimizer")
    assert optimizer_boxes and not any(box.isEnabled() for box in optimizer_boxes)
    assert all(box.isEnabled() for box in classroom.section_widgets("training"))
    assert len(classroom.section_widgets("loss")) == 2  # the pick list and the chosen loss's parameters
    assert all(box.isEnabled() for box in classroom.section_widgets("loss"))
    classroom.lift_action.trigger()
    assert window.dataset_panel.isEnabled()
    classroom.lift_action.trigger()
    assert not window.dataset_panel.isEnabled()

    doc = Experiment.default().to_dict()
    doc["classroom"] = {"hide": ["regularization", "model"], "hide_tabs": ["landscape", "lossInspector"]}
    window.files.open_experiment(Experiment.from_dict(doc), "a classroom file")
    assert window.dataset_panel.isEnabled()  # the lesson's locks went with it
    assert not window.docks["layerPanel"].isVisible()
    assert not any(box.isVisible() for box in classroom.section_widgets("regularization"))
    hidden = {
        window.views.widget(i).objectName()
        for i in range(window.views.count())
        if not window.views.isTabVisible(i)
    }
    assert hidden == {"landscapeView", "lossInspector"}
    window.docks["datasetPanel"].close()  # the user's own choice: not the file's to undo
    window.files.open_experiment(Experiment.default(), "a plain file")
    assert not window.docks["datasetPanel"].isVisible()
    assert window.docks["layerPanel"].isVisible() and all(
        window.views.isTabVisible(i) for i in range(window.views.count())
    )


def test_presenter_zoom_scales_fonts_and_every_plot_line(qtbot, window, settings):
    classroom = window.classroom
    app = QApplication.instance()
    base = app.font().pointSizeF()
    curve = window.loss_view.plot.getPlotItem().listDataItems()[0]
    width = curve.opts["pen"].widthF() or 1.0
    classroom.zoom_actions[2.0].trigger()
    assert app.font().pointSizeF() == pytest.approx(2 * base)
    assert curve.opts["pen"].widthF() == pytest.approx(2 * width)
    assert float(settings.value("classroom/zoom")) == 2.0
    classroom._scale_plots()  # re-applied each second: never compounds
    assert curve.opts["pen"].widthF() == pytest.approx(2 * width)
    items = window.loss_view.plot.getPlotItem().listDataItems()
    dotted = [c for c in items if isinstance(c, pg.PlotDataItem) and c.opts.get("symbol")]
    assert dotted
    sizes = [c.opts["symbolSize"] for c in dotted]
    classroom.zoom_actions[1.0].trigger()
    assert app.font().pointSizeF() == pytest.approx(base)
    assert [2 * c.opts["symbolSize"] for c in dotted] == pytest.approx(sizes)  # the epoch markers too
    assert curve.opts["pen"].widthF() == pytest.approx(width)


def test_step_one_epoch_runs_to_the_end_of_the_epoch_and_stays_paused(qtbot, window):
    window.open_file(examples_dir() / "01_house_prices_mse.losslab", as_example=True)
    window.classroom.step_epoch_action.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step == 8, timeout=10_000)
    assert window.trainer.steps_per_epoch == 8
    qtbot.waitUntil(lambda: window.trainer.controls.waiting, timeout=5000)
    assert window.controller.paused and window.trainer.epoch == 1
    qtbot.wait(200)
    assert window.trainer.step == 8  # paused there: nothing more ran
    window.run.step_once()  # one batch into epoch 2, then a whole-epoch step finishes epoch 2 only
    qtbot.waitUntil(lambda: window.trainer.step == 9 and window.trainer.controls.waiting, timeout=5000)
    window.classroom.step_epoch_action.trigger()
    qtbot.waitUntil(lambda: window.trainer.step == 16 and window.trainer.controls.waiting, timeout=10_000)
    assert window.trainer.epoch == 2
    window.run.stop()


def test_save_window_as_lesson_writes_a_checkable_lesson(qtbot, window, tmp_path):
    from losslab.gui.lessons.save_dialog import SaveLessonDialog

    window.open_file(examples_dir() / "01_house_prices_mse.losslab", as_example=True)
    dialog = SaveLessonDialog(window)
    qtbot.addWidget(dialog)
    dialog.title.setText("Noisy houses")
    dialog.try_.setPlainText("Raise the noise.")
    dialog.formulas.setPlainText(r"\frac{1}{N}\sum_i e_i^2")
    dialog.lock_boxes["dataset"].setChecked(True)
    dialog.hide_boxes["regularization"].setChecked(True)
    dialog.column.setCurrentText("train_loss")
    dialog.op.setCurrentIndex(0)  # below
    dialog.value.setValue(10.0)
    assert dialog.save_to(tmp_path / "01_noisy.lesson")
    lesson = load_lesson(tmp_path / "01_noisy.lesson")
    assert lesson.title == "Noisy houses" and lesson.source == "inline"
    assert lesson.classroom == {"lock": ["dataset"], "hide": ["regularization"], "hide_tabs": []}
    assert lesson.experiment.dataset == window.state.experiment.dataset
    assert lesson.claims[0].op == "below" and lesson.claims[0].value == 10.0
    dialog.try_.setPlainText("")
    assert not dialog.save_to(tmp_path / "02_bad.lesson")
    assert "text.try" in dialog.error.text()
    assert not (tmp_path / "02_bad.lesson").exists()


def test_a_race_lesson_races_the_variants_it_checked(qtbot, window, data_dir):
    ui = window.lessons_ui
    lesson = _lesson(window, "15")
    ui.race_lesson(lesson)
    races = window.findChild(type(window), "raceWindow") or next(
        w for w in QApplication.topLevelWidgets() if w.objectName() == "raceWindow"
    )
    qtbot.waitUntil(lambda: not races.running and races.result is not None, timeout=30_000)
    assert [v.label for v in races.result.variants] == ["lr=0.001", "lr=0.05", "lr=10"]
    assert races.result.variants[2].status == "diverged"


def test_the_help_window_lists_the_lessons_and_classroom_mode(qtbot, window):
    window.show_help()
    tabs = window._help.tabs
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    assert "Lessons" in titles
    text = tabs.widget(titles.index("Lessons")).toPlainText()
    assert window.lessons_ui.browser.lessons[0].title in text
    assert "Lift Classroom Locks" in text and "losslab lessons --check" in text
    window._help.close()


def test_check_claims_trains_the_preset_in_the_background_and_shows_each_claim(qtbot, window):
    ui = window.lessons_ui
    ui.show_lessons()
    ui.browser.select(_lesson(window, "04").id)
    ui.browser.check_button.click()
    assert not ui.browser.check_button.isEnabled() and "Checking 04" in ui.browser.check_status.text()
    qtbot.waitUntil(lambda: ui.check_task is None, timeout=30_000)
    assert ui.browser.check_status.text().startswith("Checked here: all 2 claims held")
    text = ui.browser.text.toPlainText()
    assert "✓ held: the fitted slope is within 5% of the true $150" in text and "measured 148" in text
    assert window.trainer is None  # the window's own run was not touched


def test_the_lessons_dock_keeps_the_window_within_1280x720(qtbot, window):
    """Raised, on either page, after progress made the start page's button name a lesson."""
    ui = window.lessons_ui
    longest = max(ui.browser.lessons, key=lambda x: len(x.title))
    for lesson in ui.browser.lessons:
        if lesson is not longest:
            ui._mark_done(lesson)  # the start page's button now names the longest-titled lesson
    window.resize(1280, 720)
    ui.show_lessons()
    ui.browser.select(longest.id)
    for page in (0, 1):
        ui.browser.pages.setCurrentIndex(page)
        qtbot.wait(50)
        assert window.minimumSizeHint().width() <= 1280, (page, ui.browser.minimumSizeHint().width())
        assert window.width() <= 1280
