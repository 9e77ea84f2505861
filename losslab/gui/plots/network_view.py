"""The Network view: input features -> every hidden unit -> output, left to right (core/network_probe.py).

For 2-D inputs each unit shows its activation over the input plane as a small heatmap (orange positive,
blue negative, each unit scaled to its own largest |activation|); for other inputs, the histogram of
its activation over the training data. Weights are lines, thickness |w| (relative to the layer's
largest), colour its sign. A red ring marks a dead ReLU unit (zero for every training sample), a purple
one a saturated tanh/sigmoid unit. Hovering a unit shows its incoming weights, its activation range,
its state, and what the Gradients tab last measured for its layer.

Pictures are taken on the training thread by a NetworkProbe (at most 4 a second and 3% of the training
time) only while a network view is visible; while training stands still (between runs, or paused) the
view takes one itself on the GUI thread (still_weights.is_still).
Painting is cached: a new picture or a resize rebuilds the heatmap images and the line lists, a repaint
(a hover, an expose) only draws them; while training, redraws wait long enough that they take at most
GUI_BUDGET of the time. ``NetworkView(services, compact=True)`` is the small one beside the layer builder.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

from losslab.core.diagnostics import GradientStats
from losslab.core.network_probe import NetworkPicture, UnitLayer, network_probe, network_probes, picture
from losslab.gui.plots.still_weights import is_still
from losslab.gui.theme import OKABE_ITO, palette_colors
from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.events import Finished
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer

REFRESH_SECONDS = 0.25
GUI_BUDGET = 0.03
POSITIVE, NEGATIVE = OKABE_ITO["orange"], OKABE_ITO["blue"]
DEAD, SATURATED = OKABE_ITO["vermillion"], OKABE_ITO["purple"]
WIDTH_LEVELS = 4  # line thicknesses: lines are drawn in one call per (sign, level)
LINE_WIDTHS = (1.5, 2.0, 3.0, 4.5)
INCOMING_SHOWN = 6  # the largest incoming weights a hover lists
# Lines per pair of layers at most: the largest |w|. 32 x 32 = 1,024 lines are a blur and cost ~10 ms
# of Python to lay out; the strongest 256 show the structure.
MAX_LINES = 256


def _rgb(color: str) -> np.ndarray:
    c = QColor(color)
    return np.array([c.red(), c.green(), c.blue()], dtype=np.float64)


def heat_rgba(values: np.ndarray, neutral: str) -> np.ndarray:
    """(units, H, W) activations -> (units, H, W, 4) uint8, each unit scaled to its own largest
    |activation|, the first row at the top (the plane's largest y). One numpy pass for a whole layer."""
    flat = np.nan_to_num(np.asarray(values, dtype=np.float64))
    scale = np.abs(flat).reshape(len(flat), -1).max(axis=1) if flat.size else np.zeros(len(flat))
    t = flat / np.where(scale > 0, scale, 1.0)[:, None, None]
    t = t[:, ::-1]
    base = _rgb(neutral)
    toward = np.where((t < 0)[..., None], _rgb(NEGATIVE), _rgb(POSITIVE))
    out = base + (toward - base) * np.abs(t)[..., None]
    rgba = np.empty((*flat.shape, 4), dtype=np.uint8)
    rgba[..., :3] = np.clip(out, 0, 255).astype(np.uint8)
    rgba[..., 3] = 255
    return rgba


def _num(v: float) -> str:
    return f"{v:+.3g}" if np.isfinite(v) else "–"


def unit_text(layer: UnitLayer, j: int, before: UnitLayer | None, grads: GradientStats | None) -> str:
    """What a hover over the ``j``-th drawn unit of ``layer`` says (plain text)."""
    unit = int(layer.units[j])
    name = "input" if layer.kind == "input" else layer.label
    kind = "" if layer.kind in ("input", "linear") else f" ({layer.kind})"
    lines = [f"{name}, unit {unit + 1}{kind}"]
    lines.append(f"activation on the training data: {layer.low[j]:.3g} … {layer.high[j]:.3g}")
    if layer.dead[j]:
        lines.append("DEAD: zero for every training sample, so no gradient reaches its weights")
    elif layer.saturated[j]:
        lines.append(f"SATURATED: on the flat tails of {layer.kind} for most samples (little gradient)")
    elif layer.kind == "relu":
        lines.append("alive: active on part of the data")
    if layer.incoming is not None and before is not None:
        w = layer.incoming[j]
        order = np.argsort(-np.abs(w), kind="stable")[:INCOMING_SHOWN]
        src = "x" if before.kind == "input" else "unit "
        parts = [f"{src}{int(i) + 1}: {_num(float(w[i]))}" for i in order]
        more = f" (largest {len(order)} of {len(w)})" if len(w) > len(order) else ""
        lines.append(f"incoming weights{more}: " + ", ".join(parts))
    if grads is not None and layer.label in grads.layers:
        i = grads.layers.index(layer.label)
        lines.append(
            f"Gradients tab, {layer.label} at step {grads.step}: gradient norm {grads.grad_norm[i]:.3g}, "
            f"update/weight {grads.update_ratio[i]:.2g}"
        )
    return "\n".join(lines)


class NetworkCanvas(QWidget):
    """Paints one NetworkPicture; hover for a unit's details."""

    def __init__(self, compact: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.compact = compact
        self.setMouseTracking(True)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.pic: NetworkPicture | None = None
        self.grads: GradientStats | None = None
        self.message = "Train, or build the layers, to see the network."
        self.dark = False
        self.hovered: tuple[int, int] | None = None  # (layer, drawn unit)
        self._rects: list[list[QRectF]] = []
        self._images: list[list[QImage]] = []
        self._lines: list[tuple[QPen, list[QLineF]]] = []
        self._headers: list[tuple[QRectF, str]] = []

    def set_picture(self, pic: NetworkPicture | None) -> None:
        self.pic = pic
        self._build_images()
        self._layout()
        self.update()

    def set_theme(self, dark: bool) -> None:
        self.dark = dark
        self._build_images()
        self._layout()  # the lines' colours are mixed with the background
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._layout()

    # -- caches -------------------------------------------------------------------------------
    def _build_images(self) -> None:
        self._images = []
        if self.pic is None:
            return
        neutral = palette_colors(self.dark)["neutral"]
        for layer in self.pic.layers:
            images = []
            if layer.grid is not None and len(layer.grid):
                rgba = heat_rgba(layer.grid, neutral)
                _, h, w, _ = rgba.shape
                fmt = QImage.Format.Format_RGBA8888
                images = [QImage(u.tobytes(), w, h, 4 * w, fmt) for u in rgba]  # each owns its bytes
            self._images.append(images)

    def _layout(self) -> None:
        """Node rectangles, headers and line lists for the current size."""
        self._rects, self._lines, self._headers = [], [], []
        pic = self.pic
        if pic is None or not pic.layers:
            return
        w, h = self.width(), self.height()
        top = 16 if self.compact else 34
        bottom = 4 if self.compact else 20
        cols = len(pic.layers)
        col_w = w / cols
        tallest = max(len(layer.units) for layer in pic.layers)
        size = min(col_w * 0.55, (h - top - bottom) / (tallest * 1.18), 56.0)
        size = max(size, 4.0)
        for c, layer in enumerate(pic.layers):
            n = len(layer.units)
            x = col_w * (c + 0.5) - size / 2
            gap = size * 1.18
            y0 = top + (h - top - bottom - n * gap) / 2 + (gap - size) / 2
            self._rects.append([QRectF(x, y0 + k * gap, size, size) for k in range(n)])
            self._headers.append((QRectF(col_w * c, 0, col_w, top), self._header(layer)))
        for c in range(1, cols):
            self._lines.extend(self._layer_lines(pic.layers[c - 1], pic.layers[c], c))

    def _header(self, layer: UnitLayer) -> str:
        if layer.kind == "input":
            return "inputs" if self.compact else f"inputs ({layer.width})"
        short = layer.label.split(" (")[0]
        if self.compact:
            return short
        extra = "" if layer.kind in ("linear", "residual") else f" {layer.kind}"
        shown = f"{len(layer.units)}/{layer.width}" if layer.summarized else f"{layer.width}"
        return f"{short}\n{shown}{extra}"

    def _faded(self, color: str, strength: float) -> QColor:
        """``color`` mixed into the background: a weak weight's line recedes without transparency."""
        bg = _rgb(palette_colors(self.dark)["background"])
        mixed = bg + (_rgb(color) - bg) * strength
        return QColor(int(mixed[0]), int(mixed[1]), int(mixed[2]))

    def _layer_lines(self, before: UnitLayer, layer: UnitLayer, c: int) -> list[tuple[QPen, list[QLineF]]]:
        if layer.incoming is None or layer.incoming.shape[1] != before.width:
            return []
        w = layer.incoming[:, before.units]  # (drawn here, drawn before)
        top = float(np.nanmax(np.abs(w))) if w.size else 0.0
        if not top > 0:
            return []
        level = np.minimum((np.abs(w) / top * WIDTH_LEVELS).astype(np.int64), WIDTH_LEVELS - 1)
        keep = np.ones(w.shape, dtype=bool)
        if w.size > MAX_LINES:
            keep = np.abs(w) >= np.partition(np.abs(w).ravel(), w.size - MAX_LINES)[w.size - MAX_LINES]
        src, dst = self._rects[c - 1], self._rects[c]
        sx = src[0].right() if src else 0.0
        dx = dst[0].left() if dst else 0.0
        sy = [r.center().y() for r in src]
        dy = [r.center().y() for r in dst]
        out = []
        for positive, color in ((True, POSITIVE), (False, NEGATIVE)):
            sign = (w > 0 if positive else w < 0) & keep
            for lv in range(WIDTH_LEVELS):
                jj, ii = np.nonzero(sign & (level == lv))
                if len(jj) == 0:
                    continue
                pen = QPen(self._faded(color, 0.3 + 0.7 * (lv + 1) / WIDTH_LEVELS), LINE_WIDTHS[lv])
                lines = [QLineF(sx, sy[i], dx, dy[j]) for j, i in zip(jj.tolist(), ii.tolist(), strict=True)]
                out.append((pen, lines))
        return out

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        pal = palette_colors(self.dark)
        fg = QColor(pal["foreground"])
        p.fillRect(self.rect(), QColor(pal["background"]))
        pic = self.pic
        if pic is None:
            p.setPen(fg)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        # Opaque pens of at least 1.5 px without antialiasing: Qt's raster engine fills those as polygons
        # (~3 ms for 2,000 long lines); translucent or antialiased or 1-px lines took 40-350 ms.
        for pen, lines in self._lines:
            p.setPen(pen)
            p.drawLines(lines)
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * (0.8 if self.compact else 0.9)))
        p.setFont(font)
        for c, layer in enumerate(pic.layers):
            images = self._images[c] if c < len(self._images) else []
            for j, rect in enumerate(self._rects[c]):
                if images:
                    p.drawImage(rect, images[j])
                elif layer.hist is not None:
                    self._paint_hist(p, rect, layer.hist[j], pal)
                ring = DEAD if layer.dead[j] else SATURATED if layer.saturated[j] else None
                p.setPen(QPen(QColor(ring), 2.5) if ring else QPen(fg, 0.6))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(rect)
        p.setPen(fg)
        for rect, text in self._headers:
            p.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
        if self.hovered is not None:
            c, j = self.hovered
            if c < len(self._rects) and j < len(self._rects[c]):
                p.setPen(QPen(QColor(pal["mark"]), 2))
                p.drawRect(self._rects[c][j].adjusted(-3, -3, 3, 3))
        if not self.compact:
            p.setPen(fg)
            legend = (
                "weights: orange +, blue −, thick = large |w|  ·  red ring: dead  ·  purple ring: saturated"
            )
            p.drawText(QRectF(0, self.height() - 18, self.width(), 18), Qt.AlignmentFlag.AlignCenter, legend)

    @staticmethod
    def _paint_hist(p: QPainter, rect: QRectF, counts: np.ndarray, pal: dict[str, Any]) -> None:
        p.fillRect(rect, QColor(pal["neutral"]))
        top = counts.max()
        if top <= 0:
            return
        bw = rect.width() / len(counts)
        color = QColor(pal["smooth"])
        for k, n in enumerate(counts):
            bh = rect.height() * n / top
            p.fillRect(QRectF(rect.left() + k * bw, rect.bottom() - bh, bw, bh), color)

    # -- hover --------------------------------------------------------------------------------
    def unit_at(self, pos: QPointF) -> tuple[int, int] | None:
        for c, rects in enumerate(self._rects):
            for j, rect in enumerate(rects):
                if rect.adjusted(-2, -2, 2, 2).contains(pos):
                    return c, j
        return None

    def hover_text(self, c: int, j: int) -> str:
        pic = self.pic
        assert pic is not None
        before = pic.layers[c - 1] if c > 0 else None
        return unit_text(pic.layers[c], j, before, self.grads)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        hit = self.unit_at(event.position())
        if hit != self.hovered:
            self.hovered = hit
            self.update()
        if hit is None or self.pic is None:
            QToolTip.hideText()
            return
        QToolTip.showText(event.globalPosition().toPoint(), self.hover_text(*hit), self)

    def leaveEvent(self, event: Any) -> None:
        self.hovered = None
        self.update()
        super().leaveEvent(event)


class NetworkView(ViewBase):
    """The Network tab (views.py), or with ``compact=True`` the small one docked beside the layers."""

    def __init__(self, services: ViewServices, compact: bool = False) -> None:
        super().__init__()
        self.services = services
        self.compact = compact
        self.canvas = NetworkCanvas(compact)
        self.canvas.setObjectName("networkCanvasCompact" if compact else "networkCanvas")
        self.summary = QLabel()
        self.summary.setObjectName("networkSummary")
        self.summary.setWordWrap(True)
        # Two lines, always: a label whose height follows its text re-lays out the whole view.
        self.summary.setFixedHeight(2 * self.summary.fontMetrics().lineSpacing() + 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2 if compact else 6, 2, 2 if compact else 6, 2)
        if not compact:
            layout.addWidget(self.summary)
        layout.addWidget(self.canvas, 1)
        if compact:
            layout.addWidget(self.summary)
        self.latest: NetworkPicture | None = None
        self._drawn_step = -1
        self._due = 0.0
        self._shown_for: tuple[int, int] | None = None  # (id(trainer), step) of an idle picture
        self._first = True
        self.reset(services.state.dataset)

    # -- the view protocol --------------------------------------------------------------------
    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return network_probes(trainer)

    def reset(self, dataset: Dataset | None) -> None:
        self.latest = None
        self._drawn_step = -1
        self._shown_for = None
        self._first = True
        self.canvas.grads = None
        self.canvas.set_picture(None)
        gan = dataset is not None and dataset.task == "gan"
        self.canvas.message = (
            "A GAN's two networks are not drawn here."
            if gan
            else "Train, or build the layers, to see the network."
        )
        self.summary.setText("")

    def on_event(self, event: object) -> None:
        if isinstance(event, NetworkPicture):
            self.latest = event
        elif isinstance(event, GradientStats):
            self.canvas.grads = event

    def on_finished(self, result: Finished | None) -> None:
        self._shown_for = None  # the final weights get a picture at the next redraw

    def apply_theme(self, dark: bool) -> None:
        self.canvas.set_theme(dark)

    def redraw(self) -> None:
        trainer = self.services.trainer
        probe = network_probe(trainer)
        # A dock tabbed behind another stays "visible" with nothing of it on screen: ask what shows.
        visible = self.isVisible() and not self.canvas.visibleRegion().isEmpty()
        if probe is not None:
            probe.watch(self, visible)
        if not visible or trainer is None or trainer.dataset.task == "gan":
            return
        if is_still(trainer, self.services.running):
            key = (id(trainer), trainer.step)
            if key != self._shown_for:  # nothing moves the model now: take the picture here
                self._shown_for = key
                self.latest = picture(trainer)
        pic = self.latest
        now = time.perf_counter()
        if pic is None or (pic.step == self._drawn_step and self.canvas.pic is pic):
            return
        if self.services.running and now < self._due:
            return
        self.show_picture(pic)
        spent = 0.0 if self._first else time.perf_counter() - now
        self._first = False  # the first picture pays for set-up: it does not set the pace
        self._due = now + max(REFRESH_SECONDS, spent / GUI_BUDGET)

    def show_picture(self, pic: NetworkPicture) -> None:
        self.canvas.set_picture(pic)
        self.canvas.repaint()  # now, so the time measured includes the painting
        self._drawn_step = pic.step
        self.summary.setText(self._summary(pic))

    def _summary(self, pic: NetworkPicture) -> str:
        dead, sat = pic.dead_count, pic.saturated_count
        health = []
        if dead:
            health.append(f"{dead} dead ReLU unit{'s' * (dead != 1)}")
        if sat:
            health.append(f"{sat} saturated unit{'s' * (sat != 1)}")
        state = ", ".join(health) if health else "no dead or saturated units"
        where = f"Epoch {pic.epoch}, step {pic.step}: {state}."
        if self.compact:
            return where
        notes = " ".join(f"{n}." for n in pic.notes)
        return f"{where} {notes}".strip()
