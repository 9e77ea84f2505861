"""The Images view: what a network makes of image data, live.

For an image classifier (the Shapes dataset): validation images with their predicted (and, when
wrong, true) labels, the confusion matrix with each class's accuracy, and the most confidently wrong
images. For a segmentation dataset (Shape masks) the page of segmentation_view.py: input, true mask
and predicted mask of a few validation images, and the IoU per epoch. Any other dataset gets a note.

The predictions come from the image probe (core/image_probe.py) on the training thread at epoch ends;
a page redraws on the window's timer only while visible and only when a new measurement came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from losslab.core.image_probe import ValidationImages, image_probes
from losslab.gui.plots.image_tiles import Tile, display_images, grey_pixmap, grey_range
from losslab.gui.plots.segmentation_view import SegmentationPage
from losslab.gui.theme import is_dark, palette_colors
from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import EpochEnd
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer

GRID_ROWS, GRID_COLS = 2, 6  # validation images shown with their labels
WRONG_SHOWN = 6  # most confidently wrong images
RIGHT, WRONG = "#009E73", "#D55E00"  # Okabe-Ito green and vermillion: readable on light and dark
NOT_IMAGES = (
    "This view shows image data: choose <b>Shapes (images)</b> or <b>Shape masks (segmentation)</b> "
    "in the Dataset panel (or open example 22, 23 or 24)."
)


def confusion_matrix(true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(k, k) counts: row = true class, column = predicted class."""
    return np.bincount(true * k + pred, minlength=k * k).reshape(k, k)


def confidently_wrong(true: np.ndarray, probs: np.ndarray, n: int) -> np.ndarray:
    """Indices of up to ``n`` misclassified samples, the most confident wrong prediction first."""
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != true)
    order = np.argsort(-probs[wrong, pred[wrong]], kind="stable")
    return wrong[order[:n]]


class ClassificationPage(QWidget):
    """Validation images with labels, the confusion matrix with per-class accuracy, the worst mistakes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.tiles = [Tile(parent=self) for _ in range(GRID_ROWS * GRID_COLS)]
        grid = QGridLayout()
        grid.setSpacing(2)
        for i, tile in enumerate(self.tiles):
            grid.addWidget(tile, i // GRID_COLS, i % GRID_COLS)
        self.confusion = QTableWidget(self)
        self.confusion.setObjectName("confusionMatrix")
        self.confusion.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.confusion.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.confusion.setToolTip(
            "Rows: the true class; columns: the class predicted. The diagonal holds the images "
            "classified right; the last column (acc.) is each class's accuracy (diagonal count / row total)."
        )
        self.wrong_title = QLabel("<b>Most confidently wrong</b>", self)
        self.wrong_tiles = [Tile(parent=self) for _ in range(WRONG_SHOWN)]
        wrong_grid = QGridLayout()
        wrong_grid.setSpacing(2)
        for i, tile in enumerate(self.wrong_tiles):
            wrong_grid.addWidget(tile, i // 3, i % 3)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("<b>Validation images</b> (predicted class; the true one in brackets)", self))
        layout.addLayout(grid)
        bottom = QHBoxLayout()
        left = QVBoxLayout()
        title = QLabel("<b>Confusion matrix</b> (rows: true class) and per-class accuracy", self)
        title.setWordWrap(True)  # a long title must not widen the page past a 1280×720 window
        left.addWidget(title)
        left.addWidget(self.confusion)
        left.addStretch(1)
        bottom.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(self.wrong_title)
        right.addLayout(wrong_grid)
        right.addStretch(1)
        bottom.addLayout(right, 2)
        layout.addLayout(bottom)
        layout.addStretch(1)
        self.dataset: Dataset | None = None
        self.images = np.empty((0, 1, 1))
        self.levels = (0.0, 1.0)
        self.true = np.empty(0, dtype=np.int64)
        self.dark = is_dark()  # the scheme at creation; apply_theme follows changes

    def set_dataset(self, ds: Dataset) -> None:
        self.dataset = ds
        self.images = display_images(ds, ds.x_val)
        self.levels = grey_range(self.images)
        self.true = np.asarray(ds.y_val, dtype=np.int64)
        names = ds.class_names
        k = max(ds.n_classes, 2)
        self.confusion.setRowCount(k)
        self.confusion.setColumnCount(k + 1)
        self.confusion.setVerticalHeaderLabels(list(names[:k]))
        self.confusion.setHorizontalHeaderLabels([*names[:k], "acc."])
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.confusion.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.show_predictions(None)

    def _name(self, k: int) -> str:
        names = self.dataset.class_names if self.dataset is not None else []
        return names[k] if k < len(names) else f"class {k}"

    def show_predictions(self, event: ValidationImages | None) -> None:
        """Draw ``event``'s predictions, or the images with their true labels only (None)."""
        n_val = len(self.images)
        for i, tile in enumerate(self.tiles):
            if i >= n_val:
                tile.show_image(None)
                continue
            pixmap = grey_pixmap(self.images[i], lo=self.levels[0], hi=self.levels[1])
            true = self._name(int(self.true[i]))
            if event is None:
                tile.show_image(pixmap, true, f"validation image {i}: {true}")
                continue
            pred = int(event.probs[i].argmax())
            p = float(event.probs[i, pred])
            right = pred == self.true[i]
            caption = f"<span style='color:{RIGHT if right else WRONG}'>{self._name(pred)}</span>"
            if not right:
                caption += f"<br>({true})"
            tile.show_image(
                pixmap, caption, f"validation image {i}: predicted {self._name(pred)} ({p:.0%}), true {true}"
            )
        k = self.confusion.rowCount()
        if event is None or n_val == 0:
            self.summary.setText("Train to see what the network predicts for the validation images.")
            self._fill_confusion(np.zeros((k, k), dtype=np.int64))
            for tile in self.wrong_tiles:
                tile.show_image(None)
            return
        pred = event.probs.argmax(axis=1)
        counts = confusion_matrix(self.true, pred, k)
        right = int(np.trace(counts))
        self.summary.setText(
            f"After epoch {event.epoch}: {right} of {n_val} validation images classified right "
            f"({right / n_val:.1%})."
        )
        self._fill_confusion(counts)
        worst = confidently_wrong(self.true, event.probs, WRONG_SHOWN)
        self.wrong_title.setText(
            "<b>Most confidently wrong</b>" + ("" if len(worst) else ": none, every image is right")
        )
        for tile, j in zip(self.wrong_tiles, [*worst, *([None] * WRONG_SHOWN)], strict=False):
            if j is None:
                tile.show_image(None)
                continue
            p = float(event.probs[j, pred[j]])
            true, guess = self._name(int(self.true[j])), self._name(int(pred[j]))
            tile.show_image(
                grey_pixmap(self.images[j], lo=self.levels[0], hi=self.levels[1]),
                f"<span style='color:{WRONG}'>{guess} {p:.0%}</span><br>({true})",
                f"validation image {j}: {p:.1%} sure it is a {guess}; it is a {true}",
            )

    def _fill_confusion(self, counts: np.ndarray) -> None:
        pal = palette_colors(self.dark)
        base, ink = QColor(pal["background"]), QColor(pal["smooth"])
        k = len(counts)
        rows = counts.sum(axis=1)
        for r in range(k):
            for c in range(k + 1):
                if c < k:
                    share = counts[r, c] / rows[r] if rows[r] else 0.0
                    text = str(int(counts[r, c]))
                else:
                    share = counts[r, r] / rows[r] if rows[r] else 0.0
                    text = f"{share:.0%}" if rows[r] else "–"
                item = self.confusion.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.confusion.setItem(r, c, item)
                item.setText(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                t = 0.6 * share
                mixed = QColor(
                    round(base.red() * (1 - t) + ink.red() * t),
                    round(base.green() * (1 - t) + ink.green() * t),
                    round(base.blue() * (1 - t) + ink.blue() * t),
                )
                item.setBackground(QBrush(mixed))
                item.setForeground(QBrush(QColor(pal["foreground"])))
        table = self.confusion
        table.resizeRowsToContents()
        header = table.horizontalHeader().sizeHint().height()
        table.setFixedHeight(header + table.verticalHeader().length() + 2 * table.frameWidth() + 2)


class ImagesView(ViewBase):
    """A view for the main window's registry (views.py)."""

    def __init__(self, services: ViewServices | None = None) -> None:
        super().__init__()
        self.services = services
        self.notice = QLabel(NOT_IMAGES)
        self.notice.setWordWrap(True)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.classes = ClassificationPage()
        self.segmentation = SegmentationPage()
        self.stack = QStackedWidget()
        for page in (self.notice, self.classes, self.segmentation):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QScrollArea.Shape.NoFrame)
            scroll.setWidget(page)
            self.stack.addWidget(scroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack)
        self.latest: ValidationImages | None = None
        self._drawn: ValidationImages | None = None
        self.page: str = "none"
        if services is not None and services.state.dataset is not None:
            self.reset(services.state.dataset)

    def _show(self, page: str) -> None:
        self.page = page
        self.stack.setCurrentIndex({"none": 0, "classes": 1, "masks": 2}[page])

    def reset(self, dataset: Dataset | None = None) -> None:
        self.latest = self._drawn = None
        if dataset is None or dataset.image_shape is None:
            self._show("none")
            return
        if dataset.masks:
            self.segmentation.set_dataset(dataset)
            self._show("masks")
        else:
            self.classes.set_dataset(dataset)
            self._show("classes")

    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return image_probes(trainer)

    def on_event(self, event: object) -> None:
        if isinstance(event, ValidationImages):
            self.latest = event

    def on_epoch(self, event: EpochEnd) -> None:
        if self.page == "masks":
            self.segmentation.add_epoch(event)

    def redraw(self) -> None:
        if not self.isVisible():
            return
        if self.page == "masks":
            self.segmentation.redraw_curve()
        if self.latest is self._drawn:
            return
        self._drawn = self.latest
        if self.page == "classes":
            self.classes.show_predictions(self.latest)
        elif self.page == "masks":
            self.segmentation.show_predictions(self.latest)

    def apply_theme(self, dark: bool) -> None:
        self.classes.dark = dark
        self.segmentation.apply_theme(dark)
        if self.page == "classes" and self.latest is None:
            self.classes.show_predictions(None)
        self._drawn = None  # what is drawn has the old colours: draw it again now, or when shown
        self.redraw()
