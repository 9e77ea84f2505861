"""Compare runs: their loss and metric curves overlaid, and a table of only what differs.

``CompareWindow`` shows the selected runs (RunRecords): the training loss (solid) and validation
loss (dashed) of each run in one plot, its headline metric (accuracy, R²) in a second, aligned by
epoch, step or wall time (a combo), smoothed by one EMA slider, each run in its own colour
(theme.palette_colors' classes) and labelled by its name. Runs of one group (the seeds of one
experiment) can be drawn as their mean ± standard deviation band instead (plots/band_fill.py).
Beside the plots, a table lists only the settings that differ between the runs (their experiment
documents flattened to "section.key" paths) and every run's final metrics.

The pure parts (``flatten``, ``differing_settings``, ``ema``, ``curve``, ``mean_band``) are
Qt-free and tested on their own.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from losslab.core.metrics import LABELS
from losslab.core.runs import RunRecord
from losslab.gui.plots.band_fill import BandFill
from losslab.gui.theme import palette_colors, style_legend, style_plot_item

ALIGN = (("epoch", "Epoch", "epoch"), ("step", "Step", "step"), ("time", "Wall time (s)", "elapsed_s"))
IGNORED = ("format", "schema_version", "name", "description")  # labels, not settings
MISSING = "—"


# -- pure helpers ------------------------------------------------------------------------------
def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.01}} -> {"optimizer.lr": 0.01}; lists stay whole (as JSON text)."""
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, path + "."))
        elif isinstance(value, list | tuple):
            out[path] = json.dumps(value, sort_keys=True)
        else:
            out[path] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return float(a) == float(b) or (math.isnan(float(a)) and math.isnan(float(b)))
    return bool(a == b)


def differing_settings(docs: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The settings (flattened paths) whose values are not the same in every document, in document
    order; a setting one document lacks counts as differing (its value is MISSING)."""
    flat = [flatten({k: v for k, v in doc.items() if k not in IGNORED}) for doc in docs]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    out: dict[str, list[Any]] = {}
    for key in keys:
        values = [f.get(key, MISSING) for f in flat]
        if any(not _same(values[0], v) for v in values[1:]):
            out[key] = values
    return out


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Exponential moving average (TensorBoard-style, debiased); NaNs are skipped, kept as NaN."""
    y = np.asarray(values, dtype=float)
    if weight <= 0 or y.size == 0:
        return y
    out = np.full_like(y, np.nan)
    last, norm = 0.0, 0.0
    for i, v in enumerate(y):
        if not math.isfinite(v):
            continue
        last = last * weight + (1 - weight) * v
        norm = norm * weight + (1 - weight)
        out[i] = last / norm
    return out


def headline_key(record: RunRecord) -> str:
    """The epoch-row column of the run's headline metric: val_accuracy, else train_accuracy."""
    name = record.summary.headline
    if not name:
        return ""
    for key in (f"val_{name}", f"train_{name}"):
        if any(isinstance(r.get(key), float | int) and math.isfinite(r[key]) for r in record.epochs):
            return key
    return ""


def curve(
    record: RunRecord, column: str, align: str = "epoch", smoothing: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one epoch column of a run, x by ``align`` (epoch / step / time), y smoothed."""
    x_key = {a: k for a, _, k in ALIGN}[align]
    x = np.array([float(r.get(x_key, math.nan)) for r in record.epochs], dtype=float)
    y = np.array(
        [float(r.get(column, math.nan)) if r.get(column) is not None else math.nan for r in record.epochs]
    )
    keep = np.isfinite(x)
    return x[keep], ema(y[keep], smoothing)


def mean_band(curves: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, mean, std) over runs, epoch by epoch, over the epochs every run has; x is the mean x (the
    same epoch may come at different steps or times in different runs). std is the sample std."""
    n = min((len(x) for x, _ in curves), default=0)
    if n == 0:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    xs = np.stack([x[:n] for x, _ in curves])
    ys = np.stack([y[:n] for _, y in curves])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an epoch with no finite value: NaN
        mean = np.nanmean(ys, axis=0)
        std = np.nanstd(ys, axis=0, ddof=1) if len(curves) > 1 else np.zeros(n)
    return xs.mean(axis=0), mean, np.nan_to_num(std)


def run_labels(names: Sequence[str], ids: Sequence[int], diff: Mapping[str, list[Any]]) -> list[str]:
    """Short, distinct labels for the runs: their names without the part every name shares ("seed 5",
    "seed 6"); when names repeat, what differs ("#3 lr=0.05"); the run id as the last resort."""
    names = [n or f"run {i}" for n, i in zip(names, ids, strict=True)]
    if len(names) < 2:
        return names
    if len(set(names)) == len(names):
        prefix = names[0]
        for n in names[1:]:
            while not n.startswith(prefix):
                prefix = prefix[:-1]
        cut = prefix.rfind(" ") + 1 if " " in prefix else 0
        if cut and all(n[cut:].replace(".", "", 1).isdigit() for n in names):
            cut = prefix.rfind(" ", 0, cut - 1) + 1  # "seed 5", not a bare "5"
        if cut >= 8 and all(len(n) > cut for n in names):
            return [n[cut:] for n in names]
        return names
    keys = list(diff)[:2]
    out = []
    for i, rid in enumerate(ids):
        parts = [f"{k.rsplit('.', 1)[-1]}={value_text(diff[k][i])}" for k in keys]
        out.append(f"#{rid} " + (", ".join(parts) if parts else names[i]))
    return out


def value_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else "–"
    return str(value)


# -- the window --------------------------------------------------------------------------------
class CompareWindow(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("compareWindow")
        self.setWindowTitle("Compare runs — LossLab")
        self.resize(1180, 640)
        self.records: list[RunRecord] = []
        self._labels: dict[int, str] = {}
        self.items: dict[str, list[Any]] = {"loss": [], "metric": []}  # what is drawn, for tests

        self.align = QComboBox()
        self.align.setObjectName("compareAlign")
        for key, label, _ in ALIGN:
            self.align.addItem(label, key)
        self.align.setToolTip("Line the runs up by epoch, by optimizer step, or by seconds of training")
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setObjectName("compareSmoothing")
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(0)
        self.smoothing.setMaximumWidth(180)
        self.smoothing.setToolTip("Exponential moving average of every curve (0: raw)")
        self.smoothing_label = QLabel()
        self.band = QCheckBox("Groups as mean ± std")
        self.band.setObjectName("compareBand")
        self.band.setToolTip(
            "Runs of one group (the seeds of one experiment) as one line, their mean, with a band of ± one "
            "standard deviation"
        )
        self.show_val = QCheckBox("Validation")
        self.show_val.setObjectName("compareVal")
        self.show_val.setChecked(True)
        self.show_val.setToolTip("Also the validation loss (dashed)")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Align by:"))
        controls.addWidget(self.align)
        controls.addSpacing(12)
        controls.addWidget(QLabel("Smoothing:"))
        controls.addWidget(self.smoothing)
        controls.addWidget(self.smoothing_label)
        controls.addSpacing(12)
        controls.addWidget(self.show_val)
        controls.addWidget(self.band)
        controls.addStretch(1)

        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setObjectName("compareLossPlot")
        self.metric_plot = pg.PlotWidget()
        self.metric_plot.setObjectName("compareMetricPlot")
        # Losses fall and metrics rise: each legend sits where its curves end up leaving room.
        for plot, label, offset in (
            (self.loss_plot, "loss", (-10, 10)),
            (self.metric_plot, "metric", (-10, -10)),
        ):
            item = plot.getPlotItem()
            item.setLabel("left", label)
            style_plot_item(item)
            item.addLegend(offset=offset)
            style_legend(item.legend)
        self.metric_plot.setXLink(self.loss_plot)
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.metric_plot)
        plots.setSizes([360, 220])

        self.table = QTableWidget()
        self.table.setObjectName("compareTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setToolTip("Only the settings that differ between these runs, then their results")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setDefaultSectionSize(120)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.same_note = QLabel()
        self.same_note.setObjectName("compareSameNote")
        self.same_note.setWordWrap(True)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("<b>What differs</b>"))
        right_layout.addWidget(self.table, 1)
        right_layout.addWidget(self.same_note)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(plots)
        split.addWidget(right)
        split.setSizes([760, 420])
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(split, 1)

        for key in (QKeySequence.StandardKey.Close, QKeySequence(Qt.Key.Key_Escape)):
            QShortcut(key, self, self.close)
        self.align.currentIndexChanged.connect(self.redraw)
        self.smoothing.valueChanged.connect(self.redraw)
        self.band.toggled.connect(self.redraw)
        self.show_val.toggled.connect(self.redraw)
        self._update_smoothing_label()

    # -- data -------------------------------------------------------------------------------
    def set_runs(self, records: Sequence[RunRecord], band: bool | None = None) -> None:
        self.records = list(records)
        diff = differing_settings([r.experiment for r in self.records])
        labels = run_labels([r.summary.name for r in self.records], [r.id for r in self.records], diff)
        self._labels = {r.id: label for r, label in zip(self.records, labels, strict=True)}
        names = ", ".join(r.summary.name or f"run {r.id}" for r in self.records[:4])
        more = f" and {len(self.records) - 4} more" if len(self.records) > 4 else ""
        self.setWindowTitle(f"Compare {names}{more} — LossLab")
        if band is not None:
            self.band.blockSignals(True)
            self.band.setChecked(band)
            self.band.blockSignals(False)
        self.band.setEnabled(any(len(g) > 1 for g in self._groups().values()))
        self.redraw()
        self._fill_table()

    def colors(self) -> list[str]:
        classes = palette_colors()["classes"]
        return [classes[i % len(classes)] for i in range(len(self.records))]

    def label(self, record: RunRecord) -> str:
        return self._labels.get(record.id, record.summary.name or f"run {record.id}")

    def _groups(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(self.records):
            if r.summary.group_id:
                groups.setdefault(r.summary.group_id, []).append(i)
        return groups

    @property
    def smoothing_weight(self) -> float:
        return self.smoothing.value() / 100.0

    def _update_smoothing_label(self) -> None:
        self.smoothing_label.setText(f"{self.smoothing_weight:.2f}")

    # -- drawing ----------------------------------------------------------------------------
    @Slot()
    def redraw(self, *_: object) -> None:
        self._update_smoothing_label()
        align = self.align.currentData()
        weight = self.smoothing_weight
        pal = palette_colors()
        colors = self.colors()
        for plot in (self.loss_plot, self.metric_plot):
            plot.getPlotItem().clear()
            legend = plot.getPlotItem().legend
            if legend is not None:
                legend.clear()
        self.items = {"loss": [], "metric": []}
        x_label = {a: lbl for a, lbl, _ in ALIGN}[align]
        self.loss_plot.getPlotItem().setLabel("bottom", x_label)
        self.metric_plot.getPlotItem().setLabel("bottom", x_label)
        metric_names = {r.summary.headline for r in self.records} - {""}
        self.metric_plot.getPlotItem().setLabel(
            "left", " / ".join(LABELS.get(m, m) for m in sorted(metric_names)) or "metric"
        )

        banded: set[int] = set()
        if self.band.isChecked():
            for gid, members in self._groups().items():
                if len(members) < 2:
                    continue
                banded.update(members)
                self._draw_band(gid, members, colors[members[0]], align, weight)
        for i, record in enumerate(self.records):
            if i in banded:
                continue
            color, name = colors[i], self.label(record)
            x, y = curve(record, "train_loss", align, weight)
            self.items["loss"].append(
                self.loss_plot.plot(x, y, pen=pg.mkPen(color, width=2), name=f"{name} (train)")
            )
            if self.show_val.isChecked():
                x, y = curve(record, "val_loss", align, weight)
                if np.isfinite(y).any():
                    self.items["loss"].append(
                        self.loss_plot.plot(
                            x,
                            y,
                            pen=pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine),
                            name=f"{name} (val)",
                        )
                    )
            key = headline_key(record)
            if key:
                x, y = curve(record, key, align, weight)
                self.items["metric"].append(
                    self.metric_plot.plot(x, y, pen=pg.mkPen(color, width=2), name=name)
                )
        del pal

    def _draw_band(self, gid: str, members: list[int], color: str, align: str, weight: float) -> None:
        records = [self.records[i] for i in members]
        name = f"{self._group_label(records)} (mean ± std of {len(records)})"
        columns: list[tuple[pg.PlotWidget, str, str, Qt.PenStyle]] = [
            (self.loss_plot, "loss", "train_loss", Qt.PenStyle.SolidLine)
        ]
        if self.show_val.isChecked():
            columns.append((self.loss_plot, "loss", "val_loss", Qt.PenStyle.DashLine))
        key = headline_key(records[0])
        if key:
            columns.append((self.metric_plot, "metric", key, Qt.PenStyle.SolidLine))
        for plot, kind, column, style in columns:
            x, mean, std = mean_band([curve(r, column, align, weight) for r in records])
            if not np.isfinite(mean).any():
                continue
            fill = BandFill()
            c = QColor(color)
            c.setAlpha(60)
            fill.setBrush(pg.mkBrush(c))
            fill.set_band(x, mean - std, mean + std)
            plot.addItem(fill)
            suffix = " (val)" if column == "val_loss" else " (train)" if kind == "loss" else ""
            self.items[kind].append(
                plot.plot(x, mean, pen=pg.mkPen(color, width=2, style=style), name=name + suffix)
            )

    @staticmethod
    def _group_label(records: Sequence[RunRecord]) -> str:
        name = records[0].summary.name
        base = name.rsplit(" seed ", 1)[0] if " seed " in name else name
        return base or f"group {records[0].summary.group_id}"

    # -- the table --------------------------------------------------------------------------
    def _fill_table(self) -> None:
        records = self.records
        diff = differing_settings([r.experiment for r in records])
        results: list[tuple[str, list[str]]] = [
            ("status", [r.summary.status for r in records]),
            ("epochs done", [str(r.summary.epochs_done) for r in records]),
        ]
        for label, key in (("final train loss", "train_loss"), ("final val loss", "val_loss")):
            results.append((label, [value_text(r.summary.final.get(key)) for r in records]))
        metric = [r.summary.headline for r in records]
        if any(metric):
            label = " / ".join(sorted({LABELS.get(m, m) for m in metric if m}))
            results.append((f"final {label}", [value_text(r.summary.metric("final")) for r in records]))
            results.append((f"best {label}", [value_text(r.summary.metric("best")) for r in records]))
        results.append(("time (s)", [f"{r.summary.elapsed:.1f}" for r in records]))
        rows = [(k, [value_text(v) for v in vals], True) for k, vals in diff.items()]
        rows += [(k, vals, False) for k, vals in results]
        table = self.table
        table.clear()
        table.setColumnCount(len(records))
        # A few runs share the table's width (no scrolling to see the third); many keep 120 px each.
        mode = QHeaderView.ResizeMode.Stretch if len(records) <= 4 else QHeaderView.ResizeMode.Interactive
        table.horizontalHeader().setSectionResizeMode(mode)
        table.setRowCount(len(rows))
        colors = self.colors()
        for col, (record, color) in enumerate(zip(records, colors, strict=True)):
            item = QTableWidgetItem(self.label(record))
            item.setForeground(QColor(color))
            item.setToolTip(f"run {record.id}: {html.escape(record.summary.name)}")
            table.setHorizontalHeaderItem(col, item)
        labels = []
        for row, (key, values, setting) in enumerate(rows):
            labels.append(key)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if setting:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(row, col, item)
        table.setVerticalHeaderLabels(labels)
        for row, (_, _, setting) in enumerate(rows):
            header = table.verticalHeaderItem(row)
            if header is not None:
                header.setToolTip("a setting that differs" if setting else "a result")
        if len(records) < 2:
            note = "Select two or more runs to see what differs."
        elif not diff:
            note = "These runs have exactly the same settings (only chance differs)."
        else:
            plural = "s differ" if len(diff) != 1 else " differs"
            note = f"{len(diff)} setting{plural} (bold); every other one is the same."
        self.same_note.setText(note)

    def table_rows(self) -> dict[str, list[str]]:
        """The table as {row label: [cell per run]} (tests)."""
        out = {}
        for row in range(self.table.rowCount()):
            header = self.table.verticalHeaderItem(row)
            out[header.text() if header else str(row)] = [
                (self.table.item(row, c).text() if self.table.item(row, c) else "")
                for c in range(self.table.columnCount())
            ]
        return out

    def setting_rows(self) -> list[str]:
        return list(differing_settings([r.experiment for r in self.records]))
