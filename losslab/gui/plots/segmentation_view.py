"""The Images view's page for segmentation: input, true mask and predicted mask of a few validation
images, live, and the training and validation IoU per epoch.

The predicted mask is drawn as P(foreground) per pixel (white = sure it is foreground), so a mask
that is still unsure shows grey; its caption is that image's IoU with the 0.5 threshold applied.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from losslab.core.image_probe import SHOWN_MASKS, ValidationImages
from losslab.core.metrics import mask_iou
from losslab.gui.plots.image_tiles import Tile, display_images, grey_pixmap, grey_range
from losslab.gui.theme import palette_colors, style_plot_item

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import EpochEnd

TRIPLES_PER_ROW = 3
PARTS = ("input", "true mask", "predicted")


class SegmentationPage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        grid = QGridLayout()
        grid.setHorizontalSpacing(2)
        grid.setVerticalSpacing(2)
        self.tiles: list[tuple[Tile, Tile, Tile]] = []
        for i in range(SHOWN_MASKS):
            row, col = divmod(i, TRIPLES_PER_ROW)
            triple = (Tile(parent=self), Tile(parent=self), Tile(parent=self))
            for j, tile in enumerate(triple):
                # A wider gap between triples than within one.
                grid.addWidget(tile, row, col * 4 + j)
            if col < TRIPLES_PER_ROW - 1:
                grid.setColumnMinimumWidth(col * 4 + 3, 10)
            self.tiles.append(triple)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("iouPlot")
        self.plot.setMinimumHeight(140)
        self.plot.setMaximumHeight(200)
        pi = self.plot.getPlotItem()
        pi.setLabel("bottom", "epoch")
        pi.setLabel("left", "IoU")
        pi.setYRange(0, 1, padding=0.02)
        self.legend = pi.addLegend(offset=(-8, -8), labelTextSize="8pt")
        self.train_curve = pi.plot([], [], name="training IoU", symbol="o", symbolSize=5)
        self.val_curve = pi.plot([], [], name="validation IoU", symbol="s", symbolSize=5)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(
            QLabel("<b>Validation images</b>: input · true mask · predicted P(foreground)", self)
        )
        layout.addLayout(grid)
        layout.addWidget(self.plot)
        layout.addStretch(1)
        self.images = np.empty((0, 1, 1))
        self.masks = np.empty((0, 1, 1))
        self.levels = (0.0, 1.0)
        self.epochs: list[float] = []
        self.train_iou: list[float] = []
        self.val_iou: list[float] = []
        self._curve_drawn = 0
        self.apply_theme(False)

    def apply_theme(self, dark: bool) -> None:
        pal = palette_colors(dark)
        style_plot_item(self.plot.getPlotItem(), dark)
        self.plot.setBackground(pal["background"])
        self.train_curve.setPen(pg.mkPen(pal["train"], width=2))
        self.train_curve.setSymbolBrush(pal["train"])
        self.val_curve.setPen(pg.mkPen(pal["val"], width=2))
        self.val_curve.setSymbolBrush(pal["val"])

    def set_dataset(self, ds: Dataset) -> None:
        n = min(SHOWN_MASKS, ds.n_val)
        self.images = display_images(ds, ds.x_val[:n])
        self.levels = grey_range(display_images(ds, ds.x_val[: max(n, 50)]))
        self.masks = np.asarray(ds.y_val[:n], dtype=np.float64).reshape(n, *ds.y_val.shape[-2:])
        self.share = float(np.mean(ds.y_train)) if ds.n_train else math.nan
        self.epochs, self.train_iou, self.val_iou = [], [], []
        self._curve_drawn = -1
        self.show_predictions(None)

    def add_epoch(self, event: EpochEnd) -> None:
        self.epochs.append(float(event.epoch))
        self.train_iou.append(float(event.train_metrics.get("iou", math.nan)))
        self.val_iou.append(float(event.val_metrics.get("iou", math.nan)))

    def redraw_curve(self) -> None:
        if self._curve_drawn == len(self.epochs):
            return
        self._curve_drawn = len(self.epochs)
        x = np.asarray(self.epochs)
        self.train_curve.setData(x, np.asarray(self.train_iou))
        self.val_curve.setData(x, np.asarray(self.val_iou))

    def show_predictions(self, event: ValidationImages | None) -> None:
        lo, hi = self.levels
        for i, (shown, true, predicted) in enumerate(self.tiles):
            if i >= len(self.images):
                for tile in (shown, true, predicted):
                    tile.show_image(None)
                continue
            shown.show_image(grey_pixmap(self.images[i], lo=lo, hi=hi), "input")
            true.show_image(grey_pixmap(self.masks[i], lo=0.0, hi=1.0), f"true {self.masks[i].mean():.0%}")
            if event is None or i >= len(event.probs):
                predicted.show_image(None, "predicted")
                continue
            p = event.probs[i]
            iou = mask_iou((p > 0.5)[None].astype(np.int64), self.masks[i][None])
            predicted.show_image(
                grey_pixmap(p, lo=0.0, hi=1.0),
                f"IoU {iou:.2f}",
                f"P(foreground) per pixel; thresholded at 0.5 it overlaps the true mask by IoU {iou:.3f}",
            )
        share = (
            f"{self.share:.1%} of the training pixels are foreground. " if math.isfinite(self.share) else ""
        )
        if event is None:
            self.summary.setText(share + "Train to see the predicted masks.")
        else:
            last = self.val_iou[-1] if self.val_iou else math.nan
            self.summary.setText(
                share + f"After epoch {event.epoch}: validation IoU {last:.3f} (mean over the validation "
                "images of each one's intersection over union)."
            )
