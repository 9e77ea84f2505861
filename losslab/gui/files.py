"""File handling of the main window: new / open / save experiments, recent files, examples, exports.

Part of the main window: it knows the experiment's path, asks before unsaved changes are lost,
refuses untrusted code (trust_dialog) before an opened experiment replaces the current one, keeps
the Open Recent and Examples menus, and exports the Training tab's plots and curves, the experiment
as a PyTorch script and the trained network (weights, TorchScript, ONNX).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QTimer, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from losslab.core.data.csv_source import csv_source_problem
from losslab.core.errors import LossLabError
from losslab.core.experiment import SUFFIX, Experiment, load_experiment
from losslab.core.resources import list_examples
from losslab.gui.export import export_curves_csv, export_plot

if TYPE_CHECKING:
    from losslab.gui.main_window import MainWindow

MAX_RECENT = 8
FILE_FILTER = f"LossLab experiments (*{SUFFIX});;All files (*)"


def example_title(path: Path) -> str:
    """The example's own name (its "name" field), falling back to the file name."""
    try:
        name = json.loads(path.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    return name if isinstance(name, str) and name else path.stem.replace("_", " ")


class ExperimentFiles(QObject):
    def __init__(self, window: MainWindow, settings: QSettings) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.settings = settings
        self.path: Path | None = None
        self.recent_menu: QMenu | None = None
        self.examples_menu: QMenu | None = None

    # -- menus ------------------------------------------------------------------------------
    def attach_menus(self, recent: QMenu, examples: QMenu) -> None:
        self.recent_menu, self.examples_menu = recent, examples
        self._fill_examples_menu()
        self._update_recent_menu()

    def _fill_examples_menu(self) -> None:
        menu = self.examples_menu
        assert menu is not None
        menu.clear()
        for path in list_examples():
            action = menu.addAction(example_title(path))
            action.setToolTip(str(path))
            action.triggered.connect(lambda checked=False, p=path: self.open_file(p, as_example=True))
        menu.setEnabled(bool(menu.actions()))

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
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        for f in self.recent_files():
            action = menu.addAction(Path(f).name)
            action.setToolTip(f)
            action.triggered.connect(lambda checked=False, p=f: self.open_file(Path(p)))
        menu.setEnabled(bool(menu.actions()))

    # -- experiments ------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """True when it is fine to replace the current experiment (saved, or the user said so)."""
        if not self.state.modified:
            return True
        answer = QMessageBox.question(
            self.window,
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
        run = self.window.run
        run.discard_run()
        self.state.replace_experiment(experiment, modified=modified)
        self.path = path
        run.new_plots()
        self.window.update_title()
        self.window.update_actions()

    @Slot()
    def new_experiment(self) -> None:
        if self.confirm_discard():
            self._load(Experiment.default(), None)

    @Slot()
    def open_dialog(self) -> None:
        start = str(self.path.parent) if self.path else ""
        name, _ = QFileDialog.getOpenFileName(self.window, "Open experiment", start, FILE_FILTER)
        if name:
            self.open_file(Path(name))

    def open_file(self, path: Path, as_example: bool = False) -> bool:
        """Open an experiment; problems are reported in a dialog. Examples open as untitled copies."""
        if not self.confirm_discard():
            return False
        try:
            experiment = load_experiment(path)
        except LossLabError as exc:
            QMessageBox.warning(self.window, "Cannot open experiment", str(exc))
            return False
        problem = csv_source_problem(experiment.dataset)
        if problem is not None and problem.missing:  # nothing to train on: say so instead of failing later
            QMessageBox.warning(
                self.window, "Cannot open experiment", f"{Path(path).name}: {problem.message}"
            )
            return False
        from losslab.gui.trust_dialog import confirm_trust

        if not confirm_trust(self.window, experiment, Path(path)):  # code from elsewhere never runs silently
            self.window.show_message(f"Did not open {Path(path).name}: its code was not trusted", 6000)
            return False
        self._load(experiment, None if as_example else Path(path))
        if not as_example:
            self._remember_recent(Path(path))
        self.window.show_message(f"Opened {Path(path).name}", 4000)
        return True

    def open_experiment(self, experiment: Experiment, label: str) -> bool:
        """Open an experiment that comes from no file (a run of the history, as it was run): the same
        questions as Open (unsaved changes, untrusted code); it opens untitled, ``label`` says what."""
        if not self.confirm_discard():
            return False
        from losslab.gui.trust_dialog import confirm_trust

        if not confirm_trust(self.window, experiment, None):
            self.window.show_message(f"Did not open {label}: its code was not trusted", 6000)
            return False
        self._load(experiment, None)
        self.window.show_message(f"Opened {label} as it was run", 4000)
        return True

    @Slot()
    def save(self) -> bool:
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    @Slot()
    def save_as(self) -> bool:
        start = str(self.path) if self.path else "untitled" + SUFFIX
        name, _ = QFileDialog.getSaveFileName(self.window, "Save experiment", start, FILE_FILTER)
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
            QMessageBox.warning(self.window, "Cannot save", f"Could not write {path}: {exc.strerror or exc}")
            return False
        self.path = path
        self.state.mark_saved()
        self._remember_recent(path)
        self.window.update_title()
        self.window.show_message(f"Saved {path.name}", 4000)
        return True

    # -- exports ----------------------------------------------------------------------------
    def _plot_for_export(self) -> Any:
        training = self.window.training_view
        focus = QGuiApplication.focusObject() if QGuiApplication.instance() else None
        for candidate in (training.metric_plot, training.task_view):
            if isinstance(focus, QWidget) and (focus is candidate or candidate.isAncestorOf(focus)):
                return candidate
        return training.loss_view.plot

    @Slot()
    def export_plot_dialog(self) -> None:
        plot = self._plot_for_export()
        name, _ = QFileDialog.getSaveFileName(
            self.window, "Export plot", f"{plot.objectName()}.png", "PNG image (*.png);;SVG drawing (*.svg)"
        )
        if name:
            try:
                export_plot(plot, Path(name))
            except (OSError, LossLabError) as exc:
                QMessageBox.warning(self.window, "Cannot export", str(exc))

    @Slot()
    def export_csv_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self.window, "Export curves", "curves.csv", "CSV (*.csv)")
        if name:
            try:
                export_curves_csv(self.window.training_view.curves(), Path(name))
            except (OSError, LossLabError) as exc:
                QMessageBox.warning(self.window, "Cannot export", str(exc))

    # -- taking the experiment elsewhere (core/script_export) -------------------------------
    @Slot()
    def export_script_dialog(self) -> None:
        """The experiment as it is in the window, as a standalone PyTorch script (nothing is trained)."""
        stem = self.path.stem if self.path else "experiment"
        name, _ = QFileDialog.getSaveFileName(
            self.window, "Export as PyTorch script", f"{stem}.py", "Python script (*.py)"
        )
        if not name:
            return
        path = Path(name) if Path(name).suffix else Path(name).with_suffix(".py")
        from losslab.core.script_export import write_script  # loads torch: only when asked for

        try:
            write_script(self.state.experiment, path, str(self.path) if self.path else "the LossLab window")
        except LossLabError as exc:
            QMessageBox.warning(self.window, "Cannot export the script", str(exc))
            return
        self.window.show_message(f"Wrote {path.name}; run it with: python {path.name}", 8000)

    def export_network_dialog(self, kind: str) -> None:
        """The network as trained in the window now: "weights" (a state_dict), "torchscript" or "onnx"."""
        from losslab.core.script_export import models  # loads torch: only when asked for

        title, suffix, file_filter, write = {
            "weights": ("Export trained weights", ".pt", "PyTorch state_dict (*.pt)", models.save_weights),
            "torchscript": ("Export as TorchScript", ".pt", "TorchScript (*.pt)", models.save_torchscript),
            "onnx": ("Export as ONNX", ".onnx", "ONNX model (*.onnx)", models.save_onnx),
        }[kind]
        run = self.window.run
        trainer = run.trainer
        if trainer is None or trainer.step == 0:
            QMessageBox.information(
                self.window,
                title,
                "Nothing is trained yet. Train the network first (Train); the export holds the weights "
                "it has when you export, and the script export (File > Export as PyTorch Script) "
                "trains it anywhere.",
            )
            return
        if run.running and not run.paused:
            QMessageBox.information(
                self.window, title, "Pause or stop training first, so the weights hold still while written."
            )
            return
        if kind == "onnx" and not models.onnx_available():
            QMessageBox.warning(self.window, title, models.ONNX_MISSING)
            return
        stem = self.path.stem if self.path else "network"
        name, _ = QFileDialog.getSaveFileName(self.window, title, f"{stem}{suffix}", file_filter)
        if not name:
            return
        path = Path(name) if Path(name).suffix else Path(name).with_suffix(suffix)
        try:
            write(trainer, path)
        except LossLabError as exc:
            QMessageBox.warning(self.window, "Cannot export", str(exc))
            return
        self.window.show_message(f"Wrote {path.name} (the network after epoch {trainer.epoch})", 8000)

    # -- drag and drop ----------------------------------------------------------------------
    @staticmethod
    def accepts_drag(event: QDragEnterEvent) -> bool:
        urls = event.mimeData().urls()
        return bool(urls) and urls[0].isLocalFile() and urls[0].toLocalFile().endswith(SUFFIX)

    def drop(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls:
            event.acceptProposedAction()
            # Open after the drop returns, so a dialog does not block the drag source.
            path = Path(urls[0].toLocalFile())
            QTimer.singleShot(0, lambda: self.open_file(path))
