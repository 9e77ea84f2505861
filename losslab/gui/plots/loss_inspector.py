"""The Loss inspector: the selected loss (and any ticked for comparison) against the prediction, its
slope below, its kinks and convexity, its formula, and where the current batch sits on the curve.

The curves come from core/inspector.py (each value is ``losslab.loss`` of one sample). They are
computed on the GUI thread only when something they depend on changes (the loss, its parameters,
the target, the comparison), never per training step, and not before the tab is first shown (so the
window opens without waiting for torch). The batch points come from the per-sample probe
(core/per_sample.py) on the training thread, at most ~10 times a second.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from losslab.core.custom_loss import run_limited
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.inspector import (
    PROBABILITY,
    RESIDUAL,
    TRUE_PROBABILITY,
    Curve,
    axis_for,
    convexity,
    curve_for_samples,
    loss_curves,
    sample_positions,
    sample_slopes,
)
from losslab.core.losses import LOSSES, LossSpec, resolve_loss
from losslab.core.per_sample import PerSampleLosses, latest_probe, per_sample_probes
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION
from losslab.gui.custom_losses import library_for
from losslab.gui.param_form import error_message
from losslab.gui.plots.legends import legend_below
from losslab.gui.plots.still_weights import current_losses, is_still
from losslab.gui.theme import is_dark, palette_colors, style_legend, style_plot_item
from losslab.gui.view_api import ViewBase, ViewServices

if TYPE_CHECKING:
    from losslab.core.data import Dataset
    from losslab.core.probe import Probe
    from losslab.core.trainer import Trainer
from losslab.gui.widgets import ErrorLabel, FormSlot, hint_label, math_font, scroll_area

COMPARE_ROLE = Qt.ItemDataRole.UserRole  # ("builtin", id) or ("custom", name)
SELECTED_WIDTH = 3.0
COMPARE_WIDTH = 1.8
POINT_SIZE = 9
MAX_CLASS_ENTRIES = 4  # legend entries for marker colours; more classes share the last one
CUSTOM_SECONDS = 3.0  # the most a custom loss's curves may take to compute
POINTS_SECONDS = 0.2  # batch points move at most 5 times a second
GUI_BUDGET = 0.03  # and take at most this share of the time (each move repaints both plots)
NOTE_SECONDS = 2.0


def _set_text(label: QLabel, text: str) -> None:
    """Labels re-lay out their window on every setText: only when the text changes."""
    if label.text() != text:
        label.setText(text)


def _pen(color: Any, width: float, second: bool) -> Any:
    return pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine if second else Qt.PenStyle.SolidLine)


class LossInspector(ViewBase):
    """A view for the main window's registry (views.py)."""

    def __init__(self, services: ViewServices) -> None:
        super().__init__()
        self.services = services
        self.state = services.state
        self.library = library_for(self.state)
        self._pal = palette_colors(None)
        self._dirty_curves = True
        self._dirty_points = False
        self._points_due = 0.0
        self._note_due = 0.0
        self._batch: PerSampleLosses | None = None
        self._train_spec: LossSpec | None = None  # the loss of the trainer the batch points come from
        self._train_params: dict[str, Any] = {}
        self._curves: dict[str, list[Curve]] = {}  # label of the loss -> its curves as drawn
        self._range: tuple[float, float] | None = None  # x range asked for beyond the default one
        self._curve_items: list[tuple[Any, Any]] = []  # (loss plot item, slope plot item) per curve drawn
        self._curve_keys: list[Any] = []  # what those items show: new data only while this stays the same
        self._kink_items: list[tuple[Any, Any]] = []  # (plot item, kink mark added to it)
        self.problem = ""  # what went wrong computing a curve (a custom loss's error), shown in the view

        # -- the plots ------------------------------------------------------------------------
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("inspectorPlots")
        self.loss_plot = self.graphics.addPlot(row=0, col=0)
        self.slope_plot = self.graphics.addPlot(row=1, col=0)
        self.slope_plot.setXLink(self.loss_plot)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.loss_plot.setLabel("left", "loss of one sample")
        self.slope_plot.setLabel("left", "d loss / d prediction")
        self.legend = legend_below(self.loss_plot)  # under the plot: it hid the steep end of the curve
        self.slope_zero = pg.InfiniteLine(pos=0.0, angle=0, movable=False)
        self.slope_plot.addItem(self.slope_zero, ignoreBounds=True)
        self.batch_points = pg.ScatterPlotItem(size=POINT_SIZE)
        self.batch_points.setZValue(20)
        self.batch_slopes = pg.ScatterPlotItem(size=POINT_SIZE - 2)
        self.batch_slopes.setZValue(20)
        self.loss_plot.addItem(self.batch_points)
        self.slope_plot.addItem(self.batch_slopes)
        self._points_in_legend = False
        self._point_samples: list[pg.ScatterPlotItem] = []  # legend-only markers, one per colour

        # -- the side panel -------------------------------------------------------------------
        side = QWidget()
        col = QVBoxLayout(side)
        col.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel()
        self.title.setObjectName("inspectorTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.formula = QLabel()
        self.formula.setObjectName("inspectorFormula")
        self.formula.setTextFormat(Qt.TextFormat.RichText)
        self.formula.setWordWrap(True)
        self.formula.setFont(math_font(self.font()))
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.traits = QLabel()
        self.traits.setObjectName("inspectorTraits")
        self.traits.setWordWrap(True)
        self.traits.setTextFormat(Qt.TextFormat.RichText)
        self.axis_note = hint_label()
        self.error = ErrorLabel()
        for w in (self.title, self.formula, self.traits, self.axis_note, self.error):
            col.addWidget(w)

        target_box = QGroupBox("Target")
        target_col = QVBoxLayout(target_box)
        self.target_spin = QDoubleSpinBox()
        self.target_spin.setObjectName("inspectorTarget")
        self.target_spin.setRange(-5.0, 5.0)
        self.target_spin.setSingleStep(0.25)
        self.target_spin.setDecimals(2)
        self.target_spin.setToolTip(
            "The target y the curves are drawn for (in the model's standardized units). A loss that depends "
            "only on the error ŷ − y does not change; one that also depends on y does."
        )
        self.class_spin = QSpinBox()
        self.class_spin.setObjectName("inspectorClass")
        self.class_spin.setToolTip("The true class of the sample the curve is drawn for")
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.target_label, 1)
        row.addWidget(self.target_spin)
        row.addWidget(self.class_spin)
        target_col.addLayout(row)
        col.addWidget(target_box)

        self.params_box = QGroupBox("Parameters")
        params_col = QVBoxLayout(self.params_box)
        self.params_hint = hint_label("Try values here; the experiment keeps its own until you apply them.")
        params_col.addWidget(self.params_hint)
        self.form_slot = FormSlot(params_col, self.params_box, self._on_param_changed)
        self.form = self.form_slot.form
        self.form.setObjectName("inspectorParams")
        self.apply_button = QPushButton("Use these in training")
        self.apply_button.setObjectName("inspectorApplyParams")
        self.apply_button.setToolTip("Set the loss parameters of the experiment to these values")
        params_col.addWidget(self.apply_button)
        col.addWidget(self.params_box)

        compare_box = QGroupBox("Compare with")
        compare_col = QVBoxLayout(compare_box)
        self.compare_list = QListWidget()
        self.compare_list.setObjectName("compareList")
        self.compare_list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.compare_list.setMinimumHeight(120)
        compare_col.addWidget(self.compare_list)
        col.addWidget(compare_box)

        self.batch_check = QCheckBox("Show the current training batch")
        self.batch_check.setObjectName("showBatchCheck")
        self.batch_check.setChecked(True)
        self.batch_check.setToolTip(
            "Each sample of the batch just trained on, at its prediction and loss: the gradient comes "
            "from the steep parts of the curve, not the flat ones."
        )
        self.batch_note = hint_label()
        col.addWidget(self.batch_check)
        col.addWidget(self.batch_note)
        col.addStretch(1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.graphics)
        split.addWidget(scroll_area(side))
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([900, 340])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

        self.target_spin.valueChanged.connect(self._on_target_changed)
        self.class_spin.valueChanged.connect(self._on_target_changed)
        self.compare_list.itemChanged.connect(self._on_compare_changed)
        self.batch_check.toggled.connect(self._on_batch_toggled)
        self.apply_button.clicked.connect(self.apply_params)
        self.state.changed.connect(self._on_state_changed)
        self.library.changed.connect(self._on_library_changed)
        self.apply_theme(is_dark())
        self._follow_experiment()

    # -- the main window's view protocol ----------------------------------------------------------
    def make_probes(self, trainer: Trainer) -> list[Probe]:
        return per_sample_probes(trainer)

    def set_trainer(self, trainer: Trainer | None) -> None:
        self._train_spec = getattr(trainer, "loss_spec", None)
        self._train_params = dict(trainer.experiment.loss["params"]) if trainer is not None else {}
        if trainer is None:
            self._batch = None
            self._dirty_points = True

    def reset(self, dataset: Dataset) -> None:
        self._batch = None
        self._range = None
        self._follow_experiment()

    def on_event(self, event: object) -> None:
        if isinstance(event, PerSampleLosses):
            self._batch = event
            self._dirty_points = True

    def redraw(self) -> None:
        probe = latest_probe(self.services.trainer)
        if probe is not None:
            probe.watch(self, self.isVisible())
        if not self.isVisible():
            return
        fresh = current_losses(self.services, self._batch)  # paused or stopped: the weights as they are
        if fresh is not self._batch:
            self._batch, self._dirty_points = fresh, True
        if self._dirty_curves:
            self.draw_curves()
        if self._dirty_points:
            # While training runs, new batch points wait their turn: at most POINTS_SECONDS apart and
            # within GUI_BUDGET of the time (this redraw repaints both plots, measured here).
            now = time.perf_counter()
            trainer = self.services.trainer
            live = trainer is not None and not is_still(trainer, self.services.running)
            if live and now < self._points_due:  # paused: the batch shows at once
                return
            self.draw_points()
            self.graphics.viewport().repaint()  # paint now: the cost measured includes it
            self._points_due = now + max(POINTS_SECONDS, (time.perf_counter() - now) / GUI_BUDGET)

    def apply_theme(self, dark: bool) -> None:
        self._pal = palette_colors(dark)
        self._curve_keys = []  # new colours: new items
        self.graphics.setBackground(self._pal["background"])
        for plot in (self.loss_plot, self.slope_plot):
            style_plot_item(plot)
        style_legend(self.legend)
        self.slope_zero.setPen(pg.mkPen(self._pal["foreground"], width=0.8, style=Qt.PenStyle.DotLine))
        # The same pen and brush objects every time: the scatter plots' symbol caches key on them.
        self._class_brushes = [pg.mkBrush(c) for c in self._pal["classes"]]
        self._value_brush = pg.mkBrush(self._pal["val"])
        self._point_pen = pg.mkPen(self._pal["background"], width=1)
        self._dirty_curves = self._dirty_points = True

    # -- what to draw -----------------------------------------------------------------------------
    def _task(self) -> str | None:
        try:
            return self.state.task
        except LossLabError:
            return None

    def _classes(self) -> int:
        try:
            return max(self.state.dataset.n_classes, 2)
        except LossLabError:
            return 3

    @property
    def spec(self) -> LossSpec:
        return resolve_loss(self.state.experiment.loss, self._task())

    def _follow_experiment(self) -> None:
        """The experiment's loss is the selected one: its parameters, target control and comparison list."""
        spec = self.spec
        task = self._task() or next(iter(spec.tasks))
        self._rebuild_form(spec)
        self.form.set_values(self.state.experiment.loss["params"])
        self.form.clear_error()
        self.target_spin.setVisible(task == REGRESSION)
        self.class_spin.setVisible(task == MULTICLASS)
        self.class_spin.setRange(0, self._classes() - 1)
        self.target_label.setText(
            "target y:"
            if task == REGRESSION
            else "true class:"
            if task == MULTICLASS
            else "curves for a real sample (y = 1) and a generated one (y = 0)"
            if task == GAN
            else "curves for both labels: y = 1 (solid) and y = 0 (dashed)"
        )
        self._fill_compare(task)
        self._update_apply_button()
        self._dirty_curves = self._dirty_points = True

    def _rebuild_form(self, spec: LossSpec) -> None:
        key = (spec.id, spec.name, spec.params)
        if key == self.form_slot.key:
            return
        self.form = self.form_slot.show(key, spec.params)
        self.params_box.setVisible(bool(spec.params))

    def _fill_compare(self, task: str) -> None:
        ticked = set(self.compared())
        selected = self.state.experiment.loss
        blocked = self.compare_list.blockSignals(True)
        self.compare_list.clear()
        entries: list[tuple[str, tuple[str, str]]] = []
        for spec in LOSSES.values():
            if task in spec.tasks and spec.id != selected.get("id"):
                entries.append((spec.name, ("builtin", spec.id)))
        for section in self.library.sections():
            if task in section["tasks"] and section != selected:
                entries.append((f"{section['name']} (your code)", ("custom", section["name"])))
        for text, key in entries:
            item = QListWidgetItem(text)
            item.setData(COMPARE_ROLE, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if key in ticked else Qt.CheckState.Unchecked)
            self.compare_list.addItem(item)
        self.compare_list.blockSignals(blocked)

    def compared(self) -> list[tuple[str, str]]:
        """The ticked losses, as ("builtin", id) or ("custom", name)."""
        out = []
        for i in range(self.compare_list.count()):
            item = self.compare_list.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(tuple(item.data(COMPARE_ROLE)))
        return out

    def set_compared(self, keys: list[tuple[str, str]]) -> None:
        for i in range(self.compare_list.count()):
            item = self.compare_list.item(i)
            on = tuple(item.data(COMPARE_ROLE)) in keys
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def local_params(self) -> dict[str, Any]:
        return self.form.values()

    def target(self) -> float:
        task = self._task()
        if task == REGRESSION:
            return float(self.target_spin.value())
        if task == MULTICLASS:
            return float(self.class_spin.value())
        return 0.0

    # -- reacting ---------------------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in ("loss", "dataset", "all"):
            self._range = None
            self._follow_experiment()

    @Slot()
    def _on_library_changed(self) -> None:
        task = self._task()
        if task:
            self._fill_compare(task)

    @Slot()
    def _on_target_changed(self, *_: Any) -> None:
        self._dirty_curves = self._dirty_points = True

    @Slot(QListWidgetItem)
    def _on_compare_changed(self, item: QListWidgetItem) -> None:
        self._dirty_curves = True

    @Slot(bool)
    def _on_batch_toggled(self, on: bool) -> None:
        self._dirty_points = True

    @Slot(str, object)
    def _on_param_changed(self, name: str, value: Any) -> None:
        self._update_apply_button()
        self._dirty_curves = self._dirty_points = True

    def _update_apply_button(self) -> None:
        self.apply_button.setEnabled(self.local_params() != self.state.experiment.loss["params"])

    @Slot()
    def apply_params(self) -> bool:
        doc = self.state.experiment.to_dict()
        doc["loss"] = {**doc["loss"], "params": self.local_params()}
        try:
            applied = self.state.set_experiment_sections(Experiment.from_dict(doc), ("loss",))
        except LossLabError as exc:
            self.error.show_message(error_message(exc))
            return False
        self.error.clear_message()
        return applied

    # -- drawing ----------------------------------------------------------------------------------
    def _specs(self) -> list[tuple[str, LossSpec, dict[str, Any]]]:
        task = self._task()
        out = [(self.spec.name, self.spec, self.local_params())]
        for kind, key in self.compared():
            if kind == "builtin":
                spec = LOSSES[key]
                out.append((spec.name, spec, {}))
            else:
                section = self.library.get(key)
                if section is not None:
                    out.append((section["name"], resolve_loss(section, task), {}))
        return out

    def draw_curves(self) -> None:
        """Recompute every curve (the selected loss first and thickest) and draw them: new data into the
        same items when the same curves are shown (a moved range or target), new items otherwise."""
        self._dirty_curves = False
        self._dirty_points = True
        for plot, item in self._kink_items:
            plot.removeItem(item)
        self._kink_items = []
        self._curves = {}
        self.error.clear_message()
        task = self._task()
        spec = self.spec
        _set_text(self.title, spec.name + (" (your code)" if spec.custom else ""))
        _set_text(self.formula, spec.formula)
        if task is None:
            self._rebuild_curve_items([])
            return
        axis = axis_for(spec, task, self.local_params())
        lo, hi = (axis.lo, axis.hi) if self._range is None else self._range
        self.slope_plot.setLabel("bottom", axis.label)
        colors = self._curve_colors()
        problems = []
        shown: list[tuple[str, Curve, Any, float, bool]] = []  # (legend label, curve, colour, width, dashed)
        for n, (name, s, params) in enumerate(self._specs()):

            def draw(s: LossSpec = s, params: dict[str, Any] = params) -> list[Curve]:
                return loss_curves(
                    s, task, target=self.target(), params=params, classes=self._classes(), lo=lo, hi=hi
                )

            try:
                # The user's code runs on a helper thread with a time limit: a stuck call cannot freeze us.
                curves = run_limited(draw, CUSTOM_SECONDS, f"drawing {name}") if s.custom else draw()
            except LossLabError as exc:
                problems.append(f"{name}: {error_message(exc)}")
                continue
            self._curves[name] = curves
            color = colors[n % len(colors)]
            width = SELECTED_WIDTH if n == 0 else COMPARE_WIDTH
            for i, c in enumerate(curves):
                label = name if len(curves) == 1 else f"{name} ({c.label})"
                shown.append((label, c, color, width, i == 1))
                self._mark_kinks(c, color)
        keys = [(label, str(color), width, dashed) for label, _, color, width, dashed in shown]
        if keys != self._curve_keys:
            self._rebuild_curve_items(shown)
            self._curve_keys = keys
        for (loss_item, slope_item), (_, c, *_rest) in zip(self._curve_items, shown, strict=True):
            loss_item.setData(c.x, c.loss)
            slope_item.setData(c.x, c.slope)
        if problems:
            self.problem = "; ".join(problems)
            self.error.show_message(self.problem)
        else:
            self.problem = ""
        self._show_traits(spec, task)
        _set_text(self.axis_note, self._axis_note(axis.kind, task))
        self._fit_ranges()

    def _rebuild_curve_items(self, shown: list[tuple[str, Curve, Any, float, bool]]) -> None:
        for loss_item, slope_item in self._curve_items:
            self.loss_plot.removeItem(loss_item)
            self.slope_plot.removeItem(slope_item)
        self._curve_items = []
        self._curve_keys = []
        self.legend.clear()
        self._points_in_legend = False
        for n, (label, _, color, width, dashed) in enumerate(shown):
            pen = _pen(color, width, dashed)
            loss_item = self.loss_plot.plot([], [], pen=pen, antialias=True)
            slope_item = self.slope_plot.plot([], [], pen=pen, antialias=True)
            z = 10 - n * 0.01 if width == SELECTED_WIDTH else 5 - n * 0.01
            loss_item.setZValue(z)
            slope_item.setZValue(z)
            self.legend.addItem(loss_item, label)
            self._curve_items.append((loss_item, slope_item))

    def _mark_kinks(self, c: Curve, color: Any) -> None:
        for k in c.kinks:
            y = float(np.interp(k, c.x, c.loss))
            dot = pg.ScatterPlotItem(
                [k],
                [y],
                size=11,
                symbol="o",
                brush=pg.mkBrush(self._pal["background"]),
                pen=pg.mkPen(self._pal["mark"], width=2),
            )
            dot.setZValue(30)
            dot.setToolTip(f"not differentiable at x = {k:.3g}")
            self.loss_plot.addItem(dot, ignoreBounds=True)
            line = pg.InfiniteLine(
                pos=k,
                angle=90,
                movable=False,
                pen=pg.mkPen(self._pal["mark"], width=1, style=Qt.PenStyle.DotLine),
            )
            self.slope_plot.addItem(line, ignoreBounds=True)
            text = pg.TextItem("kink", color=self._pal["mark"], anchor=(0.5, 1.6))
            text.setPos(k, y)
            self.loss_plot.addItem(text, ignoreBounds=True)
            self._kink_items += [(self.loss_plot, dot), (self.slope_plot, line), (self.loss_plot, text)]

    def kinks(self) -> list[float]:
        """Where the selected loss's curves are not differentiable, as drawn."""
        curves = self._curves.get(self.spec.name, [])
        return sorted({k for c in curves for k in c.kinks})

    def _show_traits(self, spec: LossSpec, task: str) -> None:
        curves = self._curves.get(spec.name, [])
        conv = convexity(spec, curves)
        color = "#2e7d32" if conv.convex else "#c15400"
        parts = [f'<span style="color:{color}"><b>{html.escape(conv.text)}</b></span>']
        kinks = self.kinks()
        if kinks:
            where = ", ".join(f"{k + 0.0:.3g}" for k in kinks)
            near = "near " if spec.custom else ""  # found numerically, to the grid's resolution
            parts.append(f"<b>Not differentiable</b> {near}x = {where} (marked ○): the gradient jumps there.")
        elif spec.custom:
            parts.append("No kink found on the drawn range (checked numerically).")
        else:
            parts.append("Differentiable everywhere: the gradient changes smoothly.")
        _set_text(self.traits, "<br>".join(parts))

    @staticmethod
    def _axis_note(kind: str, task: str) -> str:
        if kind == RESIDUAL:
            return (
                "x is the error ŷ − y: left of 0 the model predicts too low, right of it too high. The "
                "lower plot is the slope, the push each sample gives the model."
            )
        if kind in (PROBABILITY, TRUE_PROBABILITY):
            return "x is the predicted probability; the lower plot is the slope, the push on the model."
        if task == MULTICLASS:
            return (
                "x is how far the true class's output leads the others; the lower plot is the slope with "
                "respect to the true class's output."
            )
        return "x is the model's output for one sample; the lower plot is the slope, the push on the model."

    def _fit_ranges(self) -> None:
        ys = [c.loss for cs in self._curves.values() for c in cs]
        ss = [c.slope for cs in self._curves.values() for c in cs]
        self.loss_plot.enableAutoRange(x=True)
        for plot, values, symmetric in ((self.loss_plot, ys, False), (self.slope_plot, ss, True)):
            v = np.concatenate(values) if values else np.empty(0)
            v = v[np.isfinite(v)]
            if v.size == 0:
                continue
            # Derivatives of log losses explode at the edges; show the body, not the last 1%.
            top = float(np.percentile(v, 99)) if v.size > 50 else float(v.max())
            bottom = float(np.percentile(v, 1)) if v.size > 50 else float(v.min())
            bottom = min(bottom, float(v.min())) if not symmetric else bottom
            if symmetric:
                m = max(abs(top), abs(bottom), 1e-9)
                bottom, top = -m, m
            pad = 0.06 * max(top - bottom, 1e-9)
            plot.setYRange(bottom - pad, top + pad, padding=0)

    def draw_points(self) -> None:
        """The current batch at (position, loss) on the loss curve and (position, slope) below it."""
        self._dirty_points = False
        ev = self._batch
        task = self._task()
        show = self.batch_check.isChecked()
        spec = self.spec
        if ev is None or task is None or not show:
            self.batch_points.setData([], [])
            self.batch_slopes.setData([], [])
            waiting = (
                "GAN training is not measured per sample."
                if task == GAN
                else "Press Train: the samples of each batch will appear on the curve."
            )
            _set_text(self.batch_note, "" if ev is not None or not show else waiting)
            return
        train = self._train_spec
        same = train is not None and train.id == spec.id and train.name == spec.name
        if not same or self.local_params() != self._train_params:
            self.batch_points.setData([], [])
            self.batch_slopes.setData([], [])
            _set_text(
                self.batch_note,
                "The batch is hidden: training uses another loss or other parameters than the curve shows.",
            )
            return
        x = sample_positions(spec, task, ev.batch_output, ev.batch_target)
        y = ev.batch_loss
        slope = sample_slopes(spec, task, ev.batch_grad, ev.batch_target)
        which = curve_for_samples(task, ev.batch_target)
        colors = self._point_colors(task, ev.batch_target)
        pen = self._point_pen
        self.batch_points.setData(x, y, brush=colors, pen=pen, size=POINT_SIZE)
        ok = np.isfinite(slope)
        self.batch_slopes.setData(x[ok], slope[ok], brush=[colors[i] for i in np.flatnonzero(ok)], pen=pen)
        if not self._points_in_legend:
            self._add_point_legend(task)
            self._points_in_legend = True
        self._extend_range(x)
        # A changing label re-lays out the side panel, which costs training time: while training runs,
        # its numbers are refreshed every NOTE_SECONDS only.
        now = time.perf_counter()
        if self.services.running and now < self._note_due:
            return
        self._note_due = now + NOTE_SECONDS
        steep = float(np.mean(np.abs(slope[ok]))) if ok.any() else float("nan")
        labels = " (coloured by label)" if task in (BINARY, GAN) else ""
        n_on = int(np.sum(which == 0)) if task in (BINARY, GAN) else len(x)
        split = f"{n_on} on the y = 1 curve, {len(x) - n_on} on the y = 0 curve. " if task == BINARY else ""
        _set_text(
            self.batch_note,
            f"Step {ev.step}: {len(x)} samples{labels}; mean |slope| {steep:.3g}. "
            f"{split}Samples on flat parts give almost no gradient.",
        )

    def _curve_colors(self) -> list[Any]:
        """The selected loss in the foreground colour, compared ones in class colours the batch
        markers do not use (markers take the first classes' colours, or the value colour)."""
        used = {*self._pal["classes"][: self._classes()], self._pal["val"]}
        free = [c for c in self._pal["classes"] if c not in used]
        return [self._pal["fit"], *(free or self._pal["classes"])]  # ten classes use every colour

    def _add_point_legend(self, task: str) -> None:
        """One legend entry per marker colour: which samples a colour stands for."""
        self._point_samples = []
        if task in (BINARY, GAN, MULTICLASS):
            classes = self._classes()
            names = [f"batch, label {k}" for k in range(min(classes, MAX_CLASS_ENTRIES))]
            if classes > MAX_CLASS_ENTRIES:
                names[-1] = f"batch, labels {MAX_CLASS_ENTRIES - 1}-{classes - 1} (by colour)"
            brushes = self._class_brushes
        else:
            names, brushes = ["samples of the current batch"], [self._value_brush]
        for k, name in enumerate(names):
            sample = pg.ScatterPlotItem(size=POINT_SIZE, brush=brushes[k % len(brushes)], pen=self._point_pen)
            self._point_samples.append(sample)  # kept alive here; never drawn in the plot
            self.legend.addItem(sample, name)

    def _point_colors(self, task: str, target: np.ndarray) -> list[Any]:
        if task in (BINARY, MULTICLASS, GAN):
            classes = self._pal["classes"]
            labels = (np.asarray(target) > 0.5) if task != MULTICLASS else np.asarray(target)
            labels = labels.astype(np.int64)
            brushes = self._class_brushes
            return [brushes[int(k) % len(classes)] for k in labels]
        return [self._value_brush] * len(target)

    def _extend_range(self, x: np.ndarray) -> None:
        """Widen the curves' x range when samples fall outside it (regression outliers, say)."""
        x = x[np.isfinite(x)]
        if x.size == 0:
            return
        spec = self.spec
        task = self._task()
        axis = axis_for(spec, task, self.local_params())
        if axis.kind in (PROBABILITY, TRUE_PROBABILITY):
            return
        lo, hi = (axis.lo, axis.hi) if self._range is None else self._range
        if x.min() >= lo and x.max() <= hi:
            return
        # Room to grow (logits keep growing while a classifier gets surer): few recomputes, not one a step.
        span = hi - lo
        if x.min() < lo:
            lo = float(x.min()) - 0.5 * span
        if x.max() > hi:
            hi = float(x.max()) + 0.5 * span
        self._range = (lo, hi)
        self._dirty_curves = True

    def curve_data(self, name: str | None = None) -> list[Curve]:
        """The curves drawn for loss ``name`` (default: the selected loss)."""
        return list(self._curves.get(name or self.spec.name, []))

    def batch_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The batch points as drawn: (x, loss)."""
        x, y = self.batch_points.getData()
        return np.asarray(x), np.asarray(y)
