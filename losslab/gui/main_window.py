"""The LossLab window: panels in docks around the live plots, menus, toolbar, status bar, files.

Data flows one way: panels edit the ExperimentState -> Train hands the experiment to a core
Trainer running in the TrainingController's thread -> its events queue up -> once per frame (a
timer paced by pacing.py) they are delivered as signals and the plots redraw.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QEventLoop, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from losslab.core.errors import LossLabError
from losslab.core.experiment import SUFFIX, Experiment, load_experiment
from losslab.core.resources import list_examples
from losslab.gui.actions import ACTIONS
from losslab.gui.export import export_curves_csv, export_plot
from losslab.gui.pacing import PROBE_BUDGET, FramePacer
from losslab.gui.panels.dataset import DatasetPanel
from losslab.gui.panels.layers import LayerPanel
from losslab.gui.panels.loss import LossPanel
from losslab.gui.panels.optimizer import OptimizerPanel
from losslab.gui.plots.loss_plot import LossView
from losslab.gui.plots.metric_plot import MetricPlot
from losslab.gui.plots.task_view import TaskView
from losslab.gui.state import ExperimentState
from losslab.gui.theme import apply_plot_theme
from losslab.gui.views import VIEWS
from losslab.gui.worker import TrainingController

MAX_RECENT = 8
FILE_FILTER = f"LossLab experiments (*{SUFFIX});;All files (*)"


def example_title(path: Path) -> str:
    """The example's own name (its "name" field), falling back to the file name."""
    try:
        name = json.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else path.stem.replace("_", " ")


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, defer_views: bool = False) -> None:
        """``defer_views``: leave the extra tabs (views.py) for ``add_views()``, which app.main calls
        once the window has painted: some of them need torch, which takes seconds to import."""
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = settings if settings is not None else QSettings()
        self.setAcceptDrops(True)
        self.resize(1400, 880)
        apply_plot_theme(system_is_dark())

        self.state = ExperimentState(parent=self)
        self.state.edit_guard = self._confirm_stop_for_edit
        self.state.modifiedChanged.connect(self._update_title)
        self.state.changed.connect(self._on_state_changed)
        self.state.datasetChanged.connect(self._on_dataset_changed)
        self.path: Path | None = None
        self.trainer: Any = None
        self._finished = False  # the current trainer has run all its epochs
        self._divergence: Any = None  # a Diverged event whose run is still ending (see _on_finished)

        self.controller = TrainingController(self)
        self.controller.stepBatch.connect(self._on_steps)
        self.controller.epochEnded.connect(self._on_epoch)
        self.controller.diverged.connect(self._on_diverged)
        self.controller.notice.connect(self._on_notice)
        self.controller.view.connect(self._on_view)
        self.controller.probe.connect(self._on_probe_event)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.runningChanged.connect(self._update_actions)

        self._build_actions()
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._build_status_bar()
        self._default_state = self.saveState()
        self._restore_settings()

        # One timer draws every frame: the run's events are taken in, the views redraw. While training,
        # the pacer sets its interval so drawing leaves the training thread the GIL (see pacing.py).
        self.pacer = FramePacer()
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(self.pacer.idle())
        self._redraw_timer.timeout.connect(self._on_frame)
        self._redraw_timer.start()
        self._status = {"epoch": 0, "step": 0, "rate": 0.0, "elapsed": 0.0}

        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme)
        self._new_plots()
        self._update_lesson()
        self._update_title()
        self._update_actions()
        if not defer_views:
            self.add_views()

    # -- construction -----------------------------------------------------------------------
    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        for spec in ACTIONS:
            action = QAction(spec.text, self)
            action.setObjectName(spec.name)
            if spec.shortcut is not None:
                action.setShortcut(QKeySequence(spec.shortcut))
            if spec.icon is not None:
                action.setIcon(self.style().standardIcon(spec.icon))
            shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{spec.tip} ({shortcut})" if shortcut else spec.tip)
            action.setStatusTip(spec.tip)
            self.actions_by_name[spec.name] = action
            setattr(self, spec.name, action)
        self.actionPause.setCheckable(True)
        self.actionNew.triggered.connect(self.new_experiment)
        self.actionOpen.triggered.connect(self.open_dialog)
        self.actionSave.triggered.connect(self.save)
        self.actionSaveAs.triggered.connect(self.save_as)
        self.actionExportPlot.triggered.connect(self.export_plot_dialog)
        self.actionExportCsv.triggered.connect(self.export_csv_dialog)
        self.actionQuit.triggered.connect(self.close)
        self.actionTrain.triggered.connect(self.train)
        self.actionPause.triggered.connect(self.toggle_pause)
        self.actionStep.triggered.connect(self.step_once)
        self.actionStop.triggered.connect(self.stop)
        self.actionReset.triggered.connect(self.reset_weights)
        self.actionRestoreLayout.triggered.connect(self.restore_default_layout)
        self.actionHelp.triggered.connect(self.show_help)
        self.actionAbout.triggered.connect(self.show_about)
        # Undo/redo come from the model-edit stack so their text says what they undo.
        undo = self.state.undo_stack.createUndoAction(self, "&Undo")
        redo = self.state.undo_stack.createRedoAction(self, "&Redo")
        for new, old in ((undo, self.actionUndo), (redo, self.actionRedo)):
            new.setObjectName(old.objectName())
            new.setShortcut(old.shortcut())
            setattr(self, old.objectName(), new)
            self.actions_by_name[old.objectName()] = new

    def _build_central(self) -> None:
        self.loss_view = LossView()
        self.loss_plot = self.loss_view.plot
        self.metric_plot = MetricPlot()
        self.task_view = TaskView()
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.loss_view)
        right.addWidget(self.metric_plot)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("trainingSplitter")
        split.addWidget(self.task_view)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        self.views = QTabWidget()
        self.views.setObjectName("views")
        self.views.setDocumentMode(True)
        self.views.addTab(split, "Training")
        self.extra_views: list[QWidget] = []
        # What the open example teaches, above the plots; hidden when there is nothing to say.
        self.lesson = QLabel()
        self.lesson.setObjectName("lessonBar")
        self.lesson.setWordWrap(True)
        self.lesson.setTextFormat(Qt.TextFormat.RichText)
        self.lesson.setMargin(8)
        self.lesson.setStyleSheet("#lessonBar { background: palette(alternate-base); border-radius: 4px }")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 0)
        layout.addWidget(self.lesson)
        layout.addWidget(self.views, 1)
        self.setCentralWidget(central)

    def add_views(self) -> None:
        """Build the registered extra views as tabs beside "Training" (once)."""
        if self.extra_views:
            return
        for view_def in VIEWS:
            view = view_def.factory(self)
            view.setObjectName(view_def.object_name)
            self.views.addTab(view, view_def.title)
            self.extra_views.append(view)
        self._notify_views("reset", self.state.dataset)
        if self.trainer is not None:
            self._notify_views("set_trainer", self.trainer)

    def _build_docks(self) -> None:
        self.dataset_panel = DatasetPanel(self.state)
        self.layer_panel = LayerPanel(self.state)
        self.loss_panel = LossPanel(self.state)
        self.optimizer_panel = OptimizerPanel(self.state)
        self.dataset_panel.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.docks: dict[str, QDockWidget] = {}
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        for name, title, widget, area in (
            ("datasetPanel", "Dataset", self.dataset_panel, left),
            ("layerPanel", "Layers", self.layer_panel, left),
            ("lossPanel", "Loss", self.loss_panel, right),
            ("optimizerPanel", "Optimizer", self.optimizer_panel, right),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            dock.setMinimumWidth(300)
            self.addDockWidget(area, dock)
            self.docks[name] = dock

    def _build_menus(self) -> None:
        a = self.actions_by_name
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addActions([a["actionNew"], a["actionOpen"]])
        self.recent_menu = file.addMenu("Open &Recent")
        self.examples_menu = file.addMenu("&Examples")
        self._fill_examples_menu()
        file.addSeparator()
        file.addActions([a["actionSave"], a["actionSaveAs"]])
        file.addSeparator()
        file.addActions([a["actionExportPlot"], a["actionExportCsv"]])
        file.addSeparator()
        file.addAction(a["actionQuit"])
        edit = bar.addMenu("&Edit")
        edit.addActions([a["actionUndo"], a["actionRedo"]])
        train = bar.addMenu("&Train")
        train.addActions(
            [a[n] for n in ("actionTrain", "actionPause", "actionStep", "actionStop", "actionReset")]
        )
        view = bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(a["actionRestoreLayout"])
        helpm = bar.addMenu("&Help")
        helpm.addActions([a["actionHelp"], a["actionAbout"]])

        toolbar = QToolBar("Training", self)
        toolbar.setObjectName("trainingToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions(
            [a[n] for n in ("actionTrain", "actionPause", "actionStep", "actionStop", "actionReset")]
        )
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self._update_recent_menu()

    def _build_status_bar(self) -> None:
        self.status_labels: dict[str, QLabel] = {}
        for key in ("epoch", "step", "rate", "device", "elapsed"):
            label = QLabel()
            label.setObjectName(f"status_{key}")
            label.setMinimumWidth(90)
            self.statusBar().addPermanentWidget(label)
            self.status_labels[key] = label
        self.status_labels["device"].setText("device: –")

    def _fill_examples_menu(self) -> None:
        self.examples_menu.clear()
        for path in list_examples():
            action = self.examples_menu.addAction(example_title(path))
            action.setToolTip(str(path))
            action.triggered.connect(lambda checked=False, p=path: self.open_file(p, as_example=True))
        self.examples_menu.setEnabled(bool(self.examples_menu.actions()))

    # -- settings ---------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    @Slot()
    def restore_default_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember_recent(self, path: Path) -> None:
        files = [str(path)] + [f for f in self.recent_files() if f != str(path)]
        self.settings.setValue("recentFiles", files[:MAX_RECENT])
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        for f in self.recent_files():
            action = self.recent_menu.addAction(Path(f).name)
            action.setToolTip(f)
            action.triggered.connect(lambda checked=False, p=f: self.open_file(Path(p)))
        self.recent_menu.setEnabled(bool(self.recent_menu.actions()))

    # -- files ------------------------------------------------------------------------------
    def _confirm_discard(self) -> bool:
        """True when it is fine to replace the current experiment (saved, or the user said so)."""
        if not self.state.modified:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            "The experiment has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def _load(self, experiment: Experiment, path: Path | None, modified: bool = False) -> None:
        self.controller.stop()
        self._set_trainer(None)
        self.state.replace_experiment(experiment, modified=modified)
        self.path = path
        self._new_plots()
        self._update_title()
        self._update_actions()

    @Slot()
    def new_experiment(self) -> None:
        if self._confirm_discard():
            self._load(Experiment.default(), None)

    @Slot()
    def open_dialog(self) -> None:
        start = str(self.path.parent) if self.path else ""
        name, _ = QFileDialog.getOpenFileName(self, "Open experiment", start, FILE_FILTER)
        if name:
            self.open_file(Path(name))

    def open_file(self, path: Path, as_example: bool = False) -> bool:
        """Open an experiment; problems are reported in a dialog. Examples open as untitled copies."""
        if not self._confirm_discard():
            return False
        try:
            experiment = load_experiment(path)
        except LossLabError as exc:
            QMessageBox.warning(self, "Cannot open experiment", str(exc))
            return False
        from losslab.gui.trust_dialog import confirm_trust

        if not confirm_trust(self, experiment, Path(path)):  # code from elsewhere never runs silently
            self.statusBar().showMessage(f"Did not open {Path(path).name}: its code was not trusted", 6000)
            return False
        self._load(experiment, None if as_example else Path(path))
        if not as_example:
            self._remember_recent(Path(path))
        self.statusBar().showMessage(f"Opened {Path(path).name}", 4000)
        return True

    @Slot()
    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    @Slot()
    def save_as(self) -> bool:
        start = str(self.path) if self.path else "untitled" + SUFFIX
        name, _ = QFileDialog.getSaveFileName(self, "Save experiment", start, FILE_FILTER)
        if not name:
            return False
        path = Path(name)
        if path.suffix != SUFFIX:
            path = path.with_suffix(SUFFIX)
        return self.save_to(path)

    def save_to(self, path: Path) -> bool:
        try:
            self.state.experiment.save(path)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot save", f"Could not write {path}: {exc.strerror or exc}")
            return False
        self.path = path
        self.state.mark_saved()
        self._remember_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def _plot_for_export(self) -> Any:
        focus = QGuiApplication.focusObject() if QGuiApplication.instance() else None
        for candidate in (self.metric_plot, self.task_view):
            if isinstance(focus, QWidget) and (focus is candidate or candidate.isAncestorOf(focus)):
                return candidate
        return self.loss_plot

    @Slot()
    def export_plot_dialog(self) -> None:
        plot = self._plot_for_export()
        name, _ = QFileDialog.getSaveFileName(
            self, "Export plot", f"{plot.objectName()}.png", "PNG image (*.png);;SVG drawing (*.svg)"
        )
        if name:
            try:
                export_plot(plot, Path(name))
            except (OSError, LossLabError) as exc:
                QMessageBox.warning(self, "Cannot export", str(exc))

    @Slot()
    def export_csv_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export curves", "curves.csv", "CSV (*.csv)")
        if name:
            curves = {**self.loss_view.curves(), **self.metric_plot.curves()}
            try:
                export_curves_csv(curves, Path(name))
            except (OSError, LossLabError) as exc:
                QMessageBox.warning(self, "Cannot export", str(exc))

    # -- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and urls[0].toLocalFile().endswith(SUFFIX):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls:
            event.acceptProposedAction()
            # Open after the drop returns, so a dialog does not block the drag source.
            path = Path(urls[0].toLocalFile())
            QTimer.singleShot(0, lambda: self.open_file(path))

    # -- training ---------------------------------------------------------------------------
    def _set_trainer(self, trainer: Any) -> None:
        self.trainer = trainer
        self._notify_views("set_trainer", trainer)

    def _make_trainer(self) -> Any:
        from losslab.core.trainer import make_trainer

        return make_trainer(self.state.experiment, self.state.dataset, diagnostics_budget=PROBE_BUDGET)

    @Slot()
    def train(self) -> None:
        if self.controller.running:
            if self.controller.paused:
                self.controller.resume()
                self.actionPause.setChecked(False)
            return
        self._start(paused=False)

    def _start(self, paused: bool) -> None:
        if self.trainer is None or self._finished:
            try:
                QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
                try:
                    trainer = self._make_trainer()
                    for view in self.extra_views:
                        if hasattr(view, "make_probes"):
                            trainer.probes += view.make_probes(trainer)
                finally:
                    QGuiApplication.restoreOverrideCursor()
            except LossLabError as exc:
                QMessageBox.warning(self, "Cannot train", str(exc))
                return
            self._finished = False
            self._new_plots()
            self._set_trainer(trainer)
            self._notify_views("redraw")  # views say now whether they watch its per-sample probe
            self.status_labels["device"].setText(f"device: {self.trainer.device}")
            # Lay out and paint the cleared plots now (no user input taken): once the training thread
            # runs, every paint competes with it for the GIL.
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
        self.controller.start(
            self.trainer, view_fn=TaskView.view_function(self.trainer.dataset), paused=paused
        )
        self.actionPause.setChecked(paused)

    @Slot()
    def toggle_pause(self) -> None:
        if not self.controller.running:
            self.actionPause.setChecked(False)
            return
        if self.controller.paused:
            self.controller.resume()
        else:
            self.controller.pause()
            self._redraw_timer.start(self.pacer.idle())  # the paused state shows at once, not a frame later
        self.actionPause.setChecked(self.controller.paused)
        self._update_actions()

    @Slot()
    def step_once(self) -> None:
        if not self.controller.running:
            self._start(paused=True)
        if self.controller.running:
            self.controller.step_once()
            self.actionPause.setChecked(True)
            self._update_actions()

    @Slot()
    def stop(self) -> None:
        self.controller.stop()

    @Slot()
    def reset_weights(self) -> None:
        self.controller.stop()
        self._set_trainer(None)
        self._new_plots()
        self.statusBar().showMessage("Weights reset: the next run starts from fresh weights", 4000)

    def _new_plots(self) -> None:
        dataset = self.state.dataset
        self.loss_view.reset()
        self.metric_plot.reset(dataset.task)
        self.task_view.set_dataset(dataset)
        self._notify_views("reset", dataset)
        self._status = {"epoch": 0, "step": 0, "rate": 0.0, "elapsed": 0.0}
        self._update_status()

    def _confirm_stop_for_edit(self, section: str) -> bool:
        """Edit guard: a structural edit during a run asks to stop it; it never touches the running one."""
        if not self.controller.running and self.trainer is None:
            return True
        if self.controller.running:
            answer = QMessageBox.question(
                self,
                "Stop training?",
                f"Training is in progress. Changing the {section} needs a fresh run.\n\n"
                "Stop the current run and apply the change?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            self.controller.stop()
        self._set_trainer(None)  # the old weights belong to the old set-up
        return True

    def _notify_views(self, method: str, *args: Any) -> None:
        for view in self.extra_views:
            handler = getattr(view, method, None)
            if handler is not None:
                handler(*args)

    # -- events from the worker -------------------------------------------------------------
    @Slot(object)
    def _on_steps(self, batch: Any) -> None:
        self.loss_view.add_steps(batch)
        self._notify_views("on_steps", batch)
        self._status.update(step=int(batch.steps[-1]), rate=batch.steps_per_second, elapsed=batch.elapsed)

    @Slot(object)
    def _on_epoch(self, event: Any) -> None:
        self.loss_view.add_epoch(event)
        self.metric_plot.add_epoch(event)
        self._notify_views("on_epoch", event)
        self._status.update(epoch=event.epoch, step=event.step, elapsed=event.elapsed)

    @Slot(object)
    def _on_view(self, payload: Any) -> None:
        self.task_view.set_view(payload)

    @Slot(object)
    def _on_probe_event(self, event: Any) -> None:
        # A probe's finding may carry a mark for the loss plot (overfitting began, the epoch early
        # stopping restored) and a line for the status bar (a gradient warning).
        mark = getattr(event, "loss_mark", None)
        if mark is not None:
            self.loss_view.mark(*mark)
        notice = getattr(event, "notice", "")
        if notice:
            self.statusBar().showMessage(notice, 12_000)
        self._notify_views("on_event", event)

    @Slot(object)
    def _on_diverged(self, event: Any) -> None:
        self.loss_view.mark(event.step, "diverged")
        self._finished = True
        self._divergence = event  # the way out is offered once the run's thread has ended

    def _offer_restore(self, event: Any) -> None:
        """The divergence dialog, with a button that restores the last good weights at half the rate."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Training diverged", event.message, parent=self)
        good = getattr(self.trainer, "last_good", None) if self.trainer is not None else None
        restore = None
        if good is not None:
            where = f"the weights from the end of epoch {good.epoch}" if good.epoch else "the initial weights"
            box.setInformativeText(
                f"Restore {where} and halve the learning rate, then press Train to go on from there. "
                "Or close this and change the settings: the next run starts from fresh weights."
            )
            restore = box.addButton(
                "Restore last good weights and halve the learning rate", QMessageBox.ButtonRole.AcceptRole
            )
            restore.setObjectName("restoreLastGood")
            box.setDefaultButton(restore)
        box.addButton(QMessageBox.StandardButton.Close)
        box.exec()
        if restore is not None and box.clickedButton() is restore:
            self.restore_last_good()

    def restore_last_good(self) -> bool:
        """After a divergence: the last good weights back, half the learning rate, the run resumable."""
        trainer = self.trainer
        if trainer is None or self.controller.running:
            return False
        good = trainer.restore_last_good(halve_lr=True)
        if good is None:
            return False
        lr = trainer.lr.base_lr
        # The panel shows it; the trainer has it already (and keeps it even below the panel's minimum).
        with contextlib.suppress(LossLabError):
            self.state.update("optimizer", lr=lr)
        self._finished = False
        self.loss_view.mark(trainer.step, "restored")
        where = "initial weights" if good.epoch == 0 else f"weights from epoch {good.epoch}"
        self.statusBar().showMessage(
            f"Restored the {where}; learning rate halved to {lr:g}. Press Train to go on.", 10_000
        )
        self._update_actions()
        return True

    @Slot(str)
    def _on_notice(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    @Slot(object)
    def _on_finished(self, result: Any) -> None:
        if result is not None and not result.stopped and result.diverged is None:
            self._finished = True
            early = getattr(result, "early_stop", None)
            done = f"{early.notice} " if early is not None else "Training finished. "
            self.statusBar().showMessage(done + "Train again to start over from fresh weights.", 10_000)
        self._redraw()
        self._update_actions()
        divergence, self._divergence = self._divergence, None
        if divergence is not None:
            self._offer_restore(divergence)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Critical, "Training failed", message, parent=self)
        if details:
            box.setInformativeText("This is a bug in LossLab. The details below help us fix it.")
            box.setDetailedText(details)
        box.exec()

    # -- periodic redraw --------------------------------------------------------------------
    @Slot()
    def _on_frame(self) -> None:
        controller = self.controller
        controller.deliver()
        self._redraw()
        if controller.running:
            controller.request_view()  # predictions come with the next step report, one per frame
        live = controller.running and not controller.paused
        rate = self._status["rate"]
        self._redraw_timer.setInterval(self.pacer.next_interval(rate) if live else self.pacer.idle())

    def _redraw(self) -> None:
        self.loss_view.redraw()
        self.metric_plot.redraw()
        self._notify_views("redraw")
        self._update_status()

    def _update_status(self) -> None:
        s = self._status
        total = self.state.experiment.training["epochs"]
        self.status_labels["epoch"].setText(f"epoch {s['epoch']}/{total}")
        self.status_labels["step"].setText(f"step {s['step']:,}")
        rate = s["rate"] if self.controller.running and not self.controller.paused else 0.0
        self.status_labels["rate"].setText(f"{rate:,.0f} steps/s" if math.isfinite(rate) else "")
        self.status_labels["elapsed"].setText(f"{s['elapsed']:.1f} s")

    # -- state ------------------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section == "optimizer" and self.trainer is not None:
            # The learning rate applies at once, mid-run, without a reset.
            lr = self.state.experiment.optimizer["lr"]
            if self.controller.running:
                self.controller.set_learning_rate(lr)
            else:
                self.trainer.set_learning_rate(lr)
        if section in ("training", "all"):
            self._update_status()
        if section == "all":
            self._update_lesson()

    @Slot(object)
    def _on_dataset_changed(self, dataset: Any) -> None:
        if not self.controller.running:
            self._new_plots()

    @Slot()
    def _update_actions(self, *_: Any) -> None:
        running = self.controller.running
        paused = self.controller.paused
        self.actionTrain.setText("&Resume" if running and paused else "&Train")
        self.actionTrain.setEnabled(not running or paused)
        self.actionPause.setEnabled(running)
        self.actionPause.setChecked(paused)
        self.actionStop.setEnabled(running)
        self.actionReset.setEnabled(running or self.trainer is not None)
        # Model edits during a run would ask to stop it; undoing them then is more confusing than useful.
        self.actionUndo.setEnabled(not running and self.state.undo_stack.canUndo())
        self.actionRedo.setEnabled(not running and self.state.undo_stack.canRedo())

    def _update_lesson(self) -> None:
        exp = self.state.experiment
        if exp.description:
            self.lesson.setText(f"<b>{html.escape(exp.name)}</b> — {html.escape(exp.description)}")
        self.lesson.setVisible(bool(exp.description))

    @Slot()
    def _update_title(self, *_: Any) -> None:
        name = self.path.name if self.path else (self.state.experiment.name or "Untitled")
        self.setWindowTitle(f"{name}[*] — LossLab")
        self.setWindowModified(self.state.modified)

    @Slot()
    def _on_color_scheme(self, *_: Any) -> None:
        dark = system_is_dark()
        apply_plot_theme(dark)
        self.dataset_panel.set_theme(dark)
        for plot in (self.loss_view, self.metric_plot, self.task_view):
            plot.set_theme(dark)
        self._notify_views("apply_theme")

    # -- help -------------------------------------------------------------------------------
    @Slot()
    def show_help(self) -> None:
        from losslab.gui.help import HelpWindow

        if getattr(self, "_help", None) is None:
            self._help = HelpWindow(self)
        self._help.show()
        self._help.raise_()

    @Slot()
    def show_about(self) -> None:
        from losslab.gui.help import about_text

        device = self.trainer.device if self.trainer is not None else None
        QMessageBox.about(self, "About LossLab", about_text(device))

    # -- closing ----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_discard():
            event.ignore()
            return
        self._redraw_timer.stop()
        # Ask the run to stop and wait for its thread; never terminate() a thread.
        if not self.controller.stop(wait_ms=10_000):
            QMessageBox.warning(self, "Still stopping", "Training did not stop in time; try closing again.")
            self._redraw_timer.start()
            event.ignore()
            return
        self._save_settings()
        event.accept()
