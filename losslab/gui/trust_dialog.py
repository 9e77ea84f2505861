"""Asks before an experiment file's code can run: shows the code, and remembers a yes (core/trust.py)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QStyle, QVBoxLayout, QWidget

from losslab.core.trust import experiment_code, is_trusted, trust
from losslab.gui.code_editor import CodeEditor


class TrustDialog(QDialog):
    def __init__(self, path: Path | None, name: str, code: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trustDialog")
        self.setWindowTitle("Run code from this file?")
        self.resize(680, 480)
        source = f"<b>{html.escape(path.name)}</b>" if path else "This experiment"
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(32, 32))
        text = QLabel(
            f"{source} contains Python code: the custom loss <b>{html.escape(name)}</b>. LossLab runs it "
            "when it trains or draws this loss. Code can do anything your user account can (read, change "
            "or delete your files), so trust it only if you know where it comes from and have read it."
        )
        text.setWordWrap(True)
        self.code = CodeEditor()
        self.code.setObjectName("trustCode")
        self.code.setPlainText(code)
        self.code.setReadOnly(True)
        self.code.set_error_line(None)  # refreshes the line marks: no "current line" in a read-only view
        note = QLabel("LossLab remembers your answer for this exact code; any change to it asks again.")
        note.setStyleSheet("color: palette(placeholder-text);")
        buttons = QDialogButtonBox()
        self.trust_button = buttons.addButton("Trust and open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton("Don't open", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        head = QHBoxLayout()
        head.addWidget(icon)
        head.addWidget(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.code, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)


def confirm_trust(parent: QWidget | None, experiment: Any, path: Path | None) -> bool:
    """True when ``experiment`` carries no code, code already trusted, or the user trusts it now."""
    code = experiment_code(experiment)
    if code is None or is_trusted(code):
        return True
    dialog = TrustDialog(path, experiment.loss.get("name", ""), code, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    trust(code)
    return True
