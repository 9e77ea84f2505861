"""The Runs panel: every stored run in a table, with filter, rename, tags, delete/undo, open, compare
and "repeat over K seeds".

Keys (when the table has focus): Enter opens the run's experiment, F2 renames (or edits tags in the
Tags column), Delete deletes the selected runs, Ctrl+Z brings the last deleted back, Ctrl+F goes to
the filter box. The panel asks its owner (signals) to open, compare and repeat: it never reaches into
the window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.runs import STATUSES
from losslab.gui.runs.history import RunHistory
from losslab.gui.runs.run_table import ID_ROLE, KEYS, SORT_ROLE, RunTableModel, parse_tags

EMPTY_TEXT = "No runs yet: press Train (Ctrl+Return). Every run is kept here."
NO_MATCH_TEXT = "No run matches the filter."
MAX_SEEDS = 50


class RunsTable(QTableView):
    """The table; it takes Delete, Enter and Ctrl+Z itself while it has focus (before the window's
    Undo of model edits, which has the same key)."""

    deletePressed = Signal()
    undoPressed = Signal()
    openPressed = Signal()

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self.state() != QAbstractItemView.State.EditingState
            and (
                event.matches(QKeySequence.StandardKey.Undo)
                or event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Return, Qt.Key.Key_Enter)
            )
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.state() != QAbstractItemView.State.EditingState:
            if event.matches(QKeySequence.StandardKey.Undo):
                self.undoPressed.emit()
                return
            if event.key() == Qt.Key.Key_Delete:
                self.deletePressed.emit()
                return
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.openPressed.emit()
                return
        super().keyPressEvent(event)


class RunsPanel(QWidget):
    openRequested = Signal(int)  # run id: reopen its experiment
    compareRequested = Signal(list)  # run ids
    repeatRequested = Signal(int)  # K: train the current experiment over K seeds

    def __init__(self, history: RunHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.history = history
        self.deleted: list[list[int]] = []  # what Undo brings back, newest last

        self.filter = QLineEdit()
        self.filter.setObjectName("runsFilter")
        self.filter.setPlaceholderText("Filter runs: name, dataset, loss, optimizer, tag, id…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Every word must appear in the run (Ctrl+F)")
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("runsStatusFilter")
        self.status_filter.addItem("Any status", None)
        for status in STATUSES:
            self.status_filter.addItem(status.capitalize(), status)
        self.status_filter.setToolTip("Show only runs with this status")

        self.model = RunTableModel(self)
        self.model.on_edit = self._on_edit
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = RunsTable()
        self.table.setObjectName("runsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(KEYS.index("date"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # "Two moons… seed 3" keeps its end
        widths = (
            ("name", 190),
            ("status", 72),
            ("final", 110),
            ("best", 110),
            ("loss", 110),
            ("optimizer", 100),
        )
        widths += (("epochs", 60), ("dataset", 70), ("model", 110), ("date", 115))
        for key, width in widths:
            header.resizeSection(KEYS.index(key), width)
        self.table.setToolTip(
            "Double-click or Enter: open the run's experiment · F2: rename (edit tags in the Tags column) · "
            "Delete: delete · Ctrl+Z: undo the delete · select several and Compare"
        )
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.openPressed.connect(self.open_selected)
        self.table.deletePressed.connect(self.delete_selected)
        self.table.undoPressed.connect(self.undo_delete)

        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setObjectName("runsEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: palette(placeholder-text); padding: 12px;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)

        self.message = QLabel()
        self.message.setObjectName("runsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet("color: #D55E00; padding: 2px;")
        self.retry_button = QPushButton("Try again")
        self.retry_button.setObjectName("runsRetry")
        self.retry_button.setToolTip("Open the run history again (after moving a damaged file aside)")
        self.retry_button.clicked.connect(self._retry)

        def button(text: str, name: str, tip: str, slot: object) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            return b

        self.open_button = button(
            "&Open",
            "runsOpen",
            "Open the selected run's experiment as it was run (Enter)",
            self.open_selected,
        )
        self.compare_button = button(
            "&Compare",
            "runsCompare",
            "Overlay the selected runs' curves; a table shows what differs",
            self.compare_selected,
        )
        self.delete_button = button(
            "Delete",
            "runsDelete",
            "Delete the selected runs (Delete; Undo brings them back)",
            self.delete_selected,
        )
        self.undo_button = button(
            "Undo", "runsUndo", "Bring back the runs deleted last (Ctrl+Z in the table)", self.undo_delete
        )
        self.seeds = QSpinBox()
        self.seeds.setObjectName("runsSeeds")
        self.seeds.setRange(2, MAX_SEEDS)
        self.seeds.setValue(3)
        self.seeds.setPrefix("K = ")
        self.seeds.setToolTip("How many seeds: seed, seed+1, … of the current experiment")
        self.repeat_button = button(
            "Repeat over seeds",
            "runsRepeat",
            "Train the current experiment once per seed (seed, seed+1, …) as one group, one after another, "
            "then show the group as mean ± std",
            self._repeat,
        )
        self.count = QLabel()
        self.count.setObjectName("runsCount")

        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.status_filter)
        top.addWidget(self.count)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.compare_button, self.delete_button, self.undo_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.seeds)
        buttons.addWidget(self.repeat_button)
        error = QHBoxLayout()
        error.addWidget(self.message, 1)
        error.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(error)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)

        QShortcut(
            QKeySequence.StandardKey.Find,
            self,
            self.filter.setFocus,
            context=Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.filter.textChanged.connect(self.refresh)
        self.status_filter.currentIndexChanged.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        history.changed.connect(self.refresh)
        history.errorChanged.connect(self._show_error)
        self._show_error(history.error)
        self.refresh()

    # -- listing ----------------------------------------------------------------------------
    @Slot()
    def refresh(self) -> None:
        selected = set(self.selected_ids())
        runs = self.history.list_runs(self.filter.text(), self.status_filter.currentData())
        self.model.set_runs(runs)
        self._select(selected)
        if not self.history.available:
            self.empty.setText("The run history is not available (see above).")
        else:
            self.empty.setText(NO_MATCH_TEXT if self._filtering() else EMPTY_TEXT)
        self._show_count()

    def _filtering(self) -> bool:
        return bool(self.filter.text().strip()) or self.status_filter.currentData() is not None

    def _show_count(self) -> None:
        n = len(self.model.runs)
        self.stack.setCurrentWidget(self.table if n else self.empty)
        self.count.setText(f"{n} run{'s' if n != 1 else ''}")
        self._update_buttons()

    def add_run(self, run_id: int) -> None:
        """A run has just started: its row is added, unless a filter is on (then it is re-listed)."""
        store = self.history.store
        if store is None or self._filtering() or self.model.row_of(run_id) >= 0:
            self.refresh()
            return
        try:
            summary = store.summary(run_id)
        except LossLabError:
            self.refresh()
            return
        self.model.add_run(summary)
        self._show_count()

    def update_run(self, run_id: int) -> None:
        """A running run's progress: its row only (the list is re-read when it starts and ends)."""
        store = self.history.store
        if store is None:
            return
        try:
            summary = store.summary(run_id)
        except LossLabError:
            return
        if not self.model.update_run(summary):
            self.refresh()

    def _select(self, ids: set[int]) -> None:
        selection = self.table.selectionModel()
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(ID_ROLE) in ids:
                selection.select(
                    index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
                )

    def select_ids(self, ids: list[int]) -> None:
        self.table.clearSelection()
        self._select(set(ids))

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(ID_ROLE) for r in rows]

    @Slot(str)
    def _show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.retry_button.setVisible(bool(text) and not self.history.available)

    @Slot()
    def _retry(self) -> None:
        self.history.retry()
        self.refresh()

    @Slot()
    def _update_buttons(self, *_: object) -> None:
        ids = self.selected_ids()
        self.open_button.setEnabled(len(ids) == 1)
        self.compare_button.setEnabled(bool(ids))
        self.delete_button.setEnabled(bool(ids))
        self.undo_button.setEnabled(bool(self.deleted))
        n = sum(len(d) for d in self.deleted[-1:])
        self.undo_button.setText(f"Undo delete ({n})" if n else "Undo")

    # -- editing ----------------------------------------------------------------------------
    def _on_edit(self, run_id: int, key: str, text: str) -> bool:
        if key == "name":
            return self.history.rename(run_id, text)
        if key == "tags":
            return self.history.set_tags(run_id, parse_tags(text))
        return False

    @Slot()
    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids and self.history.delete(ids):
            self.deleted.append(ids)
            self._update_buttons()

    @Slot()
    def undo_delete(self) -> None:
        if not self.deleted:
            return
        ids = self.deleted.pop()
        if self.history.undelete(ids):
            self.select_ids(ids)
        self._update_buttons()

    # -- asking the owner ---------------------------------------------------------------------
    @Slot(QModelIndex)
    def _on_double_click(self, index: QModelIndex) -> None:
        rid = index.siblingAtColumn(0).data(ID_ROLE)
        if rid is not None:
            self.openRequested.emit(int(rid))

    @Slot()
    def open_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.openRequested.emit(ids[0])

    @Slot()
    def compare_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.compareRequested.emit(ids)

    @Slot()
    def _repeat(self) -> None:
        self.repeatRequested.emit(self.seeds.value())
