"""The main window's actions (from the table in actions.py), its menus and its toolbar.

``build_actions`` makes one QAction per ActionDef, sets it on the window as an attribute of the same
name (``window.actionTrain``) and connects it to the part of the window that does it (files, run
control, the window itself). ``build_menus`` lays the actions out in the menu bar and the toolbar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

from losslab.gui.actions import ACTIONS, ActionDef

if TYPE_CHECKING:
    from losslab.gui.main_window import MainWindow

TRAINING_ACTIONS = ("actionTrain", "actionPause", "actionStep", "actionStop", "actionReset")
# Taking an experiment elsewhere (core/script_export): under File, after the plot exports.
EXPORT_ACTIONS: tuple[ActionDef, ...] = (
    ActionDef(
        "actionExportScript",
        "Export as PyTorch &Script…",
        tip="A standalone training script (torch and numpy only) that reproduces this experiment",
    ),
    ActionDef("actionExportWeights", "Trained &Weights (state_dict)…", tip="The trained network's weights"),
    ActionDef(
        "actionExportTorchScript", "&TorchScript…", tip="The trained network, runnable without Python code"
    ),
    ActionDef(
        "actionExportOnnx", "&ONNX…", tip="The trained network for ONNX runtimes (needs the onnx package)"
    ),
)


def build_actions(window: MainWindow) -> dict[str, QAction]:
    actions: dict[str, QAction] = {}
    for spec in (*ACTIONS, *EXPORT_ACTIONS):
        action = QAction(spec.text, window)
        action.setObjectName(spec.name)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        if spec.icon is not None:
            action.setIcon(window.style().standardIcon(spec.icon))
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{spec.tip} ({shortcut})" if shortcut else spec.tip)
        action.setStatusTip(spec.tip)
        actions[spec.name] = action
        setattr(window, spec.name, action)
    actions["actionPause"].setCheckable(True)
    files, run = window.files, window.run
    slots = {
        "actionNew": files.new_experiment,
        "actionOpen": files.open_dialog,
        "actionImportCsv": lambda: window.dataset_panel.import_csv(),  # the panel is built after the actions
        "actionSave": files.save,
        "actionSaveAs": files.save_as,
        "actionExportPlot": files.export_plot_dialog,
        "actionExportCsv": files.export_csv_dialog,
        "actionExportScript": files.export_script_dialog,
        "actionExportWeights": lambda: files.export_network_dialog("weights"),
        "actionExportTorchScript": lambda: files.export_network_dialog("torchscript"),
        "actionExportOnnx": lambda: files.export_network_dialog("onnx"),
        "actionQuit": window.close,
        "actionTrain": run.train,
        "actionPause": run.toggle_pause,
        "actionStep": run.step_once,
        "actionStop": run.stop,
        "actionReset": run.reset_weights,
        "actionRace": lambda: _open_race(window),
        "actionRestoreLayout": window.restore_default_layout,
        "actionHelp": window.show_help,
        "actionAbout": window.show_about,
    }
    for name, slot in slots.items():
        actions[name].triggered.connect(slot)
    # Undo/redo come from the experiment's edit stack (state.py) so their text says what they undo.
    undo = window.state.undo_stack.createUndoAction(window, "&Undo")
    redo = window.state.undo_stack.createRedoAction(window, "&Redo")
    for new, old in ((undo, actions["actionUndo"]), (redo, actions["actionRedo"])):
        new.setObjectName(old.objectName())
        new.setShortcut(old.shortcut())
        setattr(window, old.objectName(), new)
        actions[old.objectName()] = new
    return actions


def _open_race(window: MainWindow) -> None:
    from losslab.gui.race import open_race  # imports torch: only when a race is asked for

    open_race(window)


def build_menus(window: MainWindow, a: dict[str, QAction]) -> None:
    bar = window.menuBar()
    file = bar.addMenu("&File")
    file.addActions([a["actionNew"], a["actionOpen"]])
    recent = file.addMenu("Open &Recent")
    examples = file.addMenu("&Examples")
    file.addAction(a["actionImportCsv"])
    file.addSeparator()
    file.addActions([a["actionSave"], a["actionSaveAs"]])
    file.addSeparator()
    file.addActions([a["actionExportPlot"], a["actionExportCsv"]])
    file.addSeparator()
    file.addAction(a["actionExportScript"])
    network = file.addMenu("Export Trained &Network")
    network.setObjectName("exportNetworkMenu")
    network.addActions([a["actionExportWeights"], a["actionExportTorchScript"], a["actionExportOnnx"]])
    file.addSeparator()
    file.addAction(a["actionQuit"])
    edit = bar.addMenu("&Edit")
    edit.addActions([a["actionUndo"], a["actionRedo"]])
    train = bar.addMenu("&Train")
    train.addActions([a[n] for n in TRAINING_ACTIONS])
    classroom = getattr(window, "classroom", None)  # gui/classroom.py: Step One Epoch, zoom, locks
    if classroom is not None:
        train.insertAction(a["actionStop"], classroom.step_epoch_action)
    train.addSeparator()
    train.addAction(a["actionRace"])
    runs_ui = getattr(window, "runs_ui", None)  # the run history's actions (gui/runs/window_runs.py)
    if runs_ui is not None:
        train.addActions(runs_ui.actions)
    view = bar.addMenu("&View")
    for dock in window.docks.values():
        view.addAction(dock.toggleViewAction())
    view.addSeparator()
    window.theme.add_menu(view)  # System / Light / Dark
    if classroom is not None:
        classroom.add_menu(view)
    view.addAction(a["actionRestoreLayout"])
    helpm = bar.addMenu("&Help")
    lessons_ui = getattr(window, "lessons_ui", None)  # gui/lessons: the Lessons dock, Save as Lesson
    if lessons_ui is not None:
        helpm.addAction(lessons_ui.action)
        file.insertAction(a["actionExportPlot"], lessons_ui.save_action)
    helpm.addActions([a["actionHelp"], a["actionAbout"]])

    toolbar = QToolBar("Training", window)
    toolbar.setObjectName("trainingToolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.addActions([a[n] for n in TRAINING_ACTIONS])
    if classroom is not None:
        toolbar.insertAction(a["actionStop"], classroom.step_epoch_action)
    toolbar.addSeparator()
    toolbar.addAction(a["actionRace"])
    if runs_ui is not None:
        toolbar.addAction(runs_ui.dock.toggleViewAction())  # the Runs dock, shown or hidden
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
    window.recent_menu, window.examples_menu = recent, examples
    window.files.attach_menus(recent, examples)
