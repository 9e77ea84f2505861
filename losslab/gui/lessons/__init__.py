"""The Lessons browser in the window (start page, list, text, formulas) and Save Window as Lesson."""

from losslab.gui.lessons.browser import LessonsBrowser, lesson_html
from losslab.gui.lessons.window_lessons import LessonsUI

__all__ = ["LessonsBrowser", "LessonsUI", "lesson_html"]
