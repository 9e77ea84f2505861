"""The task view's per-sample overlays: rings around highlighted samples (rows selected in the
Samples table) and each training point's loss as ring size or fill colour ("Training points by
loss" in the plot's right-click menu).

A mixin of TaskView (task_view.py), which owns the plot item, the palette, the legend and the
``pointWeightModeChanged`` signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup

from losslab.gui.plots.task_points import point_size

# How training points show their loss (set_point_weights): not at all, as ring size, as fill colour.
LOSS_DISPLAY = {"off": "Off", "size": "Ring size", "colour": "Colour"}
LOSS_LEGEND = {"size": "ring size: the sample's loss", "colour": "colour: the sample's loss (bright = high)"}
LOSS_COLORMAP = "plasma"
MIN_RING_SHARE = 0.02  # samples under 2% of the top loss get no ring: a ring on every point is clutter
LOSS_LEVELS = 32  # colours and ring sizes come in steps: the scatter plot's symbol cache stays small


class SampleOverlays:
    """Highlighted samples and points by loss, over the data ``_train_pos`` says where it is drawn."""

    plot_item: pg.PlotItem
    legend: pg.LegendItem
    pointWeightModeChanged: Signal
    _pal: dict[str, Any]
    _train_pos: np.ndarray | None

    _legend_once: Callable[[pg.GraphicsObject, str], None]  # (DataPoints)
    _on_loss_action: Callable[[QAction], None]  # (TaskView's slot)

    def _init_sample_overlays(self) -> None:
        self._train_pos: np.ndarray | None = None  # (N_train, 2) where training point i is drawn
        self._highlighted = np.empty(0, dtype=np.int64)
        self._weights: np.ndarray | None = None
        self.point_weight_mode = "off"
        self.weight_marks = pg.ScatterPlotItem(pxMode=True)
        self.weight_marks.setZValue(14)
        self._weight_legend: str | None = None
        self.highlight_marks = pg.ScatterPlotItem(symbol="o", pxMode=True, brush=pg.mkBrush(None))
        self.highlight_marks.setZValue(40)
        for item in (self.weight_marks, self.highlight_marks):
            self.plot_item.addItem(item, ignoreBounds=True)
            item.hide()
        menu = self.plot_item.getViewBox().getMenu(None)
        self.loss_menu = menu.addMenu("Training points by loss") if menu is not None else None
        self.loss_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for mode, text in LOSS_DISPLAY.items():
            action = QAction(text, self)
            action.setCheckable(True)
            action.setChecked(mode == self.point_weight_mode)
            action.setData(mode)
            group.addAction(action)
            if self.loss_menu is not None:
                self.loss_menu.addAction(action)
            self.loss_actions[mode] = action
        group.triggered.connect(self._on_loss_action)

    def _clear_sample_overlays(self) -> None:
        self._weight_legend = None  # set_dataset has cleared the legend
        self._train_pos = None
        self._clear_sample_marks()

    def _clear_sample_marks(self) -> None:
        """No highlighted samples and no loss marks; the points stay where they are drawn."""
        self._set_weight_legend(None)
        self._highlighted = np.empty(0, dtype=np.int64)
        self._weights = None
        self.weight_marks.hide()
        self.highlight_marks.hide()

    @property
    def highlighted(self) -> np.ndarray:
        """Indices (into the training set) of the highlighted samples."""
        return self._highlighted.copy()

    def training_positions(self) -> np.ndarray | None:
        """(N_train, 2): where each training sample is drawn, or None (nothing drawn per sample)."""
        return None if self._train_pos is None else self._train_pos.copy()

    def highlight(self, indices: Any) -> None:
        """Ring the training samples ``indices`` (e.g. the rows selected in a table); [] clears."""
        idx = np.asarray(indices, dtype=np.int64).ravel()
        pos = self._train_pos
        if pos is not None:
            idx = idx[(idx >= 0) & (idx < len(pos))]
        self._highlighted = idx
        if pos is None or idx.size == 0:
            self.highlight_marks.hide()
            return
        size = point_size(len(pos)) + 12
        self.highlight_marks.setData(
            pos[idx, 0],
            pos[idx, 1],
            size=size,
            pen=pg.mkPen(self._pal["mark"], width=2.5),
            brush=pg.mkBrush(None),
        )
        self.highlight_marks.show()

    def set_point_weight_mode(self, mode: str) -> None:
        """How training points show their loss: a key of LOSS_DISPLAY."""
        if mode not in LOSS_DISPLAY:
            raise ValueError(f"unknown mode {mode!r}")
        if mode != self.point_weight_mode:
            self.point_weight_mode = mode
            self.loss_actions[mode].setChecked(True)
            self._redraw_sample_overlays()
            self.pointWeightModeChanged.emit(mode)

    def set_point_weights(self, values: np.ndarray | None) -> None:
        """Each training sample's loss (N_train,), shown as the current mode says; None hides it."""
        self._weights = None if values is None else np.asarray(values, dtype=np.float64).ravel()
        self._redraw_sample_overlays()

    def _loss_styles(self) -> tuple[list[Any], list[Any]]:
        """([ring pen, outline pen], [brush per loss level..., no brush]), made once per theme."""
        key = (self._pal["foreground"], self._pal["background"])
        if getattr(self, "_loss_style_key", None) != key:
            color = pg.mkColor(self._pal["foreground"])
            color.setAlpha(170)
            cmap = pg.colormap.get(LOSS_COLORMAP)
            levels = cmap.map(np.linspace(0.0, 1.0, LOSS_LEVELS), mode="qcolor")
            self._loss_style = (
                [pg.mkPen(color, width=1.3), pg.mkPen(self._pal["background"], width=0.8)],
                [*(pg.mkBrush(c) for c in levels), pg.mkBrush(None)],
            )
            self._loss_style_key = key
        return self._loss_style

    def _set_weight_legend(self, text: str | None) -> None:
        if text == self._weight_legend:
            return
        if self._weight_legend is not None:
            self.legend.removeItem(self.weight_marks)
            self._legend_names.discard(self._weight_legend)
        self._weight_legend = text
        if text is not None:
            self._legend_once(self.weight_marks, text)

    def _redraw_sample_overlays(self) -> None:
        pos, w = self._train_pos, self._weights
        if self.point_weight_mode == "off" or pos is None or w is None or len(w) != len(pos) or not len(w):
            self.weight_marks.hide()
            self._set_weight_legend(None)
        else:
            finite = np.isfinite(w)
            top = float(np.percentile(w[finite], 99)) if finite.any() else 0.0
            share = np.clip(np.nan_to_num(w / top if top > 0 else w * 0.0), 0.0, 1.0)
            base = point_size(len(pos))
            level = np.rint(share * (LOSS_LEVELS - 1)).astype(np.int64)
            pens, brushes = self._loss_styles()
            if self.point_weight_mode == "size":  # a ring whose area grows with the loss
                big = share >= MIN_RING_SHARE
                sizes = np.rint(base + 4 + 26 * np.sqrt(level[big] / (LOSS_LEVELS - 1)))
                self.weight_marks.setData(
                    pos[big, 0], pos[big, 1], size=sizes, symbol="o", pen=pens[0], brush=brushes[-1]
                )
            else:
                self.weight_marks.setData(
                    pos[:, 0],
                    pos[:, 1],
                    size=base + 1,
                    symbol="o",
                    brush=[brushes[k] for k in level],
                    pen=pens[1],
                )
            self.weight_marks.show()
            self._set_weight_legend(LOSS_LEGEND[self.point_weight_mode])
        if self._highlighted.size:
            self.highlight(self._highlighted)
