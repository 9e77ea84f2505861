"""The dataset panel: pick a generator (grouped by task) or a CSV file, set its parameters, see the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from losslab.core.data import COMMON_PARAMS, CSV_KIND, DATASETS, Dataset, dataset_params, read_csv_table
from losslab.core.data.csv_import import CSV_TASKS
from losslab.core.data.csv_parse import cached_parse, file_sha256
from losslab.core.data.csv_source import csv_source_problem
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.losses import LOSSES, LossSpec, resolve_loss
from losslab.core.params import Param
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION, TASKS
from losslab.gui.csv_wizard import CsvImportDialog
from losslab.gui.param_form import error_message
from losslab.gui.state import ExperimentState
from losslab.gui.theme import palette_colors, style_plot_item
from losslab.gui.widgets import (
    ErrorLabel,
    FormSlot,
    GroupedComboBox,
    add_labelled_row,
    hint_label,
    panel_content,
    show_error,
    try_update,
    wrap_panel,
)

PREVIEW_HEIGHT = 200
MAX_PREVIEW_POINTS = 2500  # per split; more only slows the preview down
MAX_COLOR_ITEMS = 16  # the preview draws one item per point colour up to this many colours
OWN_DATA_HEADER = "Your own data"
CSV_FILTER = "CSV files (*.csv *.tsv *.txt);;All files (*)"


def first_fitting_loss(task: str) -> LossSpec | None:
    """The first loss in the registry that fits ``task``."""
    return next((spec for spec in LOSSES.values() if task in spec.tasks), None)


IMAGE_COLUMNS = 8  # image datasets: the preview shows two rows of this many training images


def _thin(n: int) -> np.ndarray:
    """Evenly spaced indices of at most MAX_PREVIEW_POINTS of ``n`` samples (deterministic)."""
    if n <= MAX_PREVIEW_POINTS:
        return np.arange(n)
    return np.linspace(0, n - 1, MAX_PREVIEW_POINTS).astype(int)


class DatasetPanel(QWidget):
    """Edits ``state.experiment.dataset``; switches the loss too when a new task needs it.

    ``notice(str)`` reports things the panel did on its own (a loss switched to fit the new task),
    for the main window's status bar; the same text shows in the panel.
    """

    notice = Signal(str)

    def __init__(self, state: ExperimentState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._csv_columns: list[str] = []

        content, column = panel_content()

        box = QGroupBox("Data", content)
        box_layout = QVBoxLayout(box)
        top = QFormLayout()
        top.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.kind_combo = GroupedComboBox(box)
        self.kind_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind_combo.setMinimumContentsLength(12)
        self.kind_combo.setAccessibleName("Dataset")
        add_labelled_row(top, "&Dataset:", self.kind_combo, box)
        box_layout.addLayout(top)
        self.description = hint_label("", box)
        box_layout.addWidget(self.description)

        csv_row = QHBoxLayout()
        self.csv_button = QPushButton("Import CSV…", box)
        self.csv_button.setToolTip(
            "Train on your own data: a CSV file with a header row, feature columns (numbers, or "
            "texts such as a city) and one target column. A preview lets you choose the columns"
        )
        csv_row.addWidget(self.csv_button)
        csv_row.addStretch(1)
        box_layout.addLayout(csv_row)

        self.csv_box = QWidget(box)
        csv_form = QFormLayout(self.csv_box)
        csv_form.setContentsMargins(0, 0, 0, 0)
        csv_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.csv_file = QLabel(self.csv_box)
        self.csv_file.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.csv_file.setWordWrap(True)
        csv_form.addRow("File:", self.csv_file)
        self.target_combo = QComboBox(self.csv_box)
        self.target_combo.setToolTip("The column the model learns to predict; the others are its inputs")
        add_labelled_row(csv_form, "&Target column:", self.target_combo, self.csv_box)
        self.task_combo = QComboBox(self.csv_box)
        self.task_combo.addItem("Infer from the target", None)
        for task in CSV_TASKS:
            self.task_combo.addItem(TASKS.get(task, task), task)
        self.task_combo.setToolTip(
            "Whole numbers with few distinct values and text labels are read as "
            "classes; anything else as a regression target"
        )
        add_labelled_row(csv_form, "T&ask:", self.task_combo, self.csv_box)
        self.csv_info = hint_label("", self.csv_box)
        csv_form.addRow(self.csv_info)
        box_layout.addWidget(self.csv_box)

        self.form_slot = FormSlot(box_layout, box, self._on_param_changed, key=())
        self.form = self.form_slot.form
        self.error = ErrorLabel(box)
        box_layout.addWidget(self.error)
        self.notice_label = hint_label("", box)
        self.notice_label.hide()
        box_layout.addWidget(self.notice_label)
        # The CSV named by an opened experiment is missing or not the file it was made from.
        self.source_box = QWidget(box)
        source_layout = QVBoxLayout(self.source_box)
        source_layout.setContentsMargins(0, 0, 0, 0)
        self.source_label = ErrorLabel(self.source_box)
        source_layout.addWidget(self.source_label)
        self.source_button = QPushButton("Keep the file as it is now", self.source_box)
        self.source_button.setToolTip(
            "Record the file's current content hash in the experiment (saved with it), so this "
            "notice goes away"
        )
        source_layout.addWidget(self.source_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.source_box.hide()
        box_layout.addWidget(self.source_box)
        self.wizard: CsvImportDialog | None = None
        column.addWidget(box)

        preview_box = QGroupBox("Preview", content)
        preview_layout = QVBoxLayout(preview_box)
        self.plot = pg.PlotWidget(preview_box)
        self.plot.setFixedHeight(PREVIEW_HEIGHT)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self._dark: bool | None = None  # None: the scheme the plots were last themed with
        self._style_plot()
        self.plot.setToolTip(
            "Training points filled, validation points hollow; ringed points are outliers or flipped labels"
        )
        preview_layout.addWidget(self.plot)
        self.caption = hint_label("", preview_box)
        preview_layout.addWidget(self.caption)
        column.addWidget(preview_box)

        wrap_panel(self, content, column)

        self._fill_kinds()
        self.kind_combo.activated.connect(self._on_kind_activated)
        self.csv_button.clicked.connect(self.import_csv)
        self.source_button.clicked.connect(self._keep_changed_source)
        self.target_combo.activated.connect(self._on_csv_option)
        self.task_combo.activated.connect(self._on_csv_option)
        state.changed.connect(self._on_state_changed)
        state.changed.connect(lambda section: section == "loss" and self.notice_label.hide())  # stale note
        state.datasetChanged.connect(self._on_dataset_changed)
        self._sync()
        self._draw_current()

    # -- building ---------------------------------------------------------------------------
    def _fill_kinds(self) -> None:
        for task, title in TASKS.items():
            specs = [s for s in DATASETS.values() if s.task == task]
            if specs:
                self.kind_combo.add_header(title)
                for spec in specs:
                    self.kind_combo.add_entry(spec.name, spec.id, spec.description)
        others = [s for s in DATASETS.values() if s.task not in TASKS]
        if others:
            self.kind_combo.add_header(OWN_DATA_HEADER)
            for spec in others:
                self.kind_combo.add_entry(spec.name + "…", spec.id, spec.description)

    def _params_for(self, kind: str) -> tuple[Param, ...]:
        params = dataset_params(kind)
        if kind == CSV_KIND:  # the file decides how many samples there are
            params = tuple(p for p in params if p.name != "n_samples")
        return params

    def _rebuild_form(self, params: tuple[Param, ...]) -> None:
        self.form = self.form_slot.show(params, params)

    # -- state -> widgets -------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in ("dataset", "all"):
            if section == "all":
                self.notice_label.hide()
                self.error.clear_message()
                self._check_source()
            elif not self.source_box.isHidden():  # re-imported or kept: is the notice still true?
                self._check_source(announce=False)
            self._sync()

    @Slot(object)
    def _on_dataset_changed(self, dataset: Dataset) -> None:
        self._draw(dataset)
        self._sync_csv_info(dataset)

    def _sync(self) -> None:
        cfg = self.state.experiment.dataset
        kind = cfg["kind"]
        self.kind_combo.select_data(kind)
        spec = DATASETS[kind]
        self.description.setText(spec.description)
        self._rebuild_form(self._params_for(kind))
        self.form.set_values(cfg)
        is_csv = kind == CSV_KIND
        self.csv_box.setVisible(is_csv)
        if is_csv:
            path = str(cfg.get("path") or "")
            self.csv_file.setText(Path(path).name)
            self.csv_file.setToolTip(path)
            self._fill_csv_columns(cfg)
            index = self.task_combo.findData(cfg.get("task"))
            self.task_combo.setCurrentIndex(max(index, 0))

    def _fill_csv_columns(self, cfg: dict[str, Any]) -> None:
        try:
            dataset = self.state.dataset
        except LossLabError:
            return
        parsed = cached_parse(str(cfg.get("path") or ""))  # the read that made the dataset
        columns = parsed.header if parsed is not None else [*dataset.feature_names, dataset.target_name]
        if set(columns) != set(self._csv_columns):  # same file, other target: keep the order
            self.target_combo.clear()
            for name in columns:
                self.target_combo.addItem(name, name)
            self._csv_columns = columns
        self.target_combo.setCurrentIndex(max(self.target_combo.findData(dataset.target_name), 0))

    def _sync_csv_info(self, dataset: Dataset) -> None:
        if dataset.spec_id != CSV_KIND:
            self.csv_info.clear()
            return
        features = ", ".join(dataset.feature_names)  # one-hot inputs show as city=Paris, city=Rome…
        if len(features) > 80:
            features = features[:77] + "…"
        rows = dataset.n_train + dataset.n_val
        classes = f", {len(dataset.class_names)} classes" if dataset.class_names else ""
        self.csv_info.setText(
            f"{TASKS.get(dataset.task, dataset.task)}{classes} · {rows} rows · "
            f"{dataset.n_features} feature(s): {features} → target '{dataset.target_name}'"
        )

    # -- widgets -> state -------------------------------------------------------------------
    @Slot(int)
    def _on_kind_activated(self, index: int) -> None:
        kind = self.kind_combo.itemData(index, Qt.ItemDataRole.UserRole)
        if kind is None or kind == self.state.experiment.dataset["kind"]:
            self._sync()
            return
        if kind == CSV_KIND:
            self.import_csv()
            return
        self.set_kind(kind)

    def set_kind(self, kind: str) -> bool:
        """Switch to the built-in dataset ``kind`` (keeping the common settings); True if it happened."""
        current = self.state.experiment.dataset
        cfg: dict[str, Any] = {"kind": kind}
        cfg.update({p.name: current[p.name] for p in COMMON_PARAMS if p.name in current})
        return self._change_dataset(cfg, DATASETS[kind].task)

    @Slot(str, object)
    def _on_param_changed(self, name: str, value: Any) -> None:
        self.notice_label.hide()
        applied = try_update(self.state, "dataset", {name: value}, self.form, self.error)
        if applied is not True:
            self.form.set_values(self.state.experiment.dataset)

    @Slot()
    def import_csv(self) -> None:
        """Ask for a CSV file, then show the import wizard for it (the button; File > Import CSV…)."""
        start = str(Path(self.state.experiment.dataset.get("path") or Path.home()).parent)
        path, _ = QFileDialog.getOpenFileName(self, "Import a CSV file", start, CSV_FILTER)
        if path:
            self.open_csv_wizard(path)
        else:
            self._sync()

    def open_csv_wizard(self, path: str) -> CsvImportDialog:
        """Show the import wizard for ``path`` (window-modal, the window keeps painting); Import
        makes its choices the dataset."""
        current = self.state.experiment.dataset
        same_file = current["kind"] == CSV_KIND and current.get("path") == path
        dialog = CsvImportDialog(path, current if same_file else None, self)
        dialog.accepted.connect(lambda: self._apply_wizard(dialog))
        dialog.rejected.connect(self._sync)
        self.wizard = dialog
        dialog.open()
        return dialog

    def _apply_wizard(self, dialog: CsvImportDialog) -> None:
        if dialog.table is None:  # Import is enabled only once the whole file was checked
            return
        current = self.state.experiment.dataset
        cfg = dialog.config()
        cfg.update({p.name: current[p.name] for p in COMMON_PARAMS if p.name in current})
        if self._change_dataset(cfg, dialog.table.task) and dialog.table.notes:
            text = "\n".join(
                [self.notice_label.text() if not self.notice_label.isHidden() else "", *dialog.table.notes]
            )
            self.notice_label.setText(text.strip())
            self.notice_label.show()
        self.source_box.hide()

    def load_csv(self, path: str, target_column: str | None = None, task: str | None = None) -> bool:
        """Use the CSV file at ``path`` as the dataset; errors show in the panel. True if loaded.

        The same file keeps its chosen features (the old target joins them in place of the new one)
        and missing-value policy."""
        current = self.state.experiment.dataset
        cfg: dict[str, Any] = {"kind": CSV_KIND, "path": path, "target_column": target_column, "task": task}
        if current["kind"] == CSV_KIND and current.get("path") == path:
            features = current.get("features")
            if features is not None:
                old_target = current.get("target_column")
                features = [f for f in features if f != target_column]
                if old_target and old_target != target_column and old_target not in features:
                    features.append(old_target)
            cfg.update(features=features, missing=current.get("missing", "error"))
        cfg.update({p.name: current[p.name] for p in COMMON_PARAMS if p.name in current})
        try:
            table = read_csv_table(
                path, target_column, task, cfg.get("features"), cfg.get("missing", "error")
            )
        except LossLabError as exc:
            self.error.show_message(error_message(exc))
            self._sync()
            return False
        cfg["sha256"] = table.sha256
        return self._change_dataset(cfg, table.task)

    @Slot(int)
    def _on_csv_option(self, _index: int) -> None:
        cfg = self.state.experiment.dataset
        target = self.target_combo.currentData()
        task = self.task_combo.currentData()
        if target == cfg.get("target_column") and task == cfg.get("task"):
            return
        if not self.load_csv(cfg["path"], target, task):
            self._sync()

    def _check_source(self, announce: bool = True) -> None:
        """Say so when the opened experiment's CSV is missing or changed since it was imported."""
        problem = csv_source_problem(self.state.experiment.dataset)
        if problem is None:
            self.source_box.hide()
            return
        text = problem.message[0].upper() + problem.message[1:] + "."
        self.source_label.show_message(text)
        self.source_button.setVisible(not problem.missing)
        self.source_box.show()
        if announce:
            self.notice.emit(text)

    @Slot()
    def _keep_changed_source(self) -> None:
        path = str(self.state.experiment.dataset.get("path") or "")
        try:
            applied = self.state.update("dataset", sha256=file_sha256(path))
        except LossLabError as exc:
            self.source_label.show_message(str(exc))
            return
        if applied:
            self.source_box.hide()

    def _change_dataset(self, cfg: dict[str, Any], task: str) -> bool:
        """Replace the whole dataset section, switching the loss as well if it does not fit ``task``."""
        self.notice_label.hide()
        doc = self.state.experiment.to_dict()
        doc["dataset"] = cfg
        sections: tuple[str, ...] = ("dataset",)
        old_loss = resolve_loss(doc["loss"])  # a custom loss declares its own tasks
        new_loss: LossSpec | None = None
        if task and task not in old_loss.tasks:
            new_loss = first_fitting_loss(task)
            if new_loss is None:
                self.error.show_message(f"No loss in LossLab fits {TASKS.get(task, task)} data.")
                self._sync()
                return False
            doc["loss"] = {"id": new_loss.id, "params": {}}
            sections = ("dataset", "loss")
        try:
            experiment = Experiment.from_dict(doc)
            applied = self.state.set_experiment_sections(experiment, sections)
        except LossLabError as exc:
            show_error(exc, self.form, self.error)
            self._sync()
            return False
        if not applied:
            self._sync()
            return False
        self.error.clear_message()
        self.form.clear_error()
        if new_loss is not None:
            message = (
                f"Loss switched to {new_loss.name}: {old_loss.name} does not fit "
                f"{TASKS.get(task, task).lower()}."
            )
            self.notice_label.setText(message)
            self.notice_label.show()
            self.notice.emit(message)
        return True

    # -- preview ----------------------------------------------------------------------------
    def set_theme(self, dark: bool) -> None:
        """Re-colour the preview for a light or dark scheme (like the live plot views)."""
        self._dark = dark
        self._style_plot()
        self._draw_current()

    def _style_plot(self) -> None:
        pal = palette_colors(self._dark)
        self.plot.setBackground(pal["background"])
        style_plot_item(self.plot.getPlotItem(), self._dark)

    def _draw_current(self) -> None:
        try:
            dataset = self.state.dataset
        except LossLabError as exc:
            self.plot.clear()
            self.caption.setText(str(exc))
            return
        self._draw(dataset)
        self._sync_csv_info(dataset)

    def _draw(self, ds: Dataset) -> None:
        plot = self.plot
        plot.clear()
        self._image_axes(ds.image_shape is not None)
        if ds.image_shape is not None:
            self._draw_images(ds)
            return
        pal = palette_colors(self._dark)
        x_tr, x_va = ds.x_to_display(ds.x_train), ds.x_to_display(ds.x_val)
        y_tr, y_va = np.asarray(ds.y_to_display(ds.y_train)), np.asarray(ds.y_to_display(ds.y_val))
        i_tr, i_va = _thin(len(x_tr)), _thin(len(x_va))
        x_tr, y_tr, o_tr = x_tr[i_tr], y_tr[i_tr], ds.outliers_train[i_tr]
        x_va, y_va, o_va = x_va[i_va], y_va[i_va], ds.outliers_val[i_va]
        names = ds.feature_names
        classification = ds.task in (BINARY, MULTICLASS)
        two_d = ds.n_features >= 2

        if ds.task not in (BINARY, MULTICLASS, REGRESSION) and not two_d:
            self._draw_histogram(x_tr[:, 0], x_va[:, 0], names[0] if names else "x", pal["smooth"])
        else:
            if two_d:
                px_tr, py_tr, px_va, py_va = x_tr[:, 0], x_tr[:, 1], x_va[:, 0], x_va[:, 1]
                labels = (names[0], names[1])
            else:
                px_tr, py_tr, px_va, py_va = x_tr[:, 0], y_tr, x_va[:, 0], y_va
                labels = (names[0] if names else "x", ds.target_name or "y")
            colors_tr = self._colors(ds, y_tr, y_tr, y_va, classification, two_d, pal)
            colors_va = self._colors(ds, y_va, y_tr, y_va, classification, two_d, pal)
            self._scatter(px_tr, py_tr, colors_tr, filled=True)
            self._scatter(px_va, py_va, colors_va, filled=False)
            marked_x = np.concatenate([px_tr[o_tr], px_va[o_va]])
            marked_y = np.concatenate([py_tr[o_tr], py_va[o_va]])
            if len(marked_x):
                plot.addItem(
                    pg.ScatterPlotItem(
                        marked_x,
                        marked_y,
                        size=11,
                        symbol="o",
                        pen=pg.mkPen(pal["outlier"], width=1.4),
                        brush=None,
                    )
                )
            plot.setLabel("bottom", labels[0])
            plot.setLabel("left", labels[1])
        plot.enableAutoRange()

        histogram = ds.task not in (BINARY, MULTICLASS, REGRESSION) and not two_d
        parts = [
            f"{ds.n_train} training (filled)",
            f"{ds.n_val} validation ({'dashed' if histogram else 'hollow'})",
        ]
        marked = int(ds.outliers_train.sum() + ds.outliers_val.sum())
        if marked:
            what = "flipped labels" if classification else "outliers"
            parts.append(f"{marked} {what} (ringed)")
        if classification:
            parts.append(f"{max(ds.n_classes, 2)} classes")
        elif ds.task == REGRESSION and two_d:
            parts.append(f"colour = {ds.target_name or 'target'}")
        self.caption.setText(" · ".join(parts))

    def _colors(
        self,
        ds: Dataset,
        y: np.ndarray,
        y_tr: np.ndarray,
        y_va: np.ndarray,
        classification: bool,
        two_d: bool,
        pal: dict[str, Any],
    ) -> list[Any]:
        if classification:
            classes = [pg.mkColor(c) for c in pal["classes"]]
            return [classes[int(c) % len(classes)] for c in y]
        if ds.task == REGRESSION and two_d and len(y):
            both = np.concatenate([y_tr, y_va])
            lo, hi = float(both.min()), float(both.max())
            scaled = (y - lo) / (hi - lo) if hi > lo else np.zeros(len(y))
            cmap = pg.colormap.get("viridis")
            return list(cmap.mapToQColor(scaled))
        return [pg.mkColor(pal["smooth"])] * len(y)

    def _scatter(self, x: np.ndarray, y: np.ndarray, colors: list[Any], filled: bool) -> None:
        """Points in their colours: one item per colour where there are few (classes), as a pen or
        brush per point cost pyqtgraph ~30 ms per 1,000 points (most of opening a file)."""
        if not len(x):
            return
        keys = np.array([c.rgba() for c in colors], dtype=np.uint64)
        unique = np.unique(keys)
        if len(unique) <= MAX_COLOR_ITEMS:
            for key in unique:
                where = keys == key
                color = colors[int(np.argmax(where))]
                self.plot.addItem(self._scatter_item(x[where], y[where], color, filled))
        else:  # a colour scale (2-D regression): a colour per point
            self.plot.addItem(self._scatter_item(x, y, colors, filled))

    @staticmethod
    def _scatter_item(x: np.ndarray, y: np.ndarray, color: Any, filled: bool) -> pg.ScatterPlotItem:
        """Filled (training) or hollow (validation) points; ``color`` one QColor or one per point."""
        many = isinstance(color, list)
        if filled:
            brush = [pg.mkBrush(c) for c in color] if many else pg.mkBrush(color)
            return pg.ScatterPlotItem(x, y, size=5, pen=None, brush=brush)
        pen = [pg.mkPen(c, width=1.2) for c in color] if many else pg.mkPen(color, width=1.2)
        return pg.ScatterPlotItem(x, y, size=6, pen=pen, brush=pg.mkBrush(0, 0, 0, 0))

    def _image_axes(self, images: bool) -> None:
        """Pictures want square pixels, the first row on top and no axes; points want the opposite."""
        pi = self.plot.getPlotItem()
        pi.invertY(images)
        pi.setAspectLocked(images)
        for side in ("left", "bottom"):
            pi.showAxis(side, not images)

    def _draw_images(self, ds: Dataset) -> None:
        """The first training images side by side (IMAGE_COLUMNS a row), on one grey scale."""
        assert ds.image_shape is not None
        _, h, w = ds.image_shape
        n = min(ds.n_train, 2 * IMAGE_COLUMNS)
        images = ds.x_to_display(ds.x_train[:n]).reshape(n, -1, h, w)[:, 0]
        lo, hi = np.percentile(images, [1, 99]) if n else (0.0, 1.0)
        rows = -(-n // IMAGE_COLUMNS)
        mosaic = np.full((rows * (h + 1), IMAGE_COLUMNS * (w + 1)), hi)  # a light line between images
        for i, image in enumerate(images):
            r, c = divmod(i, IMAGE_COLUMNS)
            mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = image
        self.plot.addItem(pg.ImageItem(mosaic, axisOrder="row-major", levels=(lo, hi)))
        self.plot.getPlotItem().autoRange(padding=0.02)

    def _draw_histogram(self, x_tr: np.ndarray, x_va: np.ndarray, name: str, color: str) -> None:
        both = np.concatenate([x_tr, x_va]) if len(x_va) else x_tr
        edges = np.histogram_bin_edges(both, bins=40)
        counts, _ = np.histogram(x_tr, bins=edges)
        fill = pg.mkColor(color)
        fill.setAlpha(110)
        self.plot.addItem(
            pg.PlotCurveItem(
                edges, counts, stepMode="center", fillLevel=0, brush=pg.mkBrush(fill), pen=pg.mkPen(color)
            )
        )
        if len(x_va):
            counts_va, _ = np.histogram(x_va, bins=edges)
            self.plot.addItem(
                pg.PlotCurveItem(
                    edges, counts_va, stepMode="center", pen=pg.mkPen(color, style=Qt.PenStyle.DashLine)
                )
            )
        self.plot.setLabel("bottom", name)
        self.plot.setLabel("left", "count")
