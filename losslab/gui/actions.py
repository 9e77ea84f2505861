"""Every window action in one table: text, shortcut, icon and tip. Menus and toolbar read from it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QStyle


@dataclass(frozen=True)
class ActionDef:
    name: str  # objectName, e.g. "actionTrain"
    text: str
    shortcut: QKeySequence.StandardKey | str | None = None
    icon: QStyle.StandardPixmap | None = None  # Qt's built-in icons work offline
    tip: str = ""


SK = QKeySequence.StandardKey
SP = QStyle.StandardPixmap

ACTIONS: tuple[ActionDef, ...] = (
    ActionDef("actionNew", "&New", SK.New, SP.SP_FileIcon, "Start a new experiment"),
    ActionDef("actionOpen", "&Open…", SK.Open, SP.SP_DialogOpenButton, "Open a .losslab experiment"),
    ActionDef("actionImportCsv", "&Import CSV…", None, None, "Train on your own CSV file"),
    ActionDef("actionSave", "&Save", SK.Save, SP.SP_DialogSaveButton, "Save the experiment"),
    ActionDef("actionSaveAs", "Save &As…", SK.SaveAs, None, "Save the experiment under a new name"),
    ActionDef("actionExportPlot", "Export &Plot…", "Ctrl+E", None, "Save the current plot as PNG or SVG"),
    ActionDef("actionExportCsv", "Export &Curves as CSV…", "Ctrl+Shift+E", None, "Save the plotted curves"),
    ActionDef("actionQuit", "&Quit", SK.Quit, None, "Quit LossLab"),
    ActionDef(
        "actionUndo",
        "&Undo",
        SK.Undo,
        None,
        "Undo the last edit (dataset, network, loss, optimizer, training)",
    ),
    ActionDef("actionRedo", "&Redo", SK.Redo, None, "Redo the last undone edit"),
    ActionDef("actionTrain", "&Train", "Ctrl+Return", SP.SP_MediaPlay, "Train (or continue training)"),
    ActionDef("actionPause", "&Pause", "Ctrl+P", SP.SP_MediaPause, "Pause or resume training"),
    ActionDef("actionStep", "&Step One Batch", "Ctrl+.", SP.SP_MediaSkipForward, "Run exactly one batch"),
    ActionDef("actionStop", "St&op", "Ctrl+Shift+Return", SP.SP_MediaStop, "Stop training"),
    ActionDef(
        "actionReset", "&Reset Weights", "Ctrl+R", SP.SP_BrowserReload, "Start again from fresh weights"
    ),
    ActionDef(
        "actionRace",
        "R&ace…",
        "Ctrl+Shift+R",
        SP.SP_MediaSeekForward,
        "Train variants that differ in one setting side by side, from the same weights and batches",
    ),
    ActionDef("actionRestoreLayout", "Restore &Default Layout", None, None, "Put every panel back"),
    ActionDef("actionHelp", "LossLab &Help", SK.HelpContents, SP.SP_DialogHelpButton, "Shortcuts and losses"),
    ActionDef("actionAbout", "&About LossLab", None, None, "Versions and device"),
)
