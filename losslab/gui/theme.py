"""Plot colours that follow the system light/dark scheme; every live view takes its colours from here.

Class colours are Okabe-Ito (distinguishable with the common colour-vision deficiencies). Curve
colours are picked per scheme so each keeps good contrast against its background.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QGraphicsItem

from losslab.gui import plot_menus  # noqa: F401  (pyqtgraph's menus die with their plots, see there)

# Okabe & Ito (2008), "Color Universal Design"; the extra three (Tol) cover up to ten classes.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
_EXTRA = ("#999999", "#AA4499", "#44AA99")

_LIGHT: dict[str, Any] = {
    "background": "#FFFFFF",
    "foreground": "#202020",
    "grid_alpha": 0.25,
    "raw": (0, 114, 178, 70),  # the per-step loss: faint blue
    "smooth": "#0072B2",
    "train": "#009E73",
    "val": "#D55E00",
    "reg": "#AA4499",
    "mark": "#D55E00",
    "neutral": "#F4F4F4",  # middle of the diverging decision-surface map
    "fit": "#202020",
    "error": (213, 94, 0, 150),
    "legend_brush": (255, 255, 255, 200),
    "classes": [
        OKABE_ITO["orange"],
        OKABE_ITO["blue"],
        OKABE_ITO["green"],
        OKABE_ITO["purple"],
        OKABE_ITO["vermillion"],
        OKABE_ITO["sky_blue"],
        OKABE_ITO["yellow"],
        *_EXTRA,
    ],
    "outlier": "#000000",
}
_DARK: dict[str, Any] = {
    "background": "#1E1E1E",
    "foreground": "#D4D4D4",
    "grid_alpha": 0.3,
    "raw": (86, 180, 233, 100),
    "smooth": "#56B4E9",
    "train": "#2DC48D",
    "val": "#F5A623",
    "reg": "#E58AC9",
    "mark": "#FF7F50",
    "neutral": "#2A2A2A",
    "fit": "#F0F0F0",
    "error": (245, 166, 35, 170),
    "legend_brush": (30, 30, 30, 200),
    "classes": [
        OKABE_ITO["orange"],
        OKABE_ITO["sky_blue"],
        OKABE_ITO["green"],
        OKABE_ITO["purple"],
        OKABE_ITO["vermillion"],
        OKABE_ITO["yellow"],
        OKABE_ITO["blue"],
        *_EXTRA,
    ],
    "outlier": "#FFFFFF",
}

_current_dark = False


def palette_colors(dark: bool | None = None) -> dict[str, Any]:
    """Colours for curves, markers and classes; ``None`` means the scheme last applied."""
    if dark is None:
        dark = _current_dark
    src = _DARK if dark else _LIGHT
    out = dict(src)
    out["classes"] = list(src["classes"])
    return out


def is_dark() -> bool:
    """The scheme last passed to :func:`apply_plot_theme`."""
    return _current_dark


def apply_plot_theme(dark: bool) -> dict[str, Any]:
    """Set pyqtgraph's default background/foreground for plots created from now on.

    Existing views re-colour themselves through their ``set_theme(dark)`` method.
    Returns the palette for convenience.
    """
    global _current_dark
    _current_dark = bool(dark)
    pal = palette_colors(dark)
    # Antialiasing stays off globally: an antialiased 2 px line through 1000 noisy points took ~1 s
    # to paint with Qt's raster engine. Views turn it on for their few short curves only.
    pg.setConfigOptions(background=pal["background"], foreground=pal["foreground"], useOpenGL=False)
    return pal


def system_prefers_dark() -> bool:
    """Whether the desktop asks for a dark scheme (Qt 6.5+ colorScheme, else the window colour)."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def style_plot_item(plot_item: pg.PlotItem, dark: bool | None = None) -> None:
    """Re-colour an existing PlotItem's axes, title and grid to the given scheme."""
    pal = palette_colors(dark)
    fg = pal["foreground"]
    for name in ("left", "bottom", "top", "right"):
        axis = plot_item.getAxis(name)
        axis.setPen(fg)
        axis.setTextPen(fg)  # also recolours the axis label
        # Without units pyqtgraph's SI prefix shows as "loss (x0.001)" over ticks 0..700: confusing.
        # Only once: pyqtgraph recomputes the prefix scale on every call, and a re-style after data
        # arrived (a theme switch) left ticks 0..0.8 labelled 0..800.
        if axis.autoSIPrefix:
            axis.enableAutoSIPrefix(False)
    plot_item.showGrid(x=True, y=True, alpha=pal["grid_alpha"])
    for name in ("left", "bottom"):
        # Two tick levels: the third (sub-minor) level's faint grid lines cost ~8 ms a frame per axis.
        plot_item.getAxis(name).setStyle(maxTickLevel=1)
    for name in ("top", "right"):  # secondary axes (the epoch axis) would double the grid
        plot_item.getAxis(name).setGrid(False)
    for name in ("left", "bottom", "top", "right"):
        # An axis with its grid spans the whole plot, so every new curve point repaints it: kept as
        # a pixmap, it is redrawn only when its range changes (ranges.py makes that rare).
        plot_item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    if plot_item.titleLabel is not None and plot_item.titleLabel.text:
        plot_item.titleLabel.setText(plot_item.titleLabel.text, color=fg)


def style_legend(legend: pg.LegendItem | None, dark: bool | None = None) -> None:
    if legend is None:
        return
    pal = palette_colors(dark)
    legend.setBrush(pg.mkBrush(pal["legend_brush"]))
    legend.setPen(pg.mkPen(pal["foreground"], width=0.5))
    legend.setLabelTextColor(pal["foreground"])
    for _, label in legend.items:  # pyqtgraph only stores the colour: render the existing labels again
        label.setText(label.text)


def fit_epoch_symbols(
    item: pg.PlotDataItem, n: int, symbol: str, color: Any, background: Any, big: int = 7
) -> None:
    """Per-epoch markers sized for ``n`` points: full size up to 60, small up to 300, none beyond, so a
    long run's line stays readable (and a frame does not repaint thousands of markers)."""
    size = big if n <= 60 else 4 if n <= 300 else 0
    if size == 0:
        if item.opts["symbol"] is not None:
            item.setSymbol(None)
        return
    if item.opts["symbol"] is None:
        item.setSymbol(symbol)
    if item.opts["symbolSize"] != size:
        item.setSymbolSize(size)
        style_symbol_rim(item, color, background)


def style_symbol_rim(item: pg.PlotDataItem, color: Any, background: Any) -> None:
    """Big markers get a background-coloured rim to stand off the lines; small ones none."""
    item.setSymbolPen(pg.mkPen(background if item.opts["symbolSize"] > 4 else color, width=1))
