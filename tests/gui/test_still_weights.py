"""Samples and the Loss inspector show the weights as they are whenever training stands still (paused or
stopped), even if their tab was hidden while the run went on; Train after a Stop in a pause runs."""

from __future__ import annotations

from typing import Any


def _tab(qtbot: Any, window: Any, name: str) -> Any:
    for i in range(window.views.count()):
        if window.views.widget(i).objectName() == name:
            window.views.setCurrentIndex(i)
            view = window.views.widget(i)
            qtbot.waitExposed(view)
            return view
    raise KeyError(name)


def _shown_steps(qtbot: Any, window: Any) -> tuple[int, int]:
    samples = _tab(qtbot, window, "samplesView")
    window.redraw()
    assert samples.model.rowCount() == window.state.dataset.n_train
    assert f"step {window.trainer.step}:" in samples.summary.text()
    inspector = _tab(qtbot, window, "lossInspector")
    window.redraw()
    assert len(inspector.batch_points.getData()[0]) > 0  # drawn at once, not after the running pace
    return samples.latest.step, inspector._batch.step


def test_inspector_markers_are_labelled_and_do_not_share_the_curve_colour(qtbot, window) -> None:
    window.state.update("training", epochs=1, batch_size=64)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: window.trainer is not None and not window.controller.running, timeout=20_000)
    inspector = _tab(qtbot, window, "lossInspector")
    window.redraw()
    labels = [label.text for _, label in inspector.legend.items]
    assert "batch, label 0" in labels and "batch, label 1" in labels
    marker_colours = {s.opts["brush"].color().name() for s in inspector._point_samples}
    assert len(marker_colours) == 2
    curve, _ = inspector._curve_items[0]
    assert curve.opts["pen"].color().name() not in marker_colours


def test_views_show_the_current_weights_after_pause_and_after_stop(qtbot, window) -> None:
    window.state.update("training", epochs=1000, batch_size=64)
    window.actionTrain.trigger()  # the Training tab is shown: nobody watches per-sample losses
    qtbot.waitUntil(lambda: window.trainer is not None and window.trainer.step > 20, timeout=10_000)
    window.actionPause.trigger()
    qtbot.waitUntil(lambda: window.trainer.controls.waiting, timeout=10_000)
    step = window.trainer.step
    assert _shown_steps(qtbot, window) == (step, step)

    window.views.setCurrentIndex(0)
    window.actionStop.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    window.actionTrain.trigger()  # stopped while paused: Train must run again, not stay paused
    qtbot.waitUntil(lambda: window.trainer.step > step + 20, timeout=10_000)
    assert not window.controller.paused
    window.actionStop.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert _shown_steps(qtbot, window) == (window.trainer.step, window.trainer.step)
