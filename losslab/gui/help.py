"""The offline Help window: keyboard shortcuts, every loss with its formula and notes, and About."""

from __future__ import annotations

import html
import platform

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from losslab.core.losses import LOSSES
from losslab.core.tasks import TASKS
from losslab.gui.actions import ACTIONS
from losslab.gui.lessons.help_text import lessons_help_html

MATH_STYLE = "font-family: 'DejaVu Serif', 'Cambria Math', 'Times New Roman', serif; font-size: 15px;"


def shortcuts_html() -> str:
    rows = []
    for spec in ACTIONS:
        if spec.shortcut is None:
            continue
        keys = QKeySequence(spec.shortcut).toString(QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append(
                f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(spec.text.replace('&', ''))}"
                f"</td><td>{html.escape(spec.tip)}</td></tr>"
            )
    return (
        "<h2>Keyboard shortcuts</h2><table cellpadding='4'>"
        "<tr><th align='left'>Keys</th><th align='left'>Action</th><th align='left'></th></tr>"
        + "".join(rows)
        + "</table>"
    )


def losses_html() -> str:
    parts = [
        "<h2>Losses</h2><p>A <i>loss</i> scores one prediction against the truth; the <i>cost</i> "
        "that training minimises is its average over the data.</p>"
    ]
    for task, title in TASKS.items():
        specs = [s for s in LOSSES.values() if task in s.tasks]
        if not specs:
            continue
        parts.append(f"<h3>{html.escape(title)}</h3>")
        for s in specs:
            traits = [
                "convex in the prediction" if s.convex else "not convex",
                "robust to outliers" if s.robust_to_outliers else "sensitive to outliers",
                "smooth" if s.differentiable else "has a kink (not differentiable everywhere)",
            ]
            parts.append(
                f"<h4>{html.escape(s.name)} <small>(<code>{s.id}</code>)</small></h4>"
                f'<p style="{MATH_STYLE}">{s.formula}</p>'
                f"<p><b>Targets:</b> {html.escape(s.target_format)}<br><b>Model output:</b> {s.output}"
                f"<br><b>Traits:</b> {', '.join(traits)}</p><p>{html.escape(s.notes)}</p>"
            )
    return "".join(parts)


def about_text(device: str | None = None) -> str:
    import pyqtgraph
    import PySide6

    from losslab import __version__

    try:
        import torch

        torch_version = torch.__version__
        cuda = "available" if torch.cuda.is_available() else "not available"
    except ImportError:  # pragma: no cover - torch is a dependency
        torch_version, cuda = "not installed", "not available"
    return (
        f"<h3>LossLab {__version__}</h3>"
        "<p>See, with your own eyes, how a loss function shapes the training of a neural network.</p>"
        f"<p>Python {platform.python_version()}"
        f"<br>Qt {PySide6.QtCore.qVersion()} (PySide6 {PySide6.__version__})"
        f"<br>pyqtgraph {pyqtgraph.__version__}<br>torch {torch_version} (CUDA {cuda})"
        f"<br>Device in use: {device or 'none yet (press Train)'}</p>"
    )


class HelpWindow(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpWindow")
        self.setWindowTitle("LossLab Help")
        self.resize(760, 640)
        self.tabs = QTabWidget()
        for title, text in (
            ("Shortcuts", shortcuts_html()),
            ("Losses", losses_html()),
            ("Lessons", lessons_help_html()),
            ("About", about_text()),
        ):
            browser = QTextBrowser()
            browser.setObjectName(f"help{title}")
            browser.setOpenExternalLinks(False)  # offline: nothing to follow
            browser.setHtml(text)
            self.tabs.addTab(browser, title)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
