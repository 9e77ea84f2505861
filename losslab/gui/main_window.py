"""The LossLab window: panels in docks around the tabs of views, menus, toolbar, status bar.

Data flows one way: panels edit the ExperimentState -> Train (run_control.py) hands the
experiment to a core Trainer running in the TrainingController's thread -> its events queue up ->
once per frame (a timer paced by pacing.py) they are delivered as signals and handed to every view
(views.ViewHost), which redraw.

The window only composes: the views (the Training tab, plots/training_view.py, then the registered
ones of views.py) get a view_api.ViewServices; files.py opens and saves, run_control.py trains,
menus.py builds the actions, menus and toolbar. What is left here is the layout (docks, tabs, the
lesson bar, the status bar), its settings, the frame timer, the title, the colour scheme and closing.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from losslab.gui.background import cancel_all
from losslab.gui.files import ExperimentFiles
from losslab.gui.menus import build_actions, build_menus
from losslab.gui.pacing import FramePacer
from losslab.gui.panels.dataset import DatasetPanel
from losslab.gui.panels.discriminator import DiscriminatorPanel
from losslab.gui.panels.layers import LayerPanel
from losslab.gui.panels.loss import LossPanel
from losslab.gui.panels.optimizer import OptimizerPanel
from losslab.gui.plots.training_view import TrainingView
from losslab.gui.run_control import RunControl
from losslab.gui.state import ExperimentState
from losslab.gui.theme import apply_plot_theme
from losslab.gui.theme_choice import ThemeChoice
from losslab.gui.view_api import ViewBase, ViewServices
from losslab.gui.views import ViewHost

if TYPE_CHECKING:
    from losslab.core.trainer import Trainer
    from losslab.gui.worker import TrainingController


LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
# The dock panels: (window attribute, objectName, title, panel class, area). A panel is built with the
# ExperimentState and edits it; it never talks to another panel or to a view.
DOCKS: tuple[tuple[str, str, str, Callable[[ExperimentState], QWidget], Qt.DockWidgetArea], ...] = (
    ("dataset_panel", "datasetPanel", "Dataset", DatasetPanel, LEFT),
    ("layer_panel", "layerPanel", "Layers", LayerPanel, LEFT),
    ("loss_panel", "lossPanel", "Loss", LossPanel, RIGHT),
    ("optimizer_panel", "optimizerPanel", "Optimizer", OptimizerPanel, RIGHT),
    ("discriminator_panel", "discriminatorPanel", "Discriminator", DiscriminatorPanel, LEFT),
)


class MainWindow(QMainWindow):
    # Set from DOCKS by _build_docks.
    dataset_panel: DatasetPanel
    layer_panel: LayerPanel
    loss_panel: LossPanel
    optimizer_panel: OptimizerPanel
    discriminator_panel: DiscriminatorPanel

    def __init__(self, settings: QSettings | None = None, defer_views: bool = False) -> None:
        """``defer_views``: leave the extra tabs (views.py) for ``add_views()``, which app.main calls
        once the window has painted: some of them need torch, which takes seconds to import."""
        super().__init__()
        self.setObjectName("mainWindow")
        self.settings = settings if settings is not None else QSettings()
        self.setAcceptDrops(True)
        self.resize(1400, 880)
        self.theme = ThemeChoice(self.settings, self)  # the OS scheme, or View > Theme's choice

        self.state = ExperimentState(parent=self)
        self.state.modifiedChanged.connect(self.update_title)
        self.state.changed.connect(self._on_state_changed)
        self.state.datasetChanged.connect(self._on_dataset_changed)
        self._help: QWidget | None = None
        self.run = RunControl(self)
        self.run.runStateChanged.connect(self.update_actions)
        self.files = ExperimentFiles(self, self.settings)
        self.services = ViewServices(
            self.state,
            trainer=lambda: self.run.trainer,
            running=lambda: self.run.running,
            show_message=self.show_message,
        )

        self.actions_by_name = build_actions(self)
        self._build_central()
        self._build_docks()
        from losslab.gui.classroom import ClassroomUI
        from losslab.gui.lessons import LessonsUI

        self.lessons_ui = LessonsUI(self)  # the Lessons dock (its start page) and Help > Lessons
        self.classroom = ClassroomUI(self)  # a file's locks, the presenter zoom, Step One Epoch
        build_menus(self, self.actions_by_name)
        self._build_status_bar()
        self._default_state = self.saveState()
        self._restore_settings()

        # One timer draws every frame: the run's events are taken in, the views redraw. While training,
        # the pacer sets its interval so drawing leaves the training thread the GIL (see pacing.py).
        self.pacer = FramePacer()
        self._framing = False  # within _on_frame: its paints do not end a hold (see event)
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setInterval(self.pacer.idle())
        self._redraw_timer.timeout.connect(self._on_frame)
        self._redraw_timer.start()

        self.theme.changed.connect(self._on_color_scheme)
        self.run.new_plots()
        self._update_lesson()
        self.update_title()
        self.update_actions()
        if not defer_views:
            self.add_views()

    # -- what others read -------------------------------------------------------------------
    @property
    def trainer(self) -> Trainer | None:
        return self.run.trainer

    @property
    def controller(self) -> TrainingController:
        return self.run.controller

    @property
    def path(self) -> Path | None:
        return self.files.path

    # -- construction -----------------------------------------------------------------------
    def _build_central(self) -> None:
        self.views = QTabWidget()
        self.views.setObjectName("views")
        self.views.setDocumentMode(True)
        self.host = ViewHost(self.views)
        self.training_view = TrainingView(self.services)
        self.host.add(self.training_view, "Training", "trainingView")
        self.loss_view = self.training_view.loss_view
        self.loss_plot = self.loss_view.plot
        self.metric_plot = self.training_view.metric_plot
        self.task_view = self.training_view.task_view
        self.extra_views: list[ViewBase] = []
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

    def add_views(self, in_turns: bool = False) -> None:
        """Build the registered extra views as tabs beside "Training" (once); ``in_turns``: one per
        turn of the event loop (start-up: the window stays responsive meanwhile)."""
        if self.extra_views:
            return

        def ready(view: ViewBase) -> None:
            self.extra_views.append(view)
            view.reset(self.state.dataset)
            if self.trainer is not None:
                view.set_trainer(self.trainer)

        if in_turns:
            self.host.add_registered_in_turns(
                self.services, ready, self.classroom.apply, hold=self._hold_for_view_turn
            )
            return
        for view in self.host.add_registered(self.services):
            ready(view)
        self.classroom.apply()  # a file may hide some of these tabs

    def _hold_for_view_turn(self) -> None:
        """Before a start-up turn builds or fills a tab while a run trains: the run waits until the
        turn is painted, and the next frame comes a whole interval later (drawn straight after the
        turn, the two froze the window for over 100 ms together)."""
        if self.controller.running:
            self.controller.hold_until_painted()
            self._redraw_timer.start()

    def _build_docks(self) -> None:
        panels = {attribute: make(self.state) for attribute, _, _, make, _ in DOCKS}
        for attribute, panel in panels.items():
            setattr(self, attribute, panel)  # window.dataset_panel, ...
        self.dataset_panel.notice.connect(lambda text: self.show_message(text, 8000))
        self.docks: dict[str, QDockWidget] = {}
        for attribute, name, title, _, area in DOCKS:
            widget = panels[attribute]
            dock = QDockWidget(title, self)
            dock.setObjectName(name)
            dock.setWidget(widget)
            dock.setMinimumWidth(300)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        # The compact network view, a tab over the layer builder (in the Dataset dock's place), so
        # the network can be watched while its layers are edited (plots/network_view.py).
        from losslab.gui.plots.network_view import NetworkView

        self.network_compact = self.host.attach(NetworkView(self.services, compact=True))
        net = QDockWidget("Network", self)
        net.setObjectName("networkDock")
        net.setWidget(self.network_compact)
        self.addDockWidget(LEFT, net)
        self.tabifyDockWidget(self.docks["datasetPanel"], net)
        self.docks["datasetPanel"].raise_()
        self.docks["networkDock"] = net
        # A GAN's second network, a tab beside the generator's layers (panels/discriminator.py).
        self.tabifyDockWidget(self.docks["layerPanel"], self.docks["discriminatorPanel"])
        self.docks["layerPanel"].raise_()
        # The run history: the Runs dock (under the plots), Compare, Repeat over seeds (gui/runs).
        from losslab.gui.runs.window_runs import RunsUI

        self.runs_ui = RunsUI(self)

    def _build_status_bar(self) -> None:
        self.status_labels: dict[str, QLabel] = {}
        for key in ("epoch", "step", "rate", "device", "elapsed"):
            label = QLabel()
            label.setObjectName(f"status_{key}")
            label.setMinimumWidth(90)
            self.statusBar().addPermanentWidget(label)
            self.status_labels[key] = label
        self.status_labels["device"].setText("device: –")

    def show_message(self, text: str, ms: int = 4000) -> None:
        self.statusBar().showMessage(text, ms)

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

    # -- files and training (the parts that do it: files.py, run_control.py) -----------------
    def open_file(self, path: Path, as_example: bool = False) -> bool:
        return self.files.open_file(path, as_example)

    def save_to(self, path: Path) -> bool:
        return self.files.save_to(path)

    def new_experiment(self) -> None:
        self.files.new_experiment()

    def recent_files(self) -> list[str]:
        return self.files.recent_files()

    def train(self) -> None:
        self.run.train()

    def toggle_pause(self) -> None:
        self.run.toggle_pause()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.files.accepts_drag(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.files.drop(event)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        # The window has just painted what was due: a training held for it goes on (worker.py).
        # (A frame paints its plots one update each and releases the training itself at its end.)
        if event.type() == QEvent.Type.UpdateRequest and hasattr(self, "run") and not self._framing:
            self.controller.end_paint_hold()
        return handled

    # -- periodic redraw --------------------------------------------------------------------
    @Slot()
    def _on_frame(self) -> None:
        controller = self.controller
        live = controller.running and not controller.paused
        rate = self.run.status["rate"]
        if live and self.pacer.holds_training(rate):
            controller.hold_until_painted()
        self._framing = True
        try:
            controller.deliver()
            self.redraw()
            # Paint now what the frame changed (the views handed their plots' changes over in
            # redraw), then let a training held for it go on: released at the first update
            # instead, it went on while the other plots painted.
            QCoreApplication.sendPostedEvents(self, QEvent.Type.UpdateRequest)
        finally:
            self._framing = False
        controller.end_paint_hold()
        if controller.running:
            controller.request_view()  # predictions come with the next step report, one per frame
        self._redraw_timer.setInterval(self.pacer.next_interval(rate) if live else self.pacer.idle())

    def frame_now(self) -> None:
        """Restart the frame timer at the idle pace (a pause shows at once, not a frame later)."""
        self._redraw_timer.start(self.pacer.idle())

    def redraw(self) -> None:
        self.host.redraw()
        self.update_status()

    def update_status(self) -> None:
        s = self.run.status
        total = self.state.experiment.training["epochs"]
        self.status_labels["epoch"].setText(f"epoch {s['epoch']}/{total}")
        self.status_labels["step"].setText(f"step {s['step']:,}")
        rate = s["rate"] if self.controller.running and not self.controller.paused else 0.0
        self.status_labels["rate"].setText(f"{rate:,.0f} steps/s" if math.isfinite(rate) else "")
        self.status_labels["elapsed"].setText(f"{s['elapsed']:.1f} s")

    # -- state ------------------------------------------------------------------------------
    @Slot(str)
    def _on_state_changed(self, section: str) -> None:
        if section in ("training", "all"):
            self.update_status()
        self._update_lesson()  # the banner says when the experiment left the example it describes

    @Slot(object)
    def _on_dataset_changed(self, dataset: Any) -> None:
        if not self.controller.running:
            self.run.new_plots()

    @Slot()
    def update_actions(self, *_: Any) -> None:
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
            note = self.state.edited_note()
            note = f"<br><i>{html.escape(note)}</i>" if note else ""
            self.lesson.setText(f"<b>{html.escape(exp.name)}</b> — {html.escape(exp.description)}{note}")
        self.lesson.setVisible(bool(exp.description))

    @Slot()
    def update_title(self, *_: Any) -> None:
        path = self.files.path
        name = path.name if path else (self.state.experiment.name or "Untitled")
        self.setWindowTitle(f"{name}[*] — LossLab")
        self.setWindowModified(self.state.modified)

    @Slot()
    def _on_color_scheme(self, *_: Any) -> None:
        dark = self.theme.dark
        apply_plot_theme(dark)
        self.dataset_panel.set_theme(dark)
        self.host.apply_theme(dark)

    # -- help -------------------------------------------------------------------------------
    @Slot()
    def show_help(self) -> None:
        from losslab.gui.help import HelpWindow

        if self._help is None:
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
        if not self.files.confirm_discard():
            event.ignore()
            return
        self._redraw_timer.stop()
        # Ask the run to stop and wait for its thread; never terminate() a thread.
        if not self.controller.stop(wait_ms=10_000):
            QMessageBox.warning(self, "Still stopping", "Training did not stop in time; try closing again.")
            self._redraw_timer.start()
            event.ignore()
            return
        # A race (Train > Race…, gui/race) trains in a thread of its own: closing its window stops it.
        races = self.findChild(QWidget, "raceWindow")
        if races is not None and not races.close():
            self._redraw_timer.start()
            event.ignore()
            return
        cancel_all()  # the views' background computations (landscape, LR finder) end with the window
        self._save_settings()
        event.accept()
