"""Small image thumbnails with a caption, for the Images and Segmentation views.

Images are grey (height, width) arrays scaled to a few dozen pixels with nearest-neighbour
sampling, so a 28×28 image shows its real pixels. Plain QLabels: a dozen of them redraw in well
under a millisecond, and a caption can be coloured rich text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from losslab.core.data import Dataset

TILE_PX = 56


def display_images(ds: Dataset, x: np.ndarray) -> np.ndarray:
    """(N, H, W) grey images in display units from model-space rows (first channel)."""
    assert ds.image_shape is not None
    c, h, w = ds.image_shape
    images: np.ndarray = ds.x_to_display(x).reshape(len(x), c, h, w)[:, 0]
    return images


def grey_range(images: np.ndarray) -> tuple[float, float]:
    """One black..white range for a set of images, robust to the noise's extremes."""
    if images.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(images, [1, 99])
    return float(lo), float(hi if hi > lo else lo + 1.0)


def grey_pixmap(
    image: np.ndarray, size: int = TILE_PX, lo: float | None = None, hi: float | None = None
) -> QPixmap:
    """A square pixmap of a (H, W) array, ``lo``..``hi`` (default: its own range) mapped to black..white."""
    a = np.asarray(image, dtype=np.float64)
    lo = float(np.nanmin(a)) if lo is None else lo
    hi = float(np.nanmax(a)) if hi is None else hi
    scaled = np.clip((a - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    data = np.ascontiguousarray((scaled * 255).astype(np.uint8))
    h, w = data.shape
    qimage = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()  # copy: own the bytes
    return QPixmap.fromImage(qimage).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio)


class Tile(QWidget):
    """A thumbnail above a one- or two-line caption."""

    def __init__(self, size: int = TILE_PX, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        self.picture = QLabel(self)
        self.picture.setFixedSize(size, size)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel(self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        font = self.caption.font()
        font.setPointSizeF(max(6.5, font.pointSizeF() - 1.5))
        self.caption.setFont(font)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.caption)

    def show_image(self, pixmap: QPixmap | None, caption: str = "", tooltip: str = "") -> None:
        if pixmap is None:
            self.picture.clear()
        else:
            self.picture.setPixmap(pixmap)
        self.caption.setText(caption)
        self.setToolTip(tooltip)
