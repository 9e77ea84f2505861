"""The window holds a small, fast training while it paints (#17: no freeze over 100 ms).

Python threads take turns on one interpreter lock, so GUI work done while a small network trains
took 2-3 times as long: a tab built at start-up, the first paint after Train. The window therefore
holds the training (Controls.hold) for such work until it has painted, and frames of fast runs do
the same; slow-stepping runs train on while the window paints.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from losslab.core.experiment import Experiment
from losslab.gui.pacing import FramePacer
from losslab.gui.panels.dataset import DatasetPanel
from losslab.gui.state import ExperimentState
from losslab.gui.views import VIEWS, ViewHost


def test_frames_hold_runs_whose_steps_are_mostly_python():
    pacer = FramePacer()
    assert pacer.holds_training(None) and pacer.holds_training(0.0)  # a run's first frames
    assert pacer.holds_training(2_000.0)  # a small network: the steps are interpreter work
    assert not pacer.holds_training(20.0)  # long steps run in torch's kernels, the lock free


def test_the_train_press_holds_the_run_until_the_window_has_painted(qtbot, window):
    window.state.update("training", epochs=1000, batch_size=32)
    window.actionTrain.trigger()
    controller = window.controller
    held = controller._paint_hold
    assert held is window.trainer.controls and held._holds == 1
    qtbot.waitUntil(lambda: controller._paint_hold is None, timeout=2_000)  # painted, then released
    assert held._holds == 0
    qtbot.waitUntil(lambda: window.trainer.step > 20, timeout=10_000)


def test_a_hold_with_no_paint_to_wait_for_ends_by_itself(qtbot, window):
    window.state.update("training", epochs=1000, batch_size=32)
    window.actionTrain.trigger()
    controller = window.controller
    qtbot.waitUntil(lambda: controller._paint_hold is None, timeout=2_000)
    window.setUpdatesEnabled(False)  # nothing will paint
    try:
        controller.hold_until_painted()
        assert controller._paint_hold is not None
        qtbot.waitUntil(lambda: controller._paint_hold is None, timeout=1_000)  # PAINT_HOLD_MS
    finally:
        window.setUpdatesEnabled(True)


def test_start_up_tabs_are_built_and_filled_in_separate_held_turns(qtbot, qapp):
    from PySide6.QtWidgets import QTabWidget

    from losslab.gui.view_api import ViewServices

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    host = ViewHost(tabs)
    state = ExperimentState()
    services = ViewServices(state)
    log: list[str] = []
    host.add_registered_in_turns(
        services,
        each=lambda view: log.append(f"fill {view.objectName()}"),
        done=lambda: log.append("done"),
        hold=lambda: log.append("hold"),
    )
    qtbot.waitUntil(lambda: log[-1:] == ["done"], timeout=20_000)
    expected = []
    for d in VIEWS:
        expected += ["hold", "hold", f"fill {d.object_name}"]  # build (held), then fill (held)
    assert log == [*expected, "done"]


def test_the_dataset_preview_draws_one_item_per_class_colour(qtbot):
    doc = Experiment.default().to_dict()
    doc["dataset"] = {"kind": "blobs", "n_classes": 3, "n_samples": 300, "seed": 2}
    doc["loss"] = {"id": "cross_entropy"}
    state = ExperimentState(Experiment.from_dict(doc))
    panel = DatasetPanel(state)
    qtbot.addWidget(panel)
    panel.show()
    scatters = [i for i in panel.plot.getPlotItem().items if isinstance(i, pg.ScatterPlotItem)]
    filled = [s for s in scatters if s.opts["size"] == 5]  # training points; validation ones are 6
    # training (filled) and validation (hollow): one item per class each, every point drawn once
    assert len(scatters) == 2 * 3 and len(filled) == 3
    assert sum(len(s.data) for s in scatters) == state.dataset.n_train + state.dataset.n_val
    colours = {s.opts["brush"].color().rgba() for s in filled}
    assert len(colours) == 3
    assert all(np.isfinite(s.data["x"]).all() for s in scatters)


def test_a_frame_paints_every_plot_it_changed_while_the_training_is_held(qtbot, window):
    # Each plot's scene hands its changes to its view in a queued call of its own, so the plots used
    # to be painted one update after another after the frame, and the training, released at the
    # first, shared the interpreter with the rest of the paint.
    from PySide6.QtCore import QEvent, QObject

    controller = window.controller
    painted: list[tuple[int, bool]] = []

    class PaintLog(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint:
                painted.append((id(watched), controller._paint_hold is not None))
            return False

    log = PaintLog()
    for view in window.findChildren(pg.GraphicsView):
        view.viewport().installEventFilter(log)
    window.resize(1280, 720)
    window.state.update("training", epochs=100_000, batch_size=32)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer.step > 200 and controller._paint_hold is None, timeout=10_000)
    window._redraw_timer.stop()  # no frame meanwhile: the views all have something new to draw
    qtbot.wait(300)
    painted.clear()
    window._on_frame()
    in_frame = list(painted)
    assert controller._paint_hold is None  # released at the frame's end
    controller.stop()
    assert len({view for view, _ in in_frame}) >= 2, "the loss curves and the task view paint in the frame"
    assert all(held for _, held in in_frame)
