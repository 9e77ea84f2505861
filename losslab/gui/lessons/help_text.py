"""The Help window's Lessons tab: the lessons, how their claims are checked, classroom mode."""

from __future__ import annotations

import html

from losslab.core.classroom import SECTIONS
from losslab.core.errors import LossLabError
from losslab.core.lessons import load_lessons


def lessons_help_html() -> str:
    try:
        lessons = load_lessons()
    except LossLabError as exc:  # a broken install: the rest of Help still works
        return f"<h2>Lessons</h2><p>The lessons could not be read: {html.escape(str(exc))}</p>"
    rows = "".join(
        f"<tr><td>{html.escape(x.number)}</td><td>{html.escape(x.title)}</td><td>{len(x.claims)}</td></tr>"
        for x in lessons
    )
    return (
        "<h2>Lessons</h2><p>Help &gt; Lessons (F2) opens the Lessons panel. A lesson opens a ready "
        "experiment (or a race of several), says what to do, what to look at and what to try, shows its "
        "formulas, and states claims about what will happen. <code>losslab lessons --check</code> trains "
        "every preset without a window and tests each claim; LossLab's own tests run it, so a lesson whose "
        "claim does not hold does not ship.</p>"
        "<table cellpadding='3'><tr><th align='left'>#</th><th align='left'>Lesson</th>"
        f"<th align='left'>claims</th></tr>{rows}</table>"
        "<h3>Classroom mode</h3><ul>"
        '<li>An experiment or lesson file may carry <code>"classroom": {"lock": [...], "hide": [...], '
        '"hide_tabs": [...]}</code>: the named panels are shown but not editable, or not shown '
        f"(panels: {', '.join(SECTIONS)}; tabs by name, such as <code>landscape</code>). "
        "View &gt; Lift Classroom Locks frees them.</li>"
        "<li>View &gt; Presenter Zoom scales every font, plot line and axis for a projector.</li>"
        "<li>Train &gt; Step One Batch and Step One Epoch advance a paused run a little at a time.</li>"
        "<li>File &gt; Save Window as Lesson writes the current experiment, your text, a claim and the "
        "locks as a <code>.lesson</code> file; check it with <code>losslab lessons --check --folder "
        "FOLDER</code>.</li></ul>"
    )
