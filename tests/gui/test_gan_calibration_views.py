"""The GAN tab, the Discriminator panel and the Calibration tab, through the real window and worker."""

from __future__ import annotations

import pytest

from losslab.core.experiment import load_experiment
from losslab.core.resources import examples_dir
from losslab.gui.state import needs_fresh_run


def _example(window, stem: str, **training) -> None:
    exp = load_experiment(examples_dir() / f"{stem}.losslab")
    window.state.replace_experiment(exp.replace("training", **training) if training else exp)


def _train(qtbot, window) -> None:
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)


def _view(window, name: str):
    return next(v for v in window.host.tab_views if v.objectName() == name)


def _show(window, view) -> None:
    window.views.setCurrentWidget(view)
    view.redraw()


def test_gan_tab_shows_the_run_and_notes_the_vanishing_gradient(qtbot, window):
    _example(window, "31_gan_ring_minimax", epochs=3)
    view = _view(window, "ganView")
    _show(window, view)
    assert not view.grad_plot.isHidden()
    _train(qtbot, window)
    window.redraw()
    view.redraw()
    state = view.state()
    assert state["fake_points"] == 500 and state["covered"] is not None
    assert state["empty_modes"] == 8 - state["covered"] >= 6  # the uncovered modes are drawn dashed
    assert len(state["modes"]) == 3
    assert state["collapse_at"] == 1 and "collapsed at epoch 1" in state["note"]
    assert "modes covered" in view.summary.text()


def test_the_gan_tab_says_what_it_needs_on_other_data(window):
    view = _view(window, "ganView")
    _show(window, view)
    assert "GAN tab follows generative datasets" in view.summary.text()
    assert view.samples_plot.isHidden()


def test_discriminator_panel_edits_are_what_the_trainer_uses(qtbot, window):
    _example(window, "30_gan_ring_nonsaturating", epochs=1)
    panel = window.discriminator_panel
    assert panel.tabs.isEnabled()
    assert panel.steps_form.value("steps") == 1
    assert panel.layers.table.rowCount() >= 4  # input, 4 hidden layers, output
    panel.steps_form.set_value("steps", 3)
    panel.steps_form.valueChanged.emit("steps", 3)  # as a user's edit reports it
    assert panel.layers.add_layer("tanh")
    panel.optimizer.common_form.valueChanged.emit("lr", 0.004)
    section = window.state.experiment.discriminator
    assert section["steps"] == 3 and section["layers"][-1]["type"] == "tanh"
    assert section["optimizer"]["lr"] == 0.004
    assert window.state.experiment.optimizer["lr"] == 0.002  # the generator's is untouched
    _train(qtbot, window)
    trainer = window.trainer
    assert trainer.d_section == section
    assert trainer.d_optimizer.param_groups[0]["lr"] == pytest.approx(0.004)
    window.state.undo_stack.undo()  # the lr edit
    assert window.state.experiment.discriminator["optimizer"]["lr"] == 0.002
    assert panel.optimizer.common_form.value("lr") == 0.002
    # an undone discriminator edit is structural like a generator one: the next Train builds afresh,
    # and the lesson banner counts it as an edit away from the preset
    assert needs_fresh_run("discriminator", {"lr": 0.002})
    assert "discriminator" in window.state.edited_sections()


def test_discriminator_panel_is_off_for_other_datasets(window):
    assert not window.discriminator_panel.tabs.isEnabled()
    assert "Only GAN datasets" in window.discriminator_panel.hint.text()


def test_calibration_tab_shows_the_overconfident_hard_label_model(qtbot, window):
    _example(window, "33_hard_labels_cross_entropy", epochs=60)
    view = _view(window, "calibrationView")
    _show(window, view)
    _train(qtbot, window)
    window.redraw()
    view.redraw()
    state = view.state()
    assert len(state["val_ece"]) == 60
    assert state["ece"] == pytest.approx(state["val_ece"][-1], abs=1e-6)  # the same split and weights
    assert state["verdict"] == "overconfident" and "overconfident" in view.summary.text()


def test_every_tab_draws_a_soft_label_run(qtbot, window):
    # KL divergence trains on (N, K) target distributions: the per-sample views get class labels.
    _example(window, "32_soft_labels_kl", epochs=3)
    _train(qtbot, window)
    assert tuple(window.trainer.y_train.shape) == (window.state.dataset.n_train, 3)
    for i in range(window.views.count()):
        window.views.setCurrentIndex(i)
        qtbot.wait(20)
        window.redraw()


def test_gan_tab_draws_one_dimensional_data(qtbot, window):
    from losslab.core.experiment import Experiment

    doc = {**Experiment.default().to_dict(), "dataset": {"kind": "gan_1d", "n_samples": 300}}
    doc.update(loss={"id": "gan_g_nonsat"}, training={"epochs": 2, "batch_size": 50})
    window.state.replace_experiment(Experiment.from_dict(doc))
    view = _view(window, "ganView")
    _show(window, view)
    _train(qtbot, window)
    view.redraw()
    assert view.real_hist.isVisible() and not view.real_points.isVisible()
    xs, ys = view.d_curve.getData()
    assert len(xs) > 100 and ((ys >= 0) & (ys <= 1)).all()  # D(x) over the line
    assert view.state()["covered"] is not None  # the two modes at -2 and +2


def test_gan_tab_shows_images_as_tiles(qtbot, window):
    _example(window, "35_gan_shapes_images", epochs=1)
    view = _view(window, "ganView")
    _show(window, view)
    _train(qtbot, window)
    view.redraw()
    assert view.mosaic.isVisible() and not view.real_points.isVisible()
    tiles = view.mosaic.image
    assert tiles.shape == (2 * (2 * 13 + 1) + 13, 6 * 13 + 1)  # two rows of real, two of generated
