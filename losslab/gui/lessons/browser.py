"""The Lessons browser: a start page, then the list of lessons with the chosen one's text and formulas.

It only shows and chooses; opening a lesson in the window, racing it and remembering progress are
the LessonsUI's (window_lessons.py), reached through the signals below.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from losslab.core.lessons import Lesson, LessonCheck, formula_html

MATH_STYLE = "font-family: 'DejaVu Serif', 'Cambria Math', 'Times New Roman', serif; font-size: 1.15em;"
DONE_MARK = "✓ "


def lesson_html(lesson: Lesson, report: LessonCheck | None = None) -> str:
    """The lesson as rich text: what to do, what to look at, the change to try, formulas, claims (with
    what a check measured, once one ran here)."""
    t = {k: html.escape(v) for k, v in lesson.text.items()}
    race = ""
    if lesson.race is not None:
        runs = html.escape(", ".join(lesson.run_labels()))
        race = (
            f"<p><i>A race of {len(lesson.run_labels())} runs that differ only in "
            f"<code>{html.escape(lesson.race[0])}</code>: {runs}.</i></p>"
        )
    formulas = "".join(f'<p style="{MATH_STYLE}">{formula_html(f)}</p>' for f in lesson.formulas)
    claims = "".join(f"<li>{html.escape(c.says)}</li>" for c in lesson.claims)
    if report is not None:
        claims = "".join(
            f"<li>{'✓ held' if r.held else '✗ <b>FAILED</b>'}: {html.escape(r.says)} "
            f"<small>({html.escape(r.detail)})</small></li>"
            for r in report.results
        )
    return (
        f"<h3>{html.escape(lesson.title)}</h3>{race}"
        f"<p><b>Do:</b> {t['do']}</p><p><b>Look at:</b> {t['look']}</p>"
        f"<p><b>Try this:</b> {t['try']}</p>{formulas}"
        f"<p><b>Checked claims</b> (<code>losslab lessons --check {html.escape(lesson.number or lesson.id)}"
        "</code> "
        f"trains the preset and tests each):</p><ul>{claims}</ul>"
    )


class LessonsBrowser(QWidget):
    openRequested = Signal(object)  # Lesson: load its preset into the window
    raceRequested = Signal(object)  # Lesson: start its race
    checkRequested = Signal(object)  # Lesson: train its preset here and test its claims
    currentChanged = Signal(object)  # Lesson shown
    examplesRequested = Signal()
    blankRequested = Signal()

    def __init__(self, lessons: list[Lesson], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lessonsBrowser")
        self.lessons = lessons
        self.done: set[str] = set()
        self.reports: dict[str, LessonCheck] = {}  # checks run in this window, by lesson id
        self.pages = QStackedWidget()
        self.pages.addWidget(self._start_page())
        self.pages.addWidget(self._lesson_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages)

    # -- pages ------------------------------------------------------------------------------
    def _start_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("lessonsStartPage")
        col = QVBoxLayout(page)
        intro = QLabel(
            "<h2>Welcome to LossLab</h2><p>See how a loss function shapes training. Each lesson opens a "
            "ready experiment, says what to do and what to look at, and states what will happen: "
            "every claim is checked by LossLab's tests.</p>"
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        col.addWidget(intro)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("lessonsProgress")
        col.addWidget(self.progress_label)
        self.continue_button = QPushButton("Start the lessons")
        self.continue_button.setObjectName("lessonsContinue")
        self.continue_button.clicked.connect(self.continue_lessons)
        examples = QPushButton("Open an example…")
        examples.clicked.connect(self.examplesRequested)
        blank = QPushButton("Start from a blank experiment")
        blank.clicked.connect(self.blankRequested)
        for button in (self.continue_button, examples, blank):
            col.addWidget(button)
        col.addStretch(1)
        return page

    def _lesson_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setObjectName("lessonsList")
        self.list.setMaximumHeight(120)
        for lesson in self.lessons:
            item = QListWidgetItem(self._item_text(lesson))
            item.setData(Qt.ItemDataRole.UserRole, lesson.id)
            item.setToolTip(lesson.idea)
            self.list.addItem(item)
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemActivated.connect(lambda item: self.openRequested.emit(self.current))
        col.addWidget(self.list)
        self.text = QTextBrowser()
        self.text.setObjectName("lessonText")
        self.text.setOpenExternalLinks(False)  # offline: nothing to follow
        col.addWidget(self.text, 1)
        self.note = QLabel()
        self.note.setObjectName("lessonNote")
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        col.addWidget(self.note)
        row = QHBoxLayout()
        self.prev_button = QPushButton("◀ Prev")
        self.prev_button.setObjectName("lessonPrevious")
        self.open_button = QPushButton("Open")
        self.open_button.setObjectName("lessonOpen")
        self.open_button.setToolTip("Load this lesson's experiment into the window")
        self.race_button = QPushButton("Race")
        self.race_button.setObjectName("lessonRace")
        self.race_button.setToolTip(
            "Train this lesson's race side by side (from the same weights and batches)"
        )
        self.next_button = QPushButton("Next ▶")
        self.next_button.setObjectName("lessonNext")
        self.prev_button.clicked.connect(lambda: self.go(-1))
        self.next_button.clicked.connect(lambda: self.go(+1))
        self.open_button.clicked.connect(lambda: self.openRequested.emit(self.current))
        self.race_button.clicked.connect(lambda: self.raceRequested.emit(self.current))
        for button in (self.prev_button, self.open_button, self.race_button, self.next_button):
            row.addWidget(button)
        col.addLayout(row)
        row2 = QHBoxLayout()
        home = QPushButton("Start page")
        home.setFlat(True)
        home.clicked.connect(self.show_start)
        self.check_button = QPushButton("Check claims")
        self.check_button.setObjectName("lessonCheck")
        self.check_button.setToolTip("Train this lesson's preset here, without drawing, and test every claim")
        self.check_button.clicked.connect(lambda: self.checkRequested.emit(self.current))
        self.check_status = QLabel()
        self.check_status.setObjectName("lessonCheckStatus")
        self.check_status.setWordWrap(True)
        row2.addWidget(home)
        row2.addStretch(1)
        row2.addWidget(self.check_button)
        col.addLayout(row2)
        col.addWidget(self.check_status)
        return page

    # -- navigation -------------------------------------------------------------------------
    @property
    def current(self) -> Lesson | None:
        row = self.list.currentRow()
        return self.lessons[row] if 0 <= row < len(self.lessons) else None

    def select(self, lesson_id: str) -> bool:
        for row, lesson in enumerate(self.lessons):
            if lesson.id == lesson_id:
                self.list.setCurrentRow(row)
                return True
        return False

    def go(self, delta: int) -> None:
        row = self.list.currentRow() + delta
        if 0 <= row < len(self.lessons):
            self.list.setCurrentRow(row)

    @Slot()
    def show_list(self) -> None:
        if self.current is None and self.lessons:
            nxt = next((row for row, x in enumerate(self.lessons) if x.id not in self.done), 0)
            self.list.setCurrentRow(nxt)
        self.pages.setCurrentIndex(1)

    @Slot()
    def continue_lessons(self) -> None:
        """The first lesson not opened yet (the one the button names), or the list where it was."""
        nxt = next((x for x in self.lessons if x.id not in self.done), None)
        if nxt is not None:
            self.select(nxt.id)
        self.show_list()

    @Slot()
    def show_start(self) -> None:
        self.pages.setCurrentIndex(0)

    @Slot(int)
    def _on_row(self, row: int) -> None:
        lesson = self.current
        self.prev_button.setEnabled(row > 0)
        self.next_button.setEnabled(0 <= row < len(self.lessons) - 1)
        self.race_button.setVisible(lesson is not None and lesson.race is not None)
        report = self.reports.get(lesson.id) if lesson is not None else None
        self.text.setHtml(lesson_html(lesson, report) if lesson is not None else "")
        self.check_status.setText(self.summary(report) if report is not None else "")
        self.currentChanged.emit(lesson)

    @staticmethod
    def summary(report: LessonCheck) -> str:
        failed = sum(not r.held for r in report.results)
        if failed:
            return f"Checked here: {failed} of {len(report.results)} claims FAILED ({report.seconds:.1f} s)"
        return f"Checked here: all {len(report.results)} claims held ({report.seconds:.1f} s)"

    def show_report(self, report: LessonCheck) -> None:
        """A check's outcome, shown with its lesson (now, or when that lesson is shown next)."""
        self.reports[report.lesson_id] = report
        if self.current is not None and self.current.id == report.lesson_id:
            self._on_row(self.list.currentRow())

    # -- progress ---------------------------------------------------------------------------
    def _item_text(self, lesson: Lesson) -> str:
        return (DONE_MARK if lesson.id in self.done else "") + f"{lesson.number} {lesson.title}".strip()

    def set_done(self, done: set[str]) -> None:
        self.done = set(done)
        for row, lesson in enumerate(self.lessons):
            self.list.item(row).setText(self._item_text(lesson))
        count = sum(1 for x in self.lessons if x.id in self.done)
        self.progress_label.setText(f"{count} of {len(self.lessons)} lessons opened so far.")
        nxt = next((x for x in self.lessons if x.id not in self.done), None)
        # The number only: a button as wide as a title would widen the dock, and the window with it.
        text = f"Continue with lesson {nxt.number}" if nxt else "Lessons"
        self.continue_button.setText(text if count else "Start the lessons")
        self.continue_button.setToolTip(nxt.title if nxt else "")

    def set_note(self, text: str) -> None:
        """What the window shows now, relative to this lesson (edited, another experiment, ...)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))
