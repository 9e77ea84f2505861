"""The Gradients view: is every layer still learning, and at a sane pace?

Per Linear layer over training: gradient norm, update size relative to the weights and weight
norm (log scales; a dashed line marks the ~1e-3 update ratio that usually means a healthy pace),
the fraction of dead ReLU units and saturated sigmoid/tanh outputs per activation layer, and the
weights or outputs of one chosen layer as a histogram over time. A banner above says when
gradients vanish or explode and what to try. Data comes from the core's GradientHealthProbe
(every ``training.diagnostics_every`` steps, on the training thread); drawing happens on the
window's frame timer, only while the tab is visible and something new arrived.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from losslab.core.diagnostics import GradientStats, HistogramHistory
from losslab.gui.plots.axes import TidyAxis
from losslab.gui.theme import palette_colors, style_plot_item
from losslab.gui.view_api import DrawnWhenDue, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.trainer import Trainer

HEALTHY_RATIO = 1e-3
SYMBOLS_BELOW = 20  # reports
WARNING_STYLE = (
    "#gradientWarnings { background: #fdecd9; color: #8a3a00; border: 1px solid #e0a060;"
    " border-radius: 4px; padding: 6px; }"
)


def layer_colors(n: int, dark: bool) -> list[Any]:
    """Input side dark to output side bright (light scheme) or the reverse tint (dark scheme)."""
    cmap = pg.colormap.get("plasma" if dark else "viridis")
    lo, hi = (0.3, 1.0) if dark else (0.0, 0.85)
    return [cmap.map(lo + (hi - lo) * (i / max(1, n - 1)), mode="qcolor") for i in range(n)]


def _positive(values: np.ndarray) -> np.ndarray:
    """Log axes cannot show 0 or negative values: they become gaps."""
    out = np.asarray(values, dtype=np.float64).copy()
    out[~(out > 0)] = np.nan
    return out


class Rows:
    """A growable 2-D buffer (reports x layers) that doubles when full: no re-stacking per frame."""

    def __init__(self) -> None:
        self._data = np.empty((0, 0))
        self._n = 0

    def clear(self) -> None:
        self._data = np.empty((0, 0))
        self._n = 0

    def append(self, row: np.ndarray) -> None:
        row = np.asarray(row, dtype=np.float64)
        if self._n == len(self._data) or self._data.shape[1] != row.size:
            grown = np.empty((max(64, 2 * len(self._data)), row.size))
            if self._data.shape[1] == row.size:
                grown[: self._n] = self._data[: self._n]
            else:
                self._n = 0
            self._data = grown
        self._data[self._n] = row
        self._n += 1

    def view(self) -> np.ndarray:
        return self._data[: self._n]


def _set(item: pg.PlotDataItem, x: np.ndarray, y: np.ndarray, opts: dict[str, Any]) -> None:
    if np.isfinite(y).any():
        item.setData(x, y, **opts)
    else:  # nothing to show yet (no update ratio at the first report): no all-NaN warnings either
        item.setData([], [])


class GradientView(DrawnWhenDue):
    """A view for the main window's registry (views.py)."""

    def __init__(self, services: ViewServices | None = None) -> None:
        super().__init__()
        self._pal = palette_colors(None)
        self._layers: tuple[str, ...] = ()
        self._acts: tuple[str, ...] = ()
        self._kinds: tuple[str, ...] = ()
        self._steps: list[int] = []
        self._grad, self._weight, self._ratio, self._frac = Rows(), Rows(), Rows(), Rows()
        self._hists: dict[str, HistogramHistory] = {}
        self._warnings: tuple[Any, ...] = ()

        self.banner = QLabel()
        self.banner.setObjectName("gradientWarnings")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setStyleSheet(WARNING_STYLE)
        self.banner.hide()

        self.hint = QLabel(
            "Per layer, input side first (darker) to output (brighter); log scales. Train to see how "
            "the gradient reaches each layer."
        )
        self.hint.setObjectName("gradientHint")
        self.hint.setWordWrap(True)

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setObjectName("gradientPlots")
        self.grad_plot = self.plots.addPlot(
            row=0, col=0, title="Gradient norm", axisItems={"left": TidyAxis("left")}
        )
        self.ratio_plot = self.plots.addPlot(
            row=0, col=1, title="Update / weight", axisItems={"left": TidyAxis("left")}
        )
        self.weight_plot = self.plots.addPlot(
            row=1, col=0, title="Weight norm", axisItems={"left": TidyAxis("left")}
        )
        self.frac_plot = self.plots.addPlot(row=1, col=1, title="Dead ReLU / saturated units")
        for plot in (self.grad_plot, self.ratio_plot, self.weight_plot):
            plot.setLogMode(x=False, y=True)
        for plot in (self.grad_plot, self.ratio_plot, self.weight_plot, self.frac_plot):
            plot.setLabel("bottom", "step")
            plot.setMenuEnabled(True)
            plot.setDownsampling(auto=True, mode="peak")  # long runs: a few points per pixel
            plot.setClipToView(True)
        self.frac_plot.setYRange(0, 1, padding=0.02)
        self.frac_plot.getViewBox().setLimits(yMin=-0.05, yMax=1.05)
        self.ratio_plot.setXLink(self.grad_plot)
        self.weight_plot.setXLink(self.grad_plot)
        self.frac_plot.setXLink(self.grad_plot)
        self.healthy = pg.InfiniteLine(
            pos=math.log10(HEALTHY_RATIO),
            angle=0,
            movable=False,
            label="≈ healthy",
            labelOpts={"position": 0.9},
        )
        self.ratio_plot.addItem(self.healthy, ignoreBounds=True)
        # One key beside the plots, not over the curves: one colour per layer in every plot.
        self.key = QLabel()
        self.key.setObjectName("gradientKey")
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.key.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.key.setMinimumWidth(150)
        self.curves: dict[str, list[pg.PlotDataItem]] = {"grad": [], "ratio": [], "weight": [], "frac": []}

        self.hist_plot = pg.PlotWidget()
        self.hist_plot.setObjectName("histogramPlot")
        self.hist_plot.setLabel("bottom", "step")
        self.hist_plot.setLabel("left", "value")
        self.hist_image = pg.ImageItem(axisOrder="row-major")
        self.hist_plot.addItem(self.hist_image)
        self.hist_combo = QComboBox()
        self.hist_combo.setObjectName("histogramLayer")
        self.hist_combo.setMinimumContentsLength(24)
        self.hist_combo.setToolTip("Weights of a Linear layer, or outputs of an activation layer")
        self.hist_combo.currentIndexChanged.connect(self._on_hist_layer)
        hist_row = QHBoxLayout()
        hist_row.setContentsMargins(0, 0, 0, 0)
        hist_row.addWidget(QLabel("Histogram over time:"))
        hist_row.addWidget(self.hist_combo, 1)
        hist_box = QWidget()
        hist_layout = QVBoxLayout(hist_box)
        hist_layout.setContentsMargins(0, 0, 0, 0)
        hist_layout.addLayout(hist_row)
        hist_layout.addWidget(self.hist_plot, 1)

        # The four plots and their key above, the histogram below (side by side, a 1280-px window
        # left the 2x2 plots ~130 px and clipped their right column); the user can move the split.
        top = QWidget()
        top_row = QHBoxLayout(top)
        top_row.setContentsMargins(0, 0, 0, 0)
        top_row.addWidget(self.plots, 1)
        top_row.addWidget(self.key)
        body = QSplitter(Qt.Orientation.Vertical)
        body.setObjectName("gradientSplitter")
        body.addWidget(top)
        body.addWidget(hist_box)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        hist_box.setMinimumSize(200, 140)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.banner)
        layout.addWidget(self.hint)
        layout.addWidget(body, 1)
        self.set_theme(None)

    # -- appearance ---------------------------------------------------------------------------
    def apply_theme(self, dark: bool) -> None:
        self.set_theme(dark)

    def set_theme(self, dark: bool | None) -> None:
        self._pal = palette_colors(dark)
        self.plots.setBackground(self._pal["background"])
        self.hist_plot.setBackground(self._pal["background"])
        for plot in (
            self.grad_plot,
            self.ratio_plot,
            self.weight_plot,
            self.frac_plot,
            self.hist_plot.getPlotItem(),
        ):
            style_plot_item(plot, dark)
        self.healthy.setPen(pg.mkPen(self._pal["foreground"], width=1, style=Qt.PenStyle.DashLine))
        self.healthy.label.setColor(self._pal["foreground"])
        self.hist_image.setColorMap(pg.colormap.get("inferno" if self._is_dark() else "viridis"))
        self._style_curves()
        self._dirty = True

    def _is_dark(self) -> bool:
        return self._pal["background"] != palette_colors(False)["background"]

    def _style_curves(self) -> None:
        colors = layer_colors(len(self._layers), self._is_dark())
        for key in ("grad", "ratio", "weight"):
            for item, color in zip(self.curves[key], colors, strict=False):
                item.setPen(pg.mkPen(color, width=2))
                item.setSymbolBrush(pg.mkBrush(color))
                item.setSymbolPen(None)
        act_colors = layer_colors(len(self._acts), self._is_dark())
        for item, color, kind in zip(self.curves["frac"], act_colors, self._kinds, strict=False):
            style = Qt.PenStyle.SolidLine if kind == "ReLU" else Qt.PenStyle.DashLine
            item.setPen(pg.mkPen(color, width=2, style=style))
            item.setSymbolBrush(pg.mkBrush(color))
            item.setSymbolPen(None)
        rows = ["<b>Layers</b>"]
        rows += [
            f"<span style='color:{c.name()}'>━━</span> {html.escape(n)}"
            for n, c in zip(self._layers, colors, strict=False)
        ]
        if self._acts:
            rows.append("<br><b>Units</b><br>solid: dead (ReLU)<br>dashed: saturated")
            rows += [
                f"<span style='color:{c.name()}'>{'━━' if k == 'ReLU' else '╍╍'}</span> {html.escape(n)}"
                for n, c, k in zip(self._acts, act_colors, self._kinds, strict=False)
            ]
        self.key.setText("<br>".join(rows) if self._layers else "")

    # -- the view protocol ----------------------------------------------------------------------
    def reset(self, dataset: Dataset | None = None) -> None:
        self._clear()
        self.hint.setText(
            "Per layer, input side first (darker) to output (brighter); log scales. Train to see how "
            "the gradient reaches each layer."
        )
        self._dirty = True

    def _clear(self, keep_curves: bool = False) -> None:
        """Forget the reports; ``keep_curves``: the next run has the same layers, so the curve items
        stay (made again they cost tens of milliseconds at the start of every run)."""
        self._steps.clear()
        self._grad.clear()
        self._weight.clear()
        self._ratio.clear()
        self._frac.clear()
        self._hists.clear()
        self._warnings = ()
        if keep_curves:
            for items in self.curves.values():
                for item in items:
                    item.setData([], [])
        else:
            self._layers = self._acts = self._kinds = ()
            for key, items in self.curves.items():
                plot = (
                    self.frac_plot
                    if key == "frac"
                    else {"grad": self.grad_plot, "ratio": self.ratio_plot, "weight": self.weight_plot}[key]
                )
                for item in items:
                    plot.removeItem(item)
                items.clear()
        blocked = self.hist_combo.blockSignals(True)
        self.hist_combo.clear()
        self.hist_combo.blockSignals(blocked)
        self.hist_image.clear()
        self.banner.hide()

    def on_event(self, event: object) -> None:
        if not isinstance(event, GradientStats):
            return
        if (
            event.layers != self._layers
            or event.activations != self._acts
            or (self._steps and event.step <= self._steps[-1])
        ):
            self._start(event.layers, event.activations, event.activation_kinds)
        self._steps.append(event.step)
        self._grad.append(event.grad_norm)
        self._weight.append(event.weight_norm)
        self._ratio.append(event.update_ratio)
        both = np.where(np.isnan(event.dead_fraction), event.saturated_fraction, event.dead_fraction)
        self._frac.append(both)
        if event.histograms:
            for name, (lo, hi, counts) in event.histograms.items():
                self._hists.setdefault(name, HistogramHistory()).add(event.step, lo, hi, counts)
            if self.hist_combo.count() != len(self._hists):
                self._fill_hist_combo()
        self._warnings = event.warnings
        self._dirty = True

    def set_trainer(self, trainer: Trainer | None) -> None:
        """The curves are made as the run is set up, before training starts, not at its first report:
        made then, they would cost the training tens of milliseconds."""
        if trainer is not None:
            from losslab.core.diagnostics import layer_labels

            self._start(*layer_labels(trainer.model))

    def _start(self, layers: tuple[str, ...], acts: tuple[str, ...], kinds: tuple[str, ...]) -> None:
        """A new run: the same network keeps its curves, emptied; another gets new ones, one per layer."""
        same = bool(self.curves["grad"]) and (layers, acts, kinds) == (self._layers, self._acts, self._kinds)
        self._clear(keep_curves=same)
        if same:
            return
        self._layers, self._acts, self._kinds = layers, acts, kinds
        for key, plot in (("grad", self.grad_plot), ("ratio", self.ratio_plot), ("weight", self.weight_plot)):
            for _ in self._layers:
                self.curves[key].append(plot.plot([], [], connect="finite"))
        for _ in self._acts:
            self.curves["frac"].append(self.frac_plot.plot([], [], connect="finite"))
        self._style_curves()
        n = len(self._layers)
        self.hint.setText(
            f"{n} Linear layer{'s' if n != 1 else ''}, input side first (darker) to output (brighter); "
            "log scales. The dashed line marks an update of about a thousandth of the weights."
        )

    def _fill_hist_combo(self) -> None:
        current = self.hist_combo.currentText()
        blocked = self.hist_combo.blockSignals(True)
        self.hist_combo.clear()
        self.hist_combo.addItems(sorted(self._hists, key=lambda k: (not k.startswith("weights"), 0)))
        index = self.hist_combo.findText(current)
        self.hist_combo.setCurrentIndex(max(index, 0))
        self.hist_combo.blockSignals(blocked)

    @Slot(int)
    def _on_hist_layer(self, _index: int) -> None:
        self._dirty = True
        self.redraw()

    # -- drawing ------------------------------------------------------------------------------
    def draw(self) -> None:
        self._draw_banner()
        if not self._steps:
            return
        x = np.asarray(self._steps, dtype=np.float64)
        # Dots while there are only a few reports (a run that blew up at once still shows them).
        symbol = {"symbol": "o", "symbolSize": 5} if len(x) < SYMBOLS_BELOW else {"symbol": None}
        for key, rows in (("grad", self._grad), ("ratio", self._ratio), ("weight", self._weight)):
            data = rows.view()
            for i, item in enumerate(self.curves[key]):
                _set(item, x, _positive(data[:, i]), symbol)
        if self.curves["frac"]:
            data = self._frac.view()
            for i, item in enumerate(self.curves["frac"]):
                _set(item, x, data[:, i], symbol)
        self._draw_histogram()

    def _draw_banner(self) -> None:
        if not self._warnings:
            self.banner.hide()
            return
        parts = []
        for w in self._warnings:
            tips = "".join(f"<li>{html.escape(s)}</li>" for s in w.suggestions)
            parts.append(f"<b>{html.escape(w.message)}</b> Try to:<ul style='margin:0'>{tips}</ul>")
        self.banner.setText("".join(parts))
        self.banner.show()

    def _draw_histogram(self) -> None:
        name = self.hist_combo.currentText()
        history = self._hists.get(name)
        if history is None or not len(history):
            self.hist_image.clear()
            return
        counts = history.image()
        # Each column on its own scale (log), so a narrow peak and a wide spread are both visible.
        shown = np.log1p(counts)
        top = shown.max(axis=1, keepdims=True)
        shown = np.divide(shown, top, out=np.zeros_like(shown), where=top > 0)
        steps = np.asarray(history.steps)
        width = steps[-1] - steps[0]
        # Column i spans the steps up to its own; the first gets the width of a typical column.
        typical = width / max(1, len(steps) - 1) if len(steps) > 1 else max(1.0, steps[0])
        x0 = steps[0] - typical
        self.hist_image.setImage(shown.T, autoLevels=False, levels=(0.0, 1.0))
        self.hist_image.setRect(QRectF(x0, history.lo, width + typical, history.hi - history.lo))
        kind = "weight" if name.startswith("weights") else "output"
        self.hist_plot.setLabel("left", kind)
        self.hist_plot.getPlotItem().enableAutoRange()

    # -- for tests and export ---------------------------------------------------------------------
    def curve_data(self, key: str) -> list[tuple[np.ndarray, np.ndarray]]:
        return [item.getData() for item in self.curves[key]]
