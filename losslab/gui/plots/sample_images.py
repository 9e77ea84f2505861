"""The Samples tab's picture of the selected training images, large (image data only: there the task
view, which draws samples as points, has nothing to show)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from losslab.gui.plots.image_tiles import Tile, grey_pixmap

SHOWN = 6  # selected images shown at most (the first ones selected)
LARGE_PX = 168  # one selected image
SMALL_PX = 96  # several
PROMPT = "Select rows of the table to see their images here, large."


class SampleImages(QWidget):
    """``show_images(images, titles, details)``: up to SHOWN uint8 (H, W) images, one large (its
    details under it) or a grid of smaller ones (their details in tooltips)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sampleImages")
        self.note = QLabel(PROMPT, self)
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.large = Tile(LARGE_PX, self)
        self.small = [Tile(SMALL_PX, self) for _ in range(SHOWN)]
        grid = QGridLayout()
        grid.setSpacing(4)
        for i, tile in enumerate(self.small):
            grid.addWidget(tile, i // 3, i % 3)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.note)
        layout.addWidget(self.large, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.show_images([], [], [])

    def show_images(self, images: list[np.ndarray], titles: list[str], details: list[str]) -> None:
        images = images[:SHOWN]
        one = len(images) == 1
        self.large.setVisible(one)
        if one:
            caption = f"sample {titles[0]}<br>{details[0]}" if details[0] else f"sample {titles[0]}"
            self.large.show_image(grey_pixmap(images[0], LARGE_PX, 0, 255), caption)
        for i, tile in enumerate(self.small):
            tile.setVisible(not one and i < len(images))
            if not one and i < len(images):
                tip = f"sample {titles[i]}: {details[i]}"
                tile.show_image(grey_pixmap(images[i], SMALL_PX, 0, 255), titles[i], tip)
        self.note.setText(PROMPT if not images else "")
        self.note.setVisible(not images)
