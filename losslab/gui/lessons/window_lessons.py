"""The window's lessons: the Lessons dock (start page + browser), Help > Lessons, opening a lesson's
preset, racing it, progress in QSettings, and the lesson text following the experiment.

Opening a lesson loads its preset as an untitled experiment named after the lesson, with the lesson's
"do" and "look at" text as its description, so the window's banner (main_window._update_lesson) shows
it and says, through ExperimentState.edited_note, when the experiment has been edited away from it.
The browser says the same next to the lesson text: the claims were checked on the preset, not on edits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, Qt, Slot
from PySide6.QtGui import QAction, QCursor
from PySide6.QtWidgets import QDockWidget, QMessageBox

from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.lessons import Lesson, load_lessons
from losslab.gui.lessons.browser import LessonsBrowser

if TYPE_CHECKING:
    from losslab.gui.main_window import MainWindow

KEY_CURRENT, KEY_DONE, KEY_WELCOMED = "lessons/current", "lessons/done", "lessons/welcomed"


class LessonsUI(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.settings = window.settings
        try:
            lessons = load_lessons()
        except LossLabError as exc:  # a broken install: say so, keep the window usable
            lessons = []
            window.show_message(f"The lessons could not be read: {exc}", 10_000)
        self.browser = LessonsBrowser(lessons)
        self.opened: Lesson | None = None  # the lesson whose preset the window holds
        self._opened_experiment: Experiment | None = None
        self.dock = QDockWidget("Lessons", window)
        self.dock.setObjectName("lessonsDock")
        self.dock.setWidget(self.browser)
        self.dock.setMinimumWidth(300)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.tabifyDockWidget(window.docks["lossPanel"], self.dock)
        window.docks["lossPanel"].raise_()
        window.docks["lessonsDock"] = self.dock
        self.action = QAction("&Lessons", window)
        self.action.setObjectName("actionLessons")
        self.action.setShortcut("F2")
        self.action.setStatusTip("Workshop lessons: a ready experiment, what to look at, checked claims")
        self.action.triggered.connect(self.show_lessons)
        self.save_action = QAction("Save Window as &Lesson…", window)
        self.save_action.setObjectName("actionSaveLesson")
        self.save_action.setStatusTip(
            "Save the current experiment, a text, a claim and locks as a .lesson file"
        )
        self.save_action.triggered.connect(self.save_as_lesson)

        b = self.browser
        b.openRequested.connect(self.open_lesson)
        b.raceRequested.connect(self.race_lesson)
        b.checkRequested.connect(self.check_lesson)
        self.check_task: Any = None
        b.currentChanged.connect(self._on_current)
        b.examplesRequested.connect(self._pop_examples)
        b.blankRequested.connect(self._blank)
        b.set_done(self._done())
        current = self.settings.value(KEY_CURRENT, "")
        if isinstance(current, str) and current and b.select(current):
            b.show_start()  # the start page comes first; "Continue" goes on from here
        window.state.changed.connect(self._follow)
        if not self.settings.value(KEY_WELCOMED, False, type=bool):
            self.dock.raise_()  # the first start opens on the start page
            self.settings.setValue(KEY_WELCOMED, True)

    # -- progress ---------------------------------------------------------------------------
    def _done(self) -> set[str]:
        value = self.settings.value(KEY_DONE, [])
        if isinstance(value, str):
            value = [value]
        return {str(v) for v in value or []}

    def _mark_done(self, lesson: Lesson) -> None:
        done = self._done() | {lesson.id}
        self.settings.setValue(KEY_DONE, sorted(done))
        self.browser.set_done(done)

    @Slot(object)
    def _on_current(self, lesson: Lesson | None) -> None:
        if lesson is not None:
            self.settings.setValue(KEY_CURRENT, lesson.id)
        self._follow()

    # -- commands ---------------------------------------------------------------------------
    @Slot()
    def show_lessons(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.browser.show_list()
        self._give_room()

    def _give_room(self) -> None:
        """Most of the right column's height for the lesson text (the Optimizer dock keeps a strip)."""
        below = self.window.docks.get("optimizerPanel")
        if below is not None and below.isVisible() and not self.dock.isFloating():
            height = max(self.window.height() - 200, 300)
            self.window.resizeDocks(
                [self.dock, below], [height * 3 // 4, height // 4], Qt.Orientation.Vertical
            )

    def open_lesson(self, lesson: Lesson | None) -> bool:
        """Load the lesson's preset into the window (asks first about unsaved changes)."""
        if lesson is None:
            return False
        exp = lesson.preset()
        exp.name = f"Lesson {lesson.number}: {lesson.title}" if lesson.number else lesson.title
        exp.description = lesson.text["do"]  # the banner: what to do; the browser has the rest
        if not self.window.files.open_experiment(exp, f"lesson {lesson.id}"):
            return False
        self.opened, self._opened_experiment = lesson, self.window.state.loaded
        self.browser.select(lesson.id)
        self._mark_done(lesson)
        self._follow()
        self.window.show_message(f"Opened lesson {lesson.id}: {lesson.title}", 4000)
        return True

    def race_lesson(self, lesson: Lesson | None) -> None:
        """Start the lesson's race as checked: the same variants in the race window."""
        if lesson is None or lesson.race is None:
            return
        from losslab.core.race import plan_race  # deferred: races load torch
        from losslab.gui.race.launch import race_window

        races = race_window(self.window)
        assert races is not None
        if races.running:
            self.window.show_message("A race is running: stop it before starting another.", 6000)
            return
        if self.window.controller.running:
            self.window.run.stop()
        try:
            plan = plan_race(
                lesson.experiment, {lesson.race[0]: lesson.race[1]}, sequential=lesson.race_sequential
            )
        except LossLabError as exc:
            QMessageBox.warning(self.window, "Cannot race", str(exc))
            return
        self._mark_done(lesson)
        races.show()
        races.raise_()
        races.start(plan)

    def check_lesson(self, lesson: Lesson | None) -> bool:
        """Train the lesson's preset in the background (own copies; the window's run is not touched)
        and show each claim held or failed with its numbers. False while a check is running."""
        if lesson is None or self.check_task is not None:
            return False
        from losslab.core.lessons import check_lesson  # deferred: the check loads torch
        from losslab.gui.background import run_in_background

        b = self.browser
        task = run_in_background(lambda progress, cancelled: check_lesson(lesson), "LossLabLessonCheck")
        task.succeeded.connect(b.show_report)
        task.failed.connect(lambda message, details: b.check_status.setText(f"Cannot check: {message}"))
        task.finished.connect(self._check_done)
        self.check_task = task
        b.check_button.setEnabled(False)
        b.check_status.setText(f"Checking {lesson.number or lesson.id}: training its preset…")
        task.start()
        return True

    @Slot()
    def _check_done(self) -> None:
        self.check_task = None
        self.browser.check_button.setEnabled(True)

    @Slot()
    def save_as_lesson(self) -> None:
        from losslab.gui.lessons.save_dialog import SaveLessonDialog

        SaveLessonDialog(self.window).open()

    @Slot()
    def _pop_examples(self) -> None:
        menu: Any = self.window.examples_menu
        if menu is not None:
            menu.popup(
                QCursor.pos() if not self.browser.isVisible() else self.browser.mapToGlobal(QPoint(20, 60))
            )

    @Slot()
    def _blank(self) -> None:
        self.window.files.new_experiment()

    # -- following the experiment -----------------------------------------------------------
    @Slot()
    def _follow(self, *_: Any) -> None:
        """Say in the browser how the window's experiment relates to the lesson shown."""
        state = self.window.state
        if self.opened is not None and state.loaded is not self._opened_experiment:
            self.opened = self._opened_experiment = None  # another file or example was opened since
        shown = self.browser.current
        if shown is None:
            return
        if self.opened is None or shown.id != self.opened.id:
            self.browser.set_note("Not open in the window: press Open to load its experiment.")
            return
        edited = state.edited_note()
        self.browser.set_note(
            "Open in the window. " + (f"{edited} The claims were checked on the preset." if edited else "")
        )
