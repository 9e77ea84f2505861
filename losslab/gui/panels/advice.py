"""The pairing advisor's warnings (core/advisor.py) as cards with a one-click Fix button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from losslab.core.advisor import Advice
from losslab.gui.widgets import BAD

_CARD_STYLE = (
    f"QFrame#adviceCard {{ background: {BAD[1]}; border: 1px solid {BAD[0]}55;"
    f" border-left: 4px solid {BAD[0]}; border-radius: 4px; }}"
    f" QFrame#adviceCard QLabel {{ color: {BAD[0]}; background: transparent; border: none; }}"
)


class AdviceBox(QGroupBox):
    """Hidden while there is nothing to say."""

    fixRequested = Signal(object)  # the Advice whose fix was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Advice", parent)
        self.setObjectName("adviceBox")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._cards: list[QFrame] = []
        self.items: list[Advice] = []
        self.hide()

    def set_advice(self, items: list[Advice]) -> None:
        if [a.id for a in items] == [a.id for a in self.items] and items == self.items:
            return
        for card in self._cards:
            self._layout.removeWidget(card)
            card.deleteLater()
        self._cards.clear()
        self.items = list(items)
        for i, advice in enumerate(items):
            card = self._card(advice, i)
            self._layout.addWidget(card)
            self._cards.append(card)
        self.setVisible(bool(items))

    def buttons(self) -> list[QPushButton]:
        return [card.findChild(QPushButton) for card in self._cards]

    def _card(self, advice: Advice, index: int) -> QFrame:
        card = QFrame(self)
        card.setObjectName("adviceCard")
        card.setStyleSheet(_CARD_STYLE)
        title = QLabel(f"<b>&#9888; {advice.title}</b>", card)
        title.setTextFormat(Qt.TextFormat.RichText)
        title.setWordWrap(True)
        text = QLabel(advice.message, card)
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        button = QPushButton(f"Fix: {advice.fix_label}", card)
        button.setObjectName(f"fix_{advice.id}")
        button.setToolTip("Apply this change to the experiment (a new run starts from fresh weights)")
        button.setProperty("adviceIndex", index)
        button.clicked.connect(self._on_fix_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addLayout(row)
        return card

    @Slot()
    def _on_fix_clicked(self) -> None:
        index = self.sender().property("adviceIndex")
        if isinstance(index, int) and 0 <= index < len(self.items):
            self.fixRequested.emit(self.items[index])
