"""Workshop lessons: a preset experiment (or race), a short text, formulas and claims that are checked.

>>> lesson = load_lesson(lessons_dir() / "05_robust_losses.lesson")
>>> report = check_lesson(lesson)          # trains the preset headless
>>> report.held, [r.detail for r in report.results]

Modules: format.py (the .lesson file), measures.py (THE registry of what a claim can measure),
check.py (run and judge), text_check.py (does a text say what its file does), formula.py (LaTeX-ish
formulas as Qt rich text with Unicode math).
"""

from losslab.core.lessons.check import ClaimResult, LessonCheck, check_lesson, judge, run_lesson
from losslab.core.lessons.format import (
    FORMAT,
    SUFFIX,
    Claim,
    Lesson,
    Measure,
    find_lessons,
    lesson_from_dict,
    lessons_dir,
    list_lessons,
    load_lesson,
    load_lessons,
    parse_lesson,
    save_lesson,
)
from losslab.core.lessons.formula import to_html as formula_html
from losslab.core.lessons.measures import QUANTITIES, RunOutcome
from losslab.core.lessons.text_check import lesson_text_problems, text_problems

__all__ = [
    "FORMAT",
    "QUANTITIES",
    "SUFFIX",
    "Claim",
    "ClaimResult",
    "Lesson",
    "LessonCheck",
    "Measure",
    "RunOutcome",
    "check_lesson",
    "find_lessons",
    "formula_html",
    "judge",
    "lesson_from_dict",
    "lesson_text_problems",
    "lessons_dir",
    "list_lessons",
    "load_lesson",
    "load_lessons",
    "parse_lesson",
    "run_lesson",
    "save_lesson",
    "text_problems",
]
