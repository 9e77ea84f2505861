"""The GAN tab: the game between generator and discriminator, drawn as it is played.

Four plots: real against generated samples over the discriminator's decision surface (its P(real)
as a heatmap for 2-D data; histograms under the D(x) curve for 1-D data), both players' losses per
step, how many of the data's modes the generator covers per epoch (mode collapse shows as a drop,
and as circles left empty on the data plot), and the generator's gradient norm per epoch next to
the one the non-saturating −log D would give, with a note when it has collapsed (saturation).

Samples and the surface come from core.gan.GanProbe on the training thread (GanSnapshot events),
and once more from the idle trainer when a run ends; the curves from StepBatch and EpochEnd.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout

from losslab.core.data.gan import image_size, mode_centres
from losslab.core.gan_report import GanSnapshot, collapsed
from losslab.core.tasks import GAN
from losslab.gui.plots.buffers import GrowingSeries
from losslab.gui.plots.legends import legend_below
from losslab.gui.plots.snapshot_view import SnapshotView
from losslab.gui.theme import is_dark, palette_colors, style_legend, style_plot_item
from losslab.gui.view_api import ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import EpochEnd, StepBatch
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer

IMAGE_ROWS, IMAGE_COLS = 2, 6  # image data: tiles of real images, and as many generated below them
REAL_COLOR = "#0072B2"  # Okabe-Ito blue: the data
FAKE_COLOR = "#E69F00"  # Okabe-Ito orange: the generator's samples
NOT_GAN = (
    "The GAN tab follows generative datasets: choose Ring of Gaussians or Bimodal 1-D in the "
    "Dataset panel (or open example 30 or 31)."
)


def surface_lut(dark: bool) -> np.ndarray:
    """P(real) 0 → 1 as fake-orange → neutral → real-blue, so the colour says which side D takes."""
    neutral = np.array(pg.mkColor(palette_colors(dark)["neutral"]).getRgb()[:3], dtype=float)
    fake = np.array(pg.mkColor(FAKE_COLOR).getRgb()[:3], dtype=float)
    real = np.array(pg.mkColor(REAL_COLOR).getRgb()[:3], dtype=float)
    t = np.linspace(-1.0, 1.0, 256)[:, None]
    rgb = np.where(t < 0, neutral + (fake - neutral) * -t, neutral + (real - neutral) * t)
    faded = neutral + (rgb - neutral) * 0.55  # pale, so the points stay readable on top
    return np.clip(faded, 0, 255).astype(np.uint8)


class GanView(SnapshotView):
    snapshot_type = GanSnapshot

    def __init__(self, services: ViewServices) -> None:
        super().__init__(services)
        self._n_modes = 0
        self.d_loss = GrowingSeries()
        self.g_loss = GrowingSeries()
        self.modes = GrowingSeries(256)
        self.g_grad = GrowingSeries(256)
        self.g_grad_ref = GrowingSeries(256)
        self.collapse_at: int | None = None
        self.empty_modes = 0  # modes drawn dashed: nothing generated near them
        self._collapse_text = ""
        self._last_metrics: dict[str, float] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.summary = QLabel(NOT_GAN, self)
        self.summary.setObjectName("ganSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.note = QLabel("", self)
        self.note.setObjectName("ganNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #D55E00; font-weight: bold;")
        self.note.hide()
        layout.addWidget(self.note)
        grid = QGridLayout()
        grid.setSpacing(4)
        layout.addLayout(grid, 1)

        self.samples_plot = pg.PlotWidget(self)
        self.loss_plot = pg.PlotWidget(self)
        self.modes_plot = pg.PlotWidget(self)
        self.grad_plot = pg.PlotWidget(self)
        for i, widget in enumerate((self.samples_plot, self.loss_plot, self.modes_plot, self.grad_plot)):
            widget.setMinimumSize(200, 150)
            grid.addWidget(widget, i // 2, i % 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)

        sp = self.samples_plot.getPlotItem()
        sp.setTitle("Real and generated, over D(x)")
        self.surface = pg.ImageItem(axisOrder="row-major")
        sp.addItem(self.surface, ignoreBounds=True)
        self.d_curve = pg.PlotDataItem(pen=pg.mkPen("#444444", width=2), name="D(x) = P(real)")
        sp.addItem(self.d_curve, ignoreBounds=True)
        self.real_hist = pg.PlotDataItem(stepMode="center", pen=pg.mkPen(REAL_COLOR, width=2), name="real")
        self.fake_hist = pg.PlotDataItem(
            stepMode="center", pen=pg.mkPen(FAKE_COLOR, width=2), name="generated"
        )
        self.real_points = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(REAL_COLOR), name="real")
        self.fake_points = pg.ScatterPlotItem(
            size=4, pen=None, brush=pg.mkBrush(FAKE_COLOR), name="generated"
        )
        self.mode_rings = pg.ScatterPlotItem(pxMode=False, brush=None, name="modes (dashed: none nearby)")
        self.mosaic = pg.ImageItem(axisOrder="row-major")  # image data: real | generated tiles
        for item in (
            self.real_hist,
            self.fake_hist,
            self.real_points,
            self.fake_points,
            self.mode_rings,
            self.mosaic,
        ):
            sp.addItem(item)
        self.samples_legend = legend_below(sp, columns=3)  # under the plots, never over the data
        self._legend_mode: bool | None = None  # which items the legend lists: 1-D (True) or 2-D
        self._range: QRectF | None = None

        lp = self.loss_plot.getPlotItem()
        lp.setTitle("Losses per step")
        lp.setLabel("bottom", "step")
        self.legend_losses = legend_below(lp)
        self.d_loss_curve = lp.plot(pen=pg.mkPen(REAL_COLOR, width=1.5), name="discriminator")
        self.g_loss_curve = lp.plot(pen=pg.mkPen(FAKE_COLOR, width=1.5), name="generator")
        for item in (self.d_loss_curve, self.g_loss_curve):
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)

        mp = self.modes_plot.getPlotItem()
        mp.setTitle("Modes covered")
        mp.setLabel("bottom", "epoch")
        self.modes_curve = mp.plot(pen=pg.mkPen("#009E73", width=2), symbol="o", symbolSize=4)

        gp = self.grad_plot.getPlotItem()
        gp.setTitle("Generator gradient norm")
        gp.setLabel("bottom", "epoch")
        gp.setLogMode(y=True)
        self.legend_grad = legend_below(gp)
        self.grad_curve = gp.plot(pen=pg.mkPen(FAKE_COLOR, width=2), name="this loss")
        self.ref_curve = gp.plot(
            pen=pg.mkPen("#888888", width=1.5, style=Qt.PenStyle.DashLine), name="with −log D (reference)"
        )
        self.collapse_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#D55E00", width=1.5))
        gp.addItem(self.collapse_line, ignoreBounds=True)
        self.collapse_line.hide()
        self._dark = is_dark()
        self.apply_theme(self._dark)

    # -- the View interface -------------------------------------------------------------------
    def reset(self, dataset: Dataset) -> None:
        self._dataset = dataset
        self._snapshot = None
        self._range = None
        self.collapse_at = None
        self._last_metrics = {}
        for series in (self.d_loss, self.g_loss, self.modes, self.g_grad, self.g_grad_ref):
            series.clear()
        gan = dataset.task == GAN
        self._range = None
        for widget in (self.samples_plot, self.loss_plot, self.modes_plot, self.grad_plot):
            widget.setVisible(gan)
        self.note.hide()
        self.summary.setText(
            NOT_GAN
            if not gan
            else f"{dataset.name}: press Train to watch the generator learn to imitate the blue points."
        )
        self._n_modes = 0
        if gan:
            centres = mode_centres(dataset.spec_id)
            self._n_modes = 0 if centres is None else len(centres)
            self.modes_plot.getPlotItem().setYRange(0, max(self._n_modes, 1) + 0.5)
            self.modes_plot.getPlotItem().setTitle(
                "Modes covered" if centres is not None else "Modes: none known here"
            )
        self._dirty = True
        self.redraw()

    def make_probes(self, trainer: Trainer) -> list[Probe]:
        from losslab.core.gan import GanProbe, GanTrainer  # torch: loaded by now, not at window build

        return [GanProbe()] if isinstance(trainer, GanTrainer) else []

    def on_steps(self, batch: StepBatch) -> None:
        d = batch.extra.get("discriminator")
        if d is None:
            return
        self.g_loss.append_many(batch.steps, batch.loss)
        self.d_loss.append_many(batch.steps, d)
        self._dirty = True

    def on_epoch(self, event: EpochEnd) -> None:
        m = event.train_metrics
        if "g_grad" not in m:
            return
        self._last_metrics = dict(m)
        self.modes.append(event.epoch, m.get("modes", math.nan))
        self.g_grad.append(event.epoch, m["g_grad"])
        self.g_grad_ref.append(event.epoch, m.get("g_grad_ref", math.nan))
        if self.collapse_at is None and collapsed(m["g_grad"], m.get("g_grad_ref", math.nan)):
            self.collapse_at = event.epoch
            self._collapse_text = (
                f"the discriminator rejected the fakes so surely (D(fake) {m.get('d_fake', math.nan):.3f}) "
                f"that log(1 − D) was flat there: the gradient was {m['g_grad'] / m['g_grad_ref']:.2g}× "
                "the one −log D would give"
            )
        self._dirty = True

    def final_snapshot(self, trainer: Trainer) -> GanSnapshot | None:
        from losslab.core.gan import GanTrainer

        return trainer.snapshot() if isinstance(trainer, GanTrainer) else None  # the last state, exactly

    def apply_theme(self, dark: bool) -> None:
        self._dark = dark
        for widget in (self.samples_plot, self.loss_plot, self.modes_plot, self.grad_plot):
            widget.setBackground(palette_colors(dark)["background"])
            style_plot_item(widget.getPlotItem(), dark)
        for legend in (self.samples_legend, self.legend_losses, self.legend_grad):
            style_legend(legend, dark)
        self.surface.setLookupTable(surface_lut(dark))
        self._dirty = True

    # -- drawing ------------------------------------------------------------------------------
    def draw(self) -> None:
        if self._dataset is None or self._dataset.task != GAN:
            return
        self._draw_samples()
        self.g_loss_curve.setData(*self.g_loss.view())
        self.d_loss_curve.setData(*self.d_loss.view())
        epochs, modes = self.modes.view()
        known = np.isfinite(modes)
        self.modes_curve.setData(epochs[known], modes[known])
        self._draw_gradient()
        self._draw_summary()

    def _draw_samples(self) -> None:
        ds = self._dataset
        assert ds is not None
        shot = self._snapshot
        real = shot.real if shot is not None else ds.x_to_display(ds.x_train[:500])
        fake = shot.fake if shot is not None else np.zeros((0, real.shape[1]))
        one_d = real.shape[1] == 1
        side = image_size(ds.spec_id, ds.n_features)
        pi = self.samples_plot.getPlotItem()
        pi.invertY(side is not None)  # image rows run downwards
        self.mosaic.setVisible(side is not None)
        for item in (self.real_hist, self.fake_hist, self.d_curve):
            item.setVisible(one_d)
        for item in (self.real_points, self.fake_points, self.surface, self.mode_rings):
            item.setVisible(not one_d and side is None)
        if side is not None:
            self.samples_legend.setVisible(False)
            pi.setTitle("Real (top), generated (below)")
            self._draw_images(real, fake, side)
            return
        self.samples_legend.setVisible(True)
        pi.setTitle("Real and generated, over D(x)")
        self._fill_legend(one_d)
        if one_d:
            self._draw_1d(real[:, 0], fake[:, 0], shot)
        else:
            self.real_points.setData(real[:, 0], real[:, 1])
            self.fake_points.setData(fake[:, 0], fake[:, 1] if len(fake) else [])
            self._draw_surface(shot)
            self._draw_modes(shot)

    def _draw_images(self, real: np.ndarray, fake: np.ndarray, side: int) -> None:
        """Tiles of real and generated images side by side, pixels clipped to the data's [0, 1]."""
        rows, cols, pad = IMAGE_ROWS, IMAGE_COLS, 1
        cell = side + pad
        block = np.full((rows * cell + pad, cols * cell + pad), np.nan)
        blocks = []
        for images in (real, fake):
            tile = block.copy()
            for i, image in enumerate(images[: rows * cols]):
                r, c = divmod(i, cols)
                tile[pad + r * cell : pad + r * cell + side, pad + c * cell : pad + c * cell + side] = (
                    image.reshape(side, side)
                )
            blocks.append(tile)
        gap = np.full((cell, block.shape[1]), np.nan)
        mosaic = np.clip(np.concatenate([blocks[0], gap, blocks[1]], axis=0), 0.0, 1.0)
        self.mosaic.setImage(np.nan_to_num(mosaic, nan=0.5), levels=(0.0, 1.0), autoLevels=False)
        self.mosaic.setLookupTable(None)
        pi = self.samples_plot.getPlotItem()
        pi.setAspectLocked(True)
        pi.getViewBox().autoRange(items=[self.mosaic], padding=0.02)  # all tiles, at any widget shape

    def _fill_legend(self, one_d: bool) -> None:
        if self._legend_mode == one_d:
            return
        self._legend_mode = one_d
        legend = self.samples_legend
        legend.clear()
        if one_d:
            entries = (
                (self.real_hist, "real"),
                (self.fake_hist, "generated"),
                (self.d_curve, "D(x) = P(real)"),
            )
        else:
            entries = ((self.real_points, "real"), (self.fake_points, "generated"))
        for item, name in entries:
            legend.addItem(item, name)

    def _draw_1d(self, real: np.ndarray, fake: np.ndarray, shot: GanSnapshot | None) -> None:
        both = np.concatenate([real, fake]) if len(fake) else real
        lo, hi = float(np.min(both)), float(np.max(both))
        if shot is not None and shot.axes:
            lo, hi = min(lo, float(shot.axes[0][0])), max(hi, float(shot.axes[0][-1]))
        edges = np.linspace(lo, hi, 41)
        density = {"bins": edges, "density": True}
        self.real_hist.setData(edges, np.histogram(real, **density)[0])  # type: ignore[arg-type]
        if len(fake):
            self.fake_hist.setData(edges, np.histogram(fake, **density)[0])  # type: ignore[arg-type]
        else:
            self.fake_hist.setData([], [])
        if shot is not None and shot.surface is not None:
            self.d_curve.setData(shot.axes[0], shot.surface)
        else:
            self.d_curve.setData([], [])
        pi = self.samples_plot.getPlotItem()
        pi.setAspectLocked(False)
        pi.setLabel("bottom", "x")
        pi.setLabel("left", "density · D(x)")
        pi.setXRange(lo, hi, padding=0.02)

    def _draw_surface(self, shot: GanSnapshot | None) -> None:
        if shot is None or shot.surface is None or len(shot.axes) != 2:
            self.surface.hide()
            return
        xs, ys = shot.axes
        self.surface.setImage(shot.surface, levels=(0.0, 1.0), autoLevels=False)
        dx, dy = xs[1] - xs[0], ys[1] - ys[0]
        rect = QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys))
        self.surface.setRect(rect)
        self.surface.show()
        if rect != self._range:  # a new data range; otherwise the user's zoom stays
            self._range = rect
            pi = self.samples_plot.getPlotItem()
            pi.setAspectLocked(True)  # modes are round: the rings must look it
            pi.setRange(rect, padding=0.0)

    def _draw_modes(self, shot: GanSnapshot | None) -> None:
        self.empty_modes = 0
        if shot is None or shot.centres is None or shot.counts is None:
            self.mode_rings.setData([])
            return
        fg = palette_colors(self._dark)["foreground"]
        spots = []
        needed = max(1.0, 0.02 * len(shot.fake))
        for (cx, cy), count in zip(shot.centres, shot.counts, strict=True):
            empty = count < needed
            self.empty_modes += int(empty)
            pen = pg.mkPen(
                "#D55E00" if empty else fg,
                width=2,
                style=Qt.PenStyle.DashLine if empty else Qt.PenStyle.SolidLine,
            )
            spots.append({"pos": (cx, cy), "size": 2 * shot.radius, "pen": pen, "brush": None})
        self.mode_rings.setData(spots)

    def _draw_gradient(self) -> None:
        ex, gy = self.g_grad.view()
        _, ry = self.g_grad_ref.view()
        keep = gy > 0
        self.grad_curve.setData(ex[keep], gy[keep])
        keep_ref = ry > 0
        self.ref_curve.setData(ex[keep_ref], ry[keep_ref])
        self._decade_ticks(np.concatenate([gy[keep], ry[keep_ref]]))
        if self.collapse_at is not None:
            self.collapse_line.setValue(self.collapse_at)
            self.collapse_line.show()
        else:
            self.collapse_line.hide()

    def _decade_ticks(self, values: np.ndarray) -> None:
        """Label the log axis at powers of ten only: its own minor labels pile up on a short axis."""
        values = values[np.isfinite(values)]
        if not len(values):
            return
        lo = math.floor(math.log10(float(values.min())))
        hi = math.ceil(math.log10(float(values.max())))
        step = max(1, (hi - lo) // 6)
        ticks = [(float(k), f"{10.0**k:g}") for k in range(lo, hi + 1, step)]
        self.grad_plot.getPlotItem().getAxis("left").setTicks([ticks, []])

    def _draw_summary(self) -> None:
        m = self._last_metrics
        shot = self._snapshot
        parts = []
        if shot is not None:
            parts.append(f"epoch {shot.epoch}")
        if shot is not None and shot.covered is not None and shot.counts is not None:
            parts.append(f"<b>{shot.covered} of {len(shot.counts)} modes covered</b>")
        if m:
            parts.append(f"D(real) {m.get('d_real', math.nan):.2f} · D(fake) {m.get('d_fake', math.nan):.2f}")
            parts.append(f"distance to the data {m.get('swd', math.nan):.3f}")
        if shot is not None and shot.centres is not None and shot.centres.shape[1] == 2:
            parts.append("circles: the modes, dashed red where nothing is generated")
        if parts:
            self.summary.setText(" · ".join(parts))
        if self.collapse_at is not None:
            last = self.g_grad.last()
            ref = self.g_grad_ref.last()
            ratio = last[1] / ref[1] if last and ref and ref[1] > 0 else math.nan
            self.note.setText(
                f"The generator's gradient collapsed at epoch {self.collapse_at}: {self._collapse_text} "
                f"(now {ratio:.2g}×). Try the non-saturating generator loss, or a weaker discriminator."
            )
            self.note.show()
        else:
            self.note.hide()

    # -- for tests ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """What is drawn, as numbers: for tests and the screenshot check."""
        shot = self._snapshot
        return {
            "fake_points": 0 if shot is None else len(shot.fake),
            "covered": None if shot is None else shot.covered,
            "empty_modes": self.empty_modes,
            "modes": self.modes.view()[1].tolist(),
            "collapse_at": self.collapse_at,
            "note": self.note.text() if self.note.isVisibleTo(self) else "",
        }
