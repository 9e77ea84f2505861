"""Export a plot as PNG or SVG, and curves as a tidy CSV. Every file is written atomically.

(The right-click menu of every plot also offers pyqtgraph's own Export… dialog.)
"""

from __future__ import annotations

import csv
import importlib
import io
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter, SVGExporter
from PySide6.QtCore import QBuffer, QByteArray, QIODevice

from losslab.core.errors import LossLabError
from losslab.core.files import save_bytes_atomic, save_text_atomic

IMAGE_SUFFIXES = (".png", ".svg")

_CLOSE = re.compile(r"\s*[Zz]\s*")
_CSV_CHUNK = 100_000


def _close_paths_explicitly(d: str) -> str:
    """Replace SVG close-path commands by a line back to the subpath's start ("M1,2 L3,4 Z" ->
    "M1,2 L3,4 L1,2"), the only form pyqtgraph 0.14's SVG exporter can parse."""
    out: list[str] = []
    start: str | None = None
    for tok in _CLOSE.sub(" Z ", d).split():
        if tok == "Z":
            if start is not None:
                out.append("L" + start)
            continue
        if tok[0] in "Mm":
            start = tok[1:]
        out.append(tok)
    return " ".join(out)


def install_svg_export_fix() -> None:
    """Let pyqtgraph's SVG exporter read the path data Qt 6.11 writes.

    Qt 6.11's QSvgGenerator ends closed paths with "Z"; pyqtgraph 0.14's ``correctCoordinates``
    expects every token to be "x,y" and raises ValueError, so every SVG export failed, including
    the one in the plots' right-click Export… dialog. This wraps that function (once, idempotently)
    to rewrite "Z" first.
    """
    module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    original = module.correctCoordinates
    if getattr(original, "_losslab_fixed", False):
        return

    def correct_coordinates(node: Any, defs: Any, item: Any, options: Any) -> Any:
        for path in node.getElementsByTagName("path"):
            d = path.getAttribute("d")
            if "Z" in d or "z" in d:
                path.setAttribute("d", _close_paths_explicitly(d))
        return original(node, defs, item, options)

    correct_coordinates._losslab_fixed = True  # type: ignore[attr-defined]
    module.correctCoordinates = correct_coordinates


install_svg_export_fix()


def _plot_item(target: Any) -> Any:
    """The PlotItem (or other scene item) an exporter should draw, from a view, widget or item."""
    if isinstance(target, pg.PlotWidget):
        return target.getPlotItem()
    plot = getattr(target, "plot", None)  # LossView: a QWidget holding .plot
    if isinstance(plot, pg.PlotWidget):
        return plot.getPlotItem()
    if isinstance(target, pg.GraphicsWidget | pg.GraphicsObject | pg.GraphicsScene):
        return target
    if isinstance(target, pg.GraphicsView):
        return target.scene()
    raise TypeError(f"cannot export {type(target).__name__}: expected a plot widget or a plot item")


def export_plot(widget_or_plotitem: Any, path: str | os.PathLike[str], width: int | None = None) -> Path:
    """Save a plot as PNG or SVG, chosen by the suffix of ``path``.

    ``width`` (PNG only) scales the image to that many pixels wide; by default the plot's size on
    screen. Returns the path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise LossLabError(f"cannot export a plot as {suffix or 'a file without suffix'}; use .png or .svg")
    item = _plot_item(widget_or_plotitem)
    if suffix == ".svg":
        data = SVGExporter(item).export(toBytes=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        save_bytes_atomic(path, bytes(data))
        return path
    exporter = ImageExporter(item)
    if width is not None:
        exporter.parameters()["width"] = max(int(width), 1)  # the height follows the aspect ratio
    image = exporter.export(toBytes=True)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buf, "PNG")
    buf.close()
    if not ok:
        raise LossLabError(f"could not encode the plot as PNG for {path}")
    save_bytes_atomic(path, bytes(data.data()))
    return path


def curves_csv_text(curves: Mapping[str, tuple[Any, Any]]) -> str:
    """Tidy CSV text: a header ``series,x,y`` then one row per point of every series, in order.

    Values are written with 12 significant digits (losses come from float32 arithmetic, which needs 9;
    step numbers stay exact); NaN/inf are written as ``nan``/``inf``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["series", "x", "y"])
    for name, (x, y) in curves.items():
        xa = np.asarray(x, dtype=np.float64).ravel()
        ya = np.asarray(y, dtype=np.float64).ravel()
        if xa.shape != ya.shape:
            raise ValueError(f"series {name!r}: x and y differ in length ({xa.size} != {ya.size})")
        if xa.size == 0:
            continue
        quoted = io.StringIO()
        csv.writer(quoted, lineterminator="").writerow([name])  # quotes names with commas or quotes
        row = quoted.getvalue().replace("%", "%%") + ",%.12g,%.12g\n"
        # One %-format per chunk runs in C: ~10x faster than np.savetxt's per-row Python loop.
        for start in range(0, xa.size, _CSV_CHUNK):
            pairs = np.column_stack([xa[start : start + _CSV_CHUNK], ya[start : start + _CSV_CHUNK]])
            out.write((row * len(pairs)) % tuple(pairs.ravel().tolist()))
    return out.getvalue()


def export_curves_csv(curves: Mapping[str, tuple[Any, Any]], path: str | os.PathLike[str]) -> Path:
    """Write ``curves`` ({series name: (x, y)}) as a tidy CSV (series, x, y), atomically."""
    path = Path(path)
    save_text_atomic(path, curves_csv_text(curves))
    return path
