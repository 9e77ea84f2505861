"""A small Python code editor: line numbers, syntax highlighting, an error line marked in red.

``CodeEditor`` is a QPlainTextEdit with a line-number gutter painted beside it, four-space
indentation (Tab, Shift+Tab, and Enter keeping the indent, one step more after a colon), and
``set_error_line`` to mark the line a problem is on. ``PythonHighlighter`` colours keywords,
built-ins, the names a custom loss has in scope, numbers, strings and comments.
"""

from __future__ import annotations

import keyword
import re

from PySide6.QtCore import QRect, QRegularExpression, QSize, Qt, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

INDENT = "    "
ERROR_BACKGROUND = QColor(255, 80, 80, 60)
ERROR_MARK = QColor("#c62828")
SCOPE_NAMES = ("torch", "math", "F", "pred", "target")
BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "enumerate",
    "float",
    "int",
    "isinstance",
    "len",
    "max",
    "min",
    "pow",
    "print",
    "range",
    "round",
    "sum",
    "zip",
)


def _is_dark(widget: QWidget) -> bool:
    return widget.palette().base().color().lightness() < 128


def _fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    f.setFontItalic(italic)
    return f


class PythonHighlighter(QSyntaxHighlighter):
    """Python colours that read on light and dark backgrounds."""

    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        c = (
            {
                "kw": "#c678dd",
                "builtin": "#56b6c2",
                "scope": "#e5c07b",
                "num": "#d19a66",
                "str": "#98c379",
                "comment": "#7f848e",
                "def": "#61afef",
            }
            if dark
            else {
                "kw": "#7a1fa2",
                "builtin": "#00727a",
                "scope": "#8a5a00",
                "num": "#a0522d",
                "str": "#2e7d32",
                "comment": "#6a737d",
                "def": "#1f5fbf",
            }
        )
        words = r"\b(" + "|".join(keyword.kwlist) + r")\b"
        builtins = r"\b(" + "|".join(BUILTIN_NAMES) + r")\b"
        scope = r"\b(" + "|".join(SCOPE_NAMES) + r")\b"
        self._rules = [
            (QRegularExpression(scope), _fmt(c["scope"])),
            (QRegularExpression(builtins), _fmt(c["builtin"])),
            (QRegularExpression(words), _fmt(c["kw"], bold=True)),
            (QRegularExpression(r"\b(?<=def )\w+"), _fmt(c["def"], bold=True)),
            (QRegularExpression(r"\b[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?\b"), _fmt(c["num"])),
        ]
        self._string = _fmt(c["str"])
        self._comment = _fmt(c["comment"], italic=True)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for pattern, fmt in self._rules:
            it = pattern.globalMatch(text)
            while it.hasNext():
                m = it.next()
                self.setFormat(m.capturedStart(), m.capturedLength(), fmt)
        # Strings and comments last, so they win; triple-quoted strings may span lines.
        self.setCurrentBlockState(0)
        i = 0
        if self.previousBlockState() in (1, 2):
            quote = '"""' if self.previousBlockState() == 1 else "'''"
            end = text.find(quote)
            if end < 0:
                self.setFormat(0, len(text), self._string)
                self.setCurrentBlockState(self.previousBlockState())
                return
            self.setFormat(0, end + 3, self._string)
            i = end + 3
        while i < len(text):
            ch = text[i]
            if ch == "#":
                self.setFormat(i, len(text) - i, self._comment)
                return
            if ch in "\"'":
                triple = text[i : i + 3]
                if triple in ('"""', "'''"):
                    end = text.find(triple, i + 3)
                    if end < 0:
                        self.setFormat(i, len(text) - i, self._string)
                        self.setCurrentBlockState(1 if triple == '"""' else 2)
                        return
                    self.setFormat(i, end + 3 - i, self._string)
                    i = end + 3
                    continue
                end = i + 1
                while end < len(text) and text[end] != ch:
                    end += 2 if text[end] == "\\" else 1
                self.setFormat(i, min(end + 1, len(text)) - i, self._string)
                i = end + 1
                continue
            i += 1


class _Gutter(QWidget):
    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor

    def sizeHint(self) -> QSize:
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        self.editor.paint_gutter(event)


class CodeEditor(QPlainTextEdit):
    """Plain-text Python editing with line numbers and an error line."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(max(font.pointSizeF(), 10.0))
        self.setFont(font)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * 4)
        self.setAccessibleName("Python code")
        self._gutter = _Gutter(self)
        self._error_line: int | None = None
        self.highlighter = PythonHighlighter(self.document(), _is_dark(self))
        self.blockCountChanged.connect(self._update_margin)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._update_selections)
        self._update_margin()
        self._update_selections()

    # -- the gutter ---------------------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = max(2, len(str(max(1, self.blockCount()))))
        return 14 + self.fontMetrics().horizontalAdvance("9") * digits

    @Slot()
    def _update_margin(self, *_: object) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    @Slot(QRect, int)
    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_margin()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        r = self.contentsRect()
        self._gutter.setGeometry(QRect(r.left(), r.top(), self.gutter_width(), r.height()))

    def paint_gutter(self, event: QPaintEvent) -> None:
        painter = QPainter(self._gutter)
        pal = self.palette()
        painter.fillRect(event.rect(), pal.alternateBase())
        block = self.firstVisibleBlock()
        number = block.blockNumber() + 1
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        height = self.fontMetrics().height()
        width = self._gutter.width() - 6
        faint = pal.placeholderText().color()
        while block.isValid() and top <= event.rect().bottom():
            bottom = top + round(self.blockBoundingRect(block).height())
            if block.isVisible() and bottom >= event.rect().top():
                if number == self._error_line:
                    painter.fillRect(0, top, self._gutter.width(), height, ERROR_MARK)
                    painter.setPen(QColor("white"))
                else:
                    painter.setPen(faint)
                painter.drawText(0, top, width, height, Qt.AlignmentFlag.AlignRight, str(number))
            block = block.next()
            top = bottom
            number += 1
        painter.end()

    # -- the error line -----------------------------------------------------------------------
    def set_error_line(self, line: int | None) -> None:
        """Mark ``line`` (1-based) as the one with a problem; None clears the mark."""
        if line is not None and not 1 <= line <= self.blockCount():
            line = None
        self._error_line = line
        self._update_selections()
        self._gutter.update()

    @property
    def error_line(self) -> int | None:
        return self._error_line

    def go_to_line(self, line: int) -> None:
        block = self.document().findBlockByNumber(max(line - 1, 0))
        if block.isValid():
            cursor = QTextCursor(block)
            self.setTextCursor(cursor)
            self.centerCursor()

    @Slot()
    def _update_selections(self) -> None:
        selections = []
        if not self.isReadOnly():
            current = QTextEdit.ExtraSelection()
            color = self.palette().highlight().color()
            color.setAlpha(25)
            current.format.setBackground(color)
            current.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            current.cursor = self.textCursor()
            current.cursor.clearSelection()
            selections.append(current)
        if self._error_line is not None:
            error = QTextEdit.ExtraSelection()
            error.format.setBackground(ERROR_BACKGROUND)
            error.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            error.format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            error.format.setUnderlineColor(ERROR_MARK)
            block = self.document().findBlockByNumber(self._error_line - 1)
            error.cursor = QTextCursor(block)
            error.cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
            selections.append(error)
        self.setExtraSelections(selections)

    # -- indentation --------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        cursor = self.textCursor()
        if key == Qt.Key.Key_Tab and not cursor.hasSelection():
            cursor.insertText(INDENT)
            return
        if key == Qt.Key.Key_Backtab:
            self._dedent(cursor)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            line = cursor.block().text()[: cursor.positionInBlock()]
            indent = re.match(r"[ \t]*", line).group(0)
            if line.rstrip().endswith(":"):
                indent += INDENT
            cursor.insertText("\n" + indent)
            self.ensureCursorVisible()
            return
        if key == Qt.Key.Key_Backspace and not cursor.hasSelection():
            before = cursor.block().text()[: cursor.positionInBlock()]
            if before and not before.strip() and len(before) % len(INDENT) == 0:
                for _ in INDENT:
                    cursor.deletePreviousChar()
                return
        super().keyPressEvent(event)

    def _dedent(self, cursor: QTextCursor) -> None:
        block = cursor.block()
        text = block.text()
        remove = len(text) - len(text.lstrip(" "))
        remove = min(remove, len(INDENT))
        if remove:
            c = QTextCursor(block)
            c.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor, remove)
            c.removeSelectedText()
