"""The Landscape view: what the loss looks like around the weights the optimizer found.

Two slices of the training loss as a function of the weights (core/landscape.py): the straight
line from the initial weights to the current ones (and a bit beyond both ends), or a grid around
the current weights along two filter-normalized random directions (Li et al. 2018) or the two
principal directions of the path the weights took, drawn as a heatmap with contour lines and the
optimizer's path projected onto it. Computing runs in a background thread on a copy of the
network, so the window and a training run keep going; Cancel stops it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from losslab.core.trajectory import Trajectory, WeightSnapshot, WeightTrajectoryProbe
from losslab.gui.background import TaskRunner
from losslab.gui.plots.axes import TidyAxis
from losslab.gui.theme import palette_colors, style_plot_item
from losslab.gui.view_api import ViewBase, ViewServices
from losslab.gui.widgets import FlowLayout

if TYPE_CHECKING:  # core.landscape needs torch, which loads after the window is up
    from losslab.core.data import Dataset
    from losslab.core.landscape import LandscapeGrid, LandscapeLine
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer

MODES = {"grid": "2-D: grid around the current weights", "line": "1-D: line from the initial weights"}
DIRECTIONS = {"random": "random (filter-normalized)", "pca": "principal directions of the path"}
CONTOURS = 10
LINE_ALPHAS = np.linspace(-0.5, 1.5, 101)
HINTS = {
    ("grid", "random"): "Training loss around the current weights (centre, ★) along two random directions, "
    "each scaled neuron by neuron to the size of the weights (Li et al. 2018), so ±1 moves every neuron "
    "by its own size. Colour and contours: log₁₀ loss. Random directions are almost at right angles to "
    "the path the optimizer took, so the path looks short here: choose the principal directions to "
    "see it.",
    ("grid", "pca"): "Training loss in the plane the weights moved in most (the first two principal "
    "directions of their path), centred on the current weights (★). The line is the optimizer's path "
    "from the start (■). Colour and contours: log₁₀ loss.",
    "line": "Training loss along the straight line from the initial weights (α = 0) to the current ones "
    "(α = 1), and half as far again beyond each. A bump between them means the optimizer went around "
    "an obstacle, not straight down.",
}


# Each grid point is a pass over every training image: a 31×31 grid of a small CNN took minutes.
IMAGE_GRID = (
    "The 2-D grid is not available for image data: it needs one pass over every training image per "
    "grid point (minutes for a small CNN). The 1-D line from the initial weights works."
)


class LandscapeView(ViewBase):
    """A view for the main window's registry (views.py)."""

    def __init__(self, services: ViewServices | None = None) -> None:
        super().__init__()
        self.services = services
        self.trainer: Trainer | None = None
        self.trajectory = Trajectory()
        self.result: LandscapeGrid | LandscapeLine | None = None
        self._started = 0.0
        self._pal = palette_colors(None)

        self.mode_combo = QComboBox()
        self.mode_combo.setObjectName("landscapeMode")
        for key, text in MODES.items():
            self.mode_combo.addItem(text, key)
        self.dir_combo = QComboBox()
        self.dir_combo.setObjectName("landscapeDirections")
        for key, text in DIRECTIONS.items():
            self.dir_combo.addItem(text, key)
        self.steps_spin = QSpinBox()
        self.steps_spin.setObjectName("landscapeSteps")
        self.steps_spin.setRange(5, 101)
        self.steps_spin.setSingleStep(2)
        self.steps_spin.setValue(31)
        self.steps_spin.setSuffix(" × n")
        self.steps_spin.setToolTip("Grid points along each direction (the loss is evaluated n² times)")
        self.span_spin = QDoubleSpinBox()
        self.span_spin.setObjectName("landscapeSpan")
        self.span_spin.setRange(0.05, 20.0)
        self.span_spin.setDecimals(2)
        self.span_spin.setSingleStep(0.25)
        self.span_spin.setValue(1.0)
        self.span_spin.setPrefix("± ")
        self.span_spin.setToolTip("How far along each random direction, in units of the weights' own size")
        self.compute_button = QPushButton("Compute")
        self.compute_button.setObjectName("landscapeCompute")
        self.compute_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("landscapeCancel")
        self.progress = QProgressBar()
        self.progress.setObjectName("landscapeProgress")
        self.progress.setMaximumWidth(160)

        # The controls wrap in groups when the tab is narrow (a 1280-px projector with both docks).
        controls_row = QWidget()
        controls = FlowLayout(controls_row, spacing=8)
        self.dir_label = QLabel("Directions:")
        self.grid_label = QLabel("Grid:")
        self.span_label = QLabel("Span:")
        for group in (
            (self.mode_combo,),
            (self.dir_label, self.dir_combo),
            (self.grid_label, self.steps_spin),
            (self.span_label, self.span_spin),
            (self.progress, self.compute_button, self.cancel_button),
        ):
            box = QWidget(controls_row)
            row = QHBoxLayout(box)
            row.setContentsMargins(0, 0, 0, 0)
            for widget in group:
                row.addWidget(widget)
            controls.addWidget(box)

        self.hint = QLabel()
        self.hint.setObjectName("landscapeHint")
        self.hint.setWordWrap(True)
        self.status = QLabel("Press Compute: it works on a copy of the network, so training can go on.")
        self.status.setObjectName("landscapeStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # 2-D: heatmap, contours, the path, the start and the current weights.
        self.grid_plot = pg.PlotWidget()
        self.grid_plot.setObjectName("landscapeGridPlot")
        gp = self.grid_plot.getPlotItem()
        gp.setAspectLocked(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        gp.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(0, 1),
            colorMap=pg.colormap.get("viridis"),
            interactive=False,
            width=14,
            label="log₁₀ loss",
        )
        self.colorbar.setImageItem(self.image, insert_in=gp)
        self.contours: list[pg.IsocurveItem] = []
        self.path_item = gp.plot([], [], antialias=True)
        self.path_item.setZValue(20)
        self.start_item = pg.ScatterPlotItem(symbol="s", size=11)
        self.centre_item = pg.ScatterPlotItem(symbol="star", size=16)
        for item in (self.start_item, self.centre_item):
            item.setZValue(30)
            gp.addItem(item)

        # 1-D: the loss along the line, with the two ends marked.
        self.line_plot = pg.PlotWidget(axisItems={"left": TidyAxis("left")})
        self.line_plot.setObjectName("landscapeLinePlot")
        lp = self.line_plot.getPlotItem()
        lp.setLabel("bottom", "α   (0 = initial weights, 1 = current weights)")
        lp.setLabel("left", "training loss")
        self.line_item = lp.plot([], [], antialias=True)
        # A PlotDataItem (not a bare scatter) so the points follow the log scale with the curve.
        self.ends_item = lp.plot([], [], pen=None, symbol="o", symbolSize=10)
        self.ends_item.setZValue(10)
        self.end_lines = [
            pg.InfiniteLine(pos=a, angle=90, movable=False, label=text, labelOpts={"position": 0.92})
            for a, text in ((0.0, "initial"), (1.0, "current"))
        ]
        for end in self.end_lines:
            lp.addItem(end, ignoreBounds=True)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid_plot)
        self.stack.addWidget(self.line_plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(controls_row)
        layout.addWidget(self.hint)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.status)

        self.mode_combo.currentIndexChanged.connect(self._on_mode)
        self.dir_combo.currentIndexChanged.connect(self._on_mode)
        self.runner = TaskRunner(
            "LossLabLandscape",
            self.compute_button,
            self.cancel_button,
            self.progress,
            self.status,
            "Cannot compute",
            parent=self,
        )
        self.runner.succeeded.connect(self._on_result)
        self.compute_button.clicked.connect(self.compute)
        self._on_mode()
        self.set_theme(None)

    # -- appearance ---------------------------------------------------------------------------
    def apply_theme(self, dark: bool) -> None:
        self.set_theme(dark)

    def set_theme(self, dark: bool | None) -> None:
        pal = self._pal = palette_colors(dark)
        for widget in (self.grid_plot, self.line_plot):
            widget.setBackground(pal["background"])
            style_plot_item(widget.getPlotItem(), dark)
        self.grid_plot.getPlotItem().showGrid(x=False, y=False)
        self.colorbar.axis.setPen(pal["foreground"])
        self.colorbar.axis.setTextPen(pal["foreground"])
        self.path_item.setPen(pg.mkPen("#FF5A36", width=2))
        self.path_item.setSymbol("o")
        self.path_item.setSymbolSize(4)
        self.path_item.setSymbolBrush(pg.mkBrush("#FF5A36"))
        self.path_item.setSymbolPen(None)
        self.start_item.setBrush(pg.mkBrush("#FFFFFF"))
        self.start_item.setPen(pg.mkPen("#000000", width=1.5))
        self.centre_item.setBrush(pg.mkBrush("#FFFFFF"))
        self.centre_item.setPen(pg.mkPen("#000000", width=1.5))
        for contour in self.contours:
            contour.setPen(pg.mkPen((255, 255, 255, 130), width=1))
        self.line_item.setPen(pg.mkPen(pal["smooth"], width=2))
        self.ends_item.setSymbolBrush(pg.mkBrush(pal["mark"]))
        self.ends_item.setSymbolPen(pg.mkPen(pal["background"], width=1))
        for end in self.end_lines:
            end.setPen(pg.mkPen(pal["foreground"], width=1, style=Qt.PenStyle.DotLine))
            end.label.setColor(pal["foreground"])

    @Slot()
    def _on_mode(self, *_: Any) -> None:
        mode = self.mode_combo.currentData()
        is_grid = mode == "grid"
        for w in (self.dir_label, self.dir_combo, self.grid_label, self.steps_spin):
            w.setVisible(is_grid)
        random_dirs = self.dir_combo.currentData() == "random"
        self.span_label.setVisible(is_grid and random_dirs)
        self.span_spin.setVisible(is_grid and random_dirs)
        self.stack.setCurrentWidget(self.grid_plot if is_grid else self.line_plot)
        self.hint.setText(HINTS[(mode, self.dir_combo.currentData())] if is_grid else HINTS["line"])

    # -- the view protocol ----------------------------------------------------------------------
    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return [WeightTrajectoryProbe(max(1, trainer.steps_per_epoch // 4), min_seconds=0.05)]

    def set_trainer(self, trainer: Trainer | None) -> None:
        if trainer is self.trainer:
            return
        self.trainer = trainer
        self.trajectory.clear()
        if trainer is not None:
            from losslab.core.landscape import flat_from_state

            start = flat_from_state(trainer.model, trainer.initial_state).numpy()
            self.trajectory.add(0, start)

    def reset(self, dataset: Dataset | None = None) -> None:
        self.runner.cancel()  # its result would be for the old weights
        self.trajectory.clear()
        if self.trainer is not None:
            from losslab.core.landscape import flat_from_state

            self.trajectory.add(0, flat_from_state(self.trainer.model, self.trainer.initial_state).numpy())
        self._clear_plots()
        self.status.setText("Press Compute: it works on a copy of the network, so training can go on.")

    def on_event(self, event: object) -> None:
        if isinstance(event, WeightSnapshot):
            self.trajectory.add(event.step, event.vector)

    # -- computing ----------------------------------------------------------------------------
    def _current_trainer(self) -> Trainer:
        """The window's trainer, or a fresh one (initial weights) when nothing has been trained yet."""
        services = self.services
        trainer = services.trainer if services is not None else self.trainer
        if trainer is not None:
            return trainer
        assert services is not None  # (without services there is no experiment to make one from)
        import torch

        from losslab.core.trainer import make_trainer

        with torch.random.fork_rng(devices=[]):
            trainer = make_trainer(services.state.experiment, services.state.dataset)
        self.set_trainer(trainer)
        return trainer

    @Slot()
    def compute(self) -> None:
        from losslab.core.errors import LossLabError
        from losslab.core.landscape import LossSurface, flat_from_state, grid, line

        if self.runner.busy:
            return
        try:
            trainer = self._current_trainer()
            surface = LossSurface(trainer)
            running = self.services is not None and self.services.running
            if running and len(self.trajectory) > 1:
                # A consistent copy: weights recorded on the training thread between two steps.
                surface.set_center(self.trajectory.vectors[-1])
            start = flat_from_state(trainer.model, trainer.initial_state)
        except LossLabError as exc:
            self.status.setText(f"Cannot compute: {exc}")
            return
        mode = self.mode_combo.currentData()
        if mode != "line" and trainer.dataset.image_shape is not None:
            self.status.setText(IMAGE_GRID)
            return
        steps, span = self.steps_spin.value(), self.span_spin.value()
        directions = self.dir_combo.currentData()
        path = list(self.trajectory.vectors)
        if not running and path:
            path.append(surface.center.numpy())  # the weights now, at the end of the path

        def work(progress: Any, cancelled: Any) -> Any:
            if mode == "line":
                return line(surface, start, alphas=LINE_ALPHAS, progress=progress, cancelled=cancelled)
            return grid(
                surface, steps, span, directions, trajectory=path, progress=progress, cancelled=cancelled
            )

        self._started = time.perf_counter()
        self.runner.start(work, "Computing in the background…")

    @Slot(object)
    def _on_result(self, result: Any) -> None:
        from losslab.core.landscape import LandscapeGrid

        self.result = result
        seconds = time.perf_counter() - self._started
        if isinstance(result, LandscapeGrid):
            self._draw_grid(result)
            n = len(result.xs)
            where = "plane of the path" if result.directions == "pca" else "random plane"
            extra = ""
            if result.explained is not None:
                extra = (
                    f"; the two directions hold {result.explained[0]:.0%} and {result.explained[1]:.0%} "
                    "of the path's movement"
                )
            self.status.setText(
                f"Loss at the current weights (★): {result.center_loss:.4g} · lowest in this {where}: "
                f"{np.nanmin(result.losses):.4g} · {n}×{n} grid in {seconds:.1f} s{extra}"
            )
        else:
            self._draw_line(result)
            self.status.setText(
                f"Initial weights: loss {result.start_loss:.4g} · current weights: {result.end_loss:.4g} · "
                f"highest in between: {np.nanmax(result.losses[(LINE_ALPHAS >= 0) & (LINE_ALPHAS <= 1)]):.4g}"
                f" · {len(result.alphas)} points in {seconds:.1f} s"
            )

    # -- drawing ------------------------------------------------------------------------------
    def _clear_plots(self) -> None:
        self.result = None
        self.image.clear()
        for contour in self.contours:
            self.grid_plot.getPlotItem().removeItem(contour)
        self.contours.clear()
        self.path_item.setData([], [])
        self.start_item.setData([], [])
        self.centre_item.setData([], [])
        self.line_item.setData([], [])
        self.ends_item.setData([], [])

    def _draw_grid(self, g: LandscapeGrid) -> None:
        self._clear_plots()
        self.result = g
        z = np.log10(np.clip(g.losses, 1e-12, None))
        finite = np.isfinite(z)
        if not finite.any():
            self.status.setText("Every loss on this grid is infinite or NaN.")
            return
        lo, hi = float(np.min(z[finite])), float(np.max(z[finite]))
        if hi - lo < 1e-9:
            hi = lo + 1e-9
        z = np.where(finite, z, hi)
        dx = (g.xs[-1] - g.xs[0]) / max(1, len(g.xs) - 1)
        dy = (g.ys[-1] - g.ys[0]) / max(1, len(g.ys) - 1)
        rect = QRectF(g.xs[0] - dx / 2, g.ys[0] - dy / 2, dx * len(g.xs), dy * len(g.ys))
        self.image.setImage(z, autoLevels=False, levels=(lo, hi))
        self.image.setRect(rect)
        self.colorbar.setLevels((lo, hi))
        gp = self.grid_plot.getPlotItem()
        for level in np.linspace(lo, hi, CONTOURS + 2)[1:-1]:
            contour = pg.IsocurveItem(
                data=z, level=float(level), pen=pg.mkPen((255, 255, 255, 130), width=1), axisOrder="row-major"
            )
            contour.setParentItem(self.image)  # pixel coordinates, like the image
            contour.setZValue(10)
            self.contours.append(contour)
        if g.trajectory is not None and len(g.trajectory):
            self.path_item.setData(g.trajectory[:, 0], g.trajectory[:, 1])
            self.start_item.setData([g.trajectory[0, 0]], [g.trajectory[0, 1]])
        self.centre_item.setData([0.0], [0.0])
        label = "principal direction" if g.directions == "pca" else "direction"
        gp.setLabel("bottom", f"{label} 1")
        gp.setLabel("left", f"{label} 2")
        gp.enableAutoRange()
        gp.autoRange(padding=0.0)
        gp.setRange(xRange=(rect.left(), rect.right()), yRange=(rect.top(), rect.bottom()), padding=0)

    def _draw_line(self, result: LandscapeLine) -> None:
        self._clear_plots()
        self.result = result
        losses = result.losses
        finite = losses[np.isfinite(losses) & (losses > 0)]
        log = bool(finite.size) and float(finite.max() / max(finite.min(), 1e-12)) > 50
        lp = self.line_plot.getPlotItem()
        lp.setLogMode(x=False, y=log)
        self.line_item.setData(result.alphas, np.where(np.isfinite(losses), losses, np.nan))
        self.ends_item.setData([0.0, 1.0], [result.start_loss, result.end_loss])
        lp.setLabel("left", "training loss" + (" (log scale)" if log else ""))
        lp.enableAutoRange()

    # -- for tests ----------------------------------------------------------------------------
    def contour_count(self) -> int:
        return len(self.contours)
