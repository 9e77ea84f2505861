"""The LR finder view: the learning-rate range test, with one click to use what it suggests.

The test (core/lr_finder.py) trains a copy of the network from its initial weights for a number
of steps while the learning rate grows exponentially, in a background thread: the window and a
training run go on meanwhile. The curve of loss against learning rate (log scale) fills in live;
the suggestion (steepest descent before the minimum) is marked, and "Use this learning rate"
puts it in the Optimizer panel (a run in progress picks it up at once).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.params import Param
from losslab.gui.background import TaskRunner
from losslab.gui.param_form import ParamForm
from losslab.gui.theme import palette_colors, style_legend, style_plot_item
from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:  # core.lr_finder needs torch, which loads after the window is up
    from losslab.core.data import Dataset
    from losslab.core.lr_finder import LRFinderResult

RANGE_PARAMS = (
    Param("start", "From", "float", 1e-6, 1e-8, 1.0, log=True, help="The smallest learning rate tried"),
    Param("end", "To", "float", 10.0, 1e-4, 100.0, log=True, help="The largest learning rate tried"),
    Param("steps", "Steps", "int", 100, 10, 2000, help="Training steps in the sweep, one rate each"),
)
INTRO = (
    "The range test trains a copy of the network from its initial weights for a few steps while the "
    "learning rate grows from tiny to huge. Too small and the loss barely moves; too large and it climbs "
    "and blows up. A good rate is where it falls fastest."
)


class LRFinderView(ViewBase):
    """A view for the main window's registry (views.py)."""

    def __init__(self, services: ViewServices | None = None) -> None:
        super().__init__()
        self.services = services
        self.result: LRFinderResult | None = None
        self._live: list[tuple[float, float]] = []  # (lr, loss) appended by the worker thread
        self._drawn = 0
        self._pal = palette_colors(None)

        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.form = ParamForm(RANGE_PARAMS, {p.name: p.default for p in RANGE_PARAMS})
        self.form.setObjectName("lrFinderRange")
        self.run_button = QPushButton("Run range test")
        self.run_button.setObjectName("lrFinderRun")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("lrFinderCancel")
        self.use_button = QPushButton("Use this learning rate")
        self.use_button.setObjectName("lrFinderUse")
        self.use_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("lrFinderProgress")
        self.message = QLabel("")
        self.message.setObjectName("lrFinderMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        side = QVBoxLayout()
        side.addWidget(intro)
        side.addWidget(self.form)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        side.addLayout(buttons)
        side.addWidget(self.progress)
        side.addWidget(self.message)
        side.addWidget(self.use_button)
        side.addStretch(1)
        side_box = QWidget()
        side_box.setLayout(side)
        side_box.setMaximumWidth(330)

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("lrFinderPlot")
        pi = self.plot.getPlotItem()
        pi.setLogMode(x=True, y=False)
        pi.setLabel("bottom", "learning rate (log scale)")
        pi.setLabel("left", "loss")
        pi.setMenuEnabled(True)
        self.legend = pi.addLegend(offset=(8, -8), labelTextSize="8pt")  # bottom left: the curve starts high
        self.raw_item = pi.plot([], [], name="loss per step", connect="finite")
        self.smooth_item = pi.plot([], [], name="smoothed", antialias=True, connect="finite")
        self.suggest_line = pg.InfiniteLine(
            angle=90, movable=False, label="suggested", labelOpts={"position": 0.9}
        )
        # Label left of the line: the current rate is often the right edge (when it is too high).
        self.current_line = pg.InfiniteLine(
            angle=90,
            movable=False,
            label="current",
            labelOpts={"position": 0.78, "anchors": [(1, 0.5), (1, 0.5)]},
        )
        self.suggest_line.hide()
        self.current_line.hide()
        pi.addItem(self.suggest_line, ignoreBounds=True)
        pi.addItem(self.current_line)  # in the view's range, to show where the current rate sits

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(side_box)
        layout.addWidget(self.plot, 1)

        self.runner = TaskRunner(
            "LossLabLRFinder",
            self.run_button,
            self.cancel_button,
            self.progress,
            self.message,
            "Cannot run the range test",
            parent=self,
        )
        self.runner.succeeded.connect(self._on_result)
        self.run_button.clicked.connect(self.run)
        self.use_button.clicked.connect(self.use_suggestion)
        self.set_theme(None)

    # -- appearance ---------------------------------------------------------------------------
    def apply_theme(self, dark: bool) -> None:
        self.set_theme(dark)

    def set_theme(self, dark: bool | None) -> None:
        pal = self._pal = palette_colors(dark)
        self.plot.setBackground(pal["background"])
        style_plot_item(self.plot.getPlotItem(), dark)
        style_legend(self.legend, dark)
        self.raw_item.setPen(pg.mkPen(pal["raw"], width=1))
        self.smooth_item.setPen(pg.mkPen(pal["smooth"], width=2.5))
        self.suggest_line.setPen(pg.mkPen(pal["train"], width=2))
        self.suggest_line.label.setColor(pal["train"])
        self.current_line.setPen(pg.mkPen(pal["foreground"], width=1, style=Qt.PenStyle.DotLine))
        self.current_line.label.setColor(pal["foreground"])

    # -- the sweep ----------------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        if self.runner.busy or self.services is None:
            return
        values = self.form.values()
        start, end, steps = float(values["start"]), float(values["end"]), int(values["steps"])
        if not start < end:
            self.message.setText("The range must go up: “From” must be smaller than “To”.")
            return
        state = self.services.state
        experiment, dataset = state.experiment, state.dataset
        live = self._live = []
        self._drawn = 0
        self.result = None
        self.use_button.setEnabled(False)
        self.suggest_line.hide()
        self.raw_item.setData([], [])
        self.smooth_item.setData([], [])

        def work(progress: Any, cancelled: Any) -> Any:
            from losslab.core.lr_finder import lr_find  # (imports torch: on this thread, not the GUI's)

            def step(done: int, total: int, lr: float, loss: float) -> None:
                live.append((lr, loss))  # list.append is atomic; the GUI copies on redraw
                progress(done, total)

            return lr_find(experiment, start, end, steps, dataset=dataset, progress=step, cancelled=cancelled)

        self._show_current()
        self.runner.start(work, "Sweeping the learning rate on a copy of the network…", total=steps)

    @Slot(object)
    def _on_result(self, result: LRFinderResult) -> None:
        self.result = result
        self._draw_result()
        self.message.setText(result.message)
        self.use_button.setEnabled(result.suggestion is not None)
        if result.suggestion is not None:
            self.use_button.setText(f"Use this learning rate ({result.suggestion:g})")

    @Slot()
    def use_suggestion(self) -> None:
        if self.result is None or self.result.suggestion is None or self.services is None:
            return
        lr = self.result.suggestion
        try:
            applied = self.services.state.update("optimizer", lr=lr)
        except LossLabError as exc:
            self.message.setText(f"Cannot use {lr:g}: {exc}")
            return
        if applied:
            self._show_current()
            self.services.show_message(f"Learning rate set to {lr:g} (from the range test)", 6000)

    # -- the view protocol ----------------------------------------------------------------------
    def reset(self, dataset: Dataset | None = None) -> None:
        self._show_current()

    def redraw(self) -> None:
        if not self.runner.busy or not self.isVisible() or len(self._live) == self._drawn:
            return
        points = list(self._live)
        self._drawn = len(points)
        lrs = np.array([p[0] for p in points])
        losses = np.array([p[1] for p in points], dtype=np.float64)
        self.raw_item.setData(lrs, np.where(np.isfinite(losses), losses, np.nan))

    # -- drawing ------------------------------------------------------------------------------
    def _draw_result(self) -> None:
        r = self.result
        if r is None:
            return
        raw = np.where(np.isfinite(r.raw_losses), r.raw_losses, np.nan)
        self.raw_item.setData(r.lrs, raw)
        self.smooth_item.setData(r.lrs, np.where(np.isfinite(r.losses), r.losses, np.nan))
        if r.suggestion is not None:
            self.suggest_line.setValue(math.log10(r.suggestion))
            self.suggest_line.show()  # (a hidden label ignores setFormat)
            self.suggest_line.label.setFormat(f"suggested {r.suggestion:g}")
        # Keep the exploded tail from squashing the interesting part: the y range follows the curve
        # up to a little past its minimum.
        finite = r.losses[np.isfinite(r.losses)]
        if finite.size:
            top = float(np.nanmax(r.losses[: max(3, int(np.nanargmin(r.losses)) + 1)]))
            low = float(finite.min())
            pad = 0.08 * (top - low if top > low else 1.0)
            self.plot.getPlotItem().setYRange(low - pad, top + 4 * pad, padding=0)

    def _show_current(self) -> None:
        if self.services is None:
            return
        lr = self.services.state.experiment.optimizer["lr"]
        self.current_line.setValue(math.log10(lr))
        self.current_line.show()
        self.current_line.label.setFormat(f"current {lr:g} ")
