"""The loss as the thing studied: the Loss inspector and Samples views, the custom-loss editor, the trust
dialog, the advisor in the Loss panel, and the per-sample overlays of the task view and loss plot."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PySide6.QtWidgets import QDialog

from losslab.core.custom_loss import validate_custom_section
from losslab.core.experiment import Experiment
from losslab.core.inspector import loss_curves
from losslab.core.losses import LOSSES
from losslab.core.resources import examples_dir
from losslab.core.trust import is_trusted

pytestmark = pytest.mark.usefixtures("any_code_runs")  # these test what code does

ASYMMETRIC = (
    "def loss(pred, target):\n"
    "    error = pred - target\n"
    "    return (torch.where(error < 0, 3.0, 1.0) * error ** 2).mean()\n"
)


def view(window, name):
    return next(v for v in window.extra_views if v.objectName() == name)


def show(qtbot, window, name):
    v = view(window, name)
    window.views.setCurrentWidget(v)
    qtbot.waitUntil(v.isVisible, timeout=5000)
    window.redraw()
    return v


def use(window, dataset: dict, loss: dict, epochs: int = 2) -> None:
    doc = window.state.experiment.to_dict()
    doc["dataset"] = dataset
    doc["loss"] = loss
    doc["training"] = {**doc["training"], "epochs": epochs, "batch_size": 32}
    window.state.replace_experiment(Experiment.from_dict(doc))


def train(qtbot, window, timeout=60_000):
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=timeout)
    window.redraw()


def test_the_views_are_tabs_of_the_window(window):
    titles = [window.views.tabText(i) for i in range(window.views.count())]
    assert "Loss inspector" in titles and "Samples" in titles
    assert view(window, "lossInspector") is not None and view(window, "samplesView") is not None


def test_inspector_follows_the_selected_loss(qtbot, window):
    inspector = show(qtbot, window, "lossInspector")
    assert inspector.title.text() == LOSSES["bce_logits"].name
    window.loss_panel.select_loss("hinge")
    window.redraw()
    assert inspector.title.text() == "Hinge"
    assert inspector.formula.text() == LOSSES["hinge"].formula
    one, zero = inspector.curve_data()
    expected = loss_curves(LOSSES["hinge"], "binary")
    np.testing.assert_allclose(one.loss, expected[0].loss)
    np.testing.assert_allclose(zero.loss, expected[1].loss)
    assert inspector.kinks() == [-1.0, 1.0]
    assert "Not differentiable" in inspector.traits.text() and "Convex" in inspector.traits.text()


def test_inspector_marks_mae_kink_and_moves_with_the_target_and_parameters(qtbot, window):
    use(window, {"kind": "house_prices"}, {"id": "mae"})
    inspector = show(qtbot, window, "lossInspector")
    assert inspector.kinks() == [0.0]
    window.loss_panel.select_loss("huber")
    window.redraw()
    assert inspector.kinks() == []
    before = inspector.curve_data()[0].loss.copy()
    inspector.form.set_values({"delta": 0.25})
    inspector._on_param_changed("delta", 0.25)
    window.redraw()
    after = inspector.curve_data()[0].loss
    assert not np.allclose(before, after)
    assert inspector.apply_button.isEnabled()
    assert inspector.apply_params()
    assert window.state.experiment.loss["params"]["delta"] == 0.25
    assert not inspector.apply_button.isEnabled()
    # The target control: a custom loss that depends on y (not only on ŷ − y) moves with it.
    relative = validate_custom_section(
        {
            "id": "custom",
            "name": "Relative",
            "code": (
                "def loss(pred, target):\n    return ((pred - target) ** 2 / (1 + target ** 2)).mean()\n"
            ),
        }
    )
    assert window.loss_panel.use_custom_section(relative)
    window.redraw()
    low = inspector.curve_data()[0].loss.copy()
    inspector.target_spin.setValue(2.0)
    window.redraw()
    assert inspector.curve_data()[0].loss.max() < low.max()


def test_inspector_compares_ticked_losses(qtbot, window):
    inspector = show(qtbot, window, "lossInspector")
    names = [inspector.compare_list.item(i).text() for i in range(inspector.compare_list.count())]
    assert "BCE" in names and "BCE with logits" not in names  # the selected loss is not offered
    assert "MSE" not in names  # nor losses for other tasks
    inspector.set_compared([("builtin", "hinge"), ("builtin", "focal")])
    window.redraw()
    assert set(inspector._curves) == {"BCE with logits", "Hinge", "Focal"}
    labels = [label.text for _, label in inspector.legend.items]
    assert "Hinge (y = 1)" in labels and "Focal (y = 0)" in labels
    inspector.set_compared([])
    window.redraw()
    assert set(inspector._curves) == {"BCE with logits"}


def test_live_batch_points_sit_on_the_curve(qtbot, window):
    use(window, {"kind": "moons", "n_samples": 400}, {"id": "bce_logits"})
    inspector = show(qtbot, window, "lossInspector")
    train(qtbot, window)
    window.redraw()
    x, y = inspector.batch_data()
    assert len(x) == 32
    ev = inspector._batch
    one, zero = inspector.curve_data()
    labels = ev.batch_target > 0.5
    on_curve = np.where(labels, np.interp(x, one.x, one.loss), np.interp(x, zero.x, zero.loss))
    np.testing.assert_allclose(y, on_curve, rtol=0.05, atol=0.02)
    assert "Step" in inspector.batch_note.text()
    inspector.batch_check.setChecked(False)
    window.redraw()
    assert len(inspector.batch_data()[0]) == 0


def test_samples_table_is_sorted_worst_first_and_selection_rings_the_points(qtbot, window):
    use(window, {"kind": "moons", "n_samples": 400}, {"id": "bce_logits"})
    samples = show(qtbot, window, "samplesView")
    train(qtbot, window)
    window.redraw()
    model = samples.model
    assert model.rowCount() == window.state.dataset.n_train
    losses = [model.value(r, "loss") for r in range(model.rowCount())]
    assert losses == sorted(losses, reverse=True)
    ev = samples.latest
    assert losses[0] == pytest.approx(float(ev.loss.max()))
    assert model.data(model.index(0, model.column_of("loss"))) != "–"
    samples.table.selectRow(0)
    worst = model.sample_at(0)
    assert samples.selected_samples() == [worst]
    assert window.task_view.highlighted.tolist() == [worst]
    assert samples.task_view.highlighted.tolist() == [worst]
    assert samples.task_view.highlight_marks.isVisible()
    x, y = samples.task_view.highlight_marks.getData()
    pos = samples.task_view.training_positions()[worst]
    assert (x[0], y[0]) == pytest.approx(tuple(pos))
    # Another measurement reorders the rows; the selection stays on the same sample.
    loss = ev.loss.copy()
    loss[worst] = -1.0
    ev2 = type(ev)(**{**ev.__dict__, "loss": loss, "step": ev.step + 1})
    samples.on_event(ev2)
    window.redraw()
    assert samples.selected_samples() == [worst]
    assert model.row_of(worst) == model.rowCount() - 1


def test_histogram_marks_the_mean_and_points_show_their_loss(qtbot, window):
    use(window, {"kind": "house_prices", "outlier_fraction": 0.05}, {"id": "mse"})
    samples = show(qtbot, window, "samplesView")
    train(qtbot, window)
    window.redraw()
    hist = samples.histogram
    ev = samples.latest
    assert hist.mean == pytest.approx(float(ev.loss.mean()))
    assert hist.mean_line.isVisible() and hist.mean_line.value() == pytest.approx(hist.mean)
    assert "mean = cost" in hist.mean_line.label.format
    assert hist.counts.sum() == window.state.dataset.n_train
    assert "worst 10%" in samples.summary.text()
    samples.log_check.setChecked(True)
    samples.points_combo.setCurrentIndex(samples.points_combo.findData("size"))
    window.redraw()
    assert samples.task_view.weight_marks.isVisible()
    x, y = samples.task_view.weight_marks.getData()
    sizes = samples.task_view.weight_marks.data["size"]
    biggest = np.flatnonzero(sizes == sizes.max())
    worst = samples.task_view.training_positions()[int(np.argmax(ev.loss))]
    # The worst sample has one of the biggest rings.
    assert np.any(np.isclose(x[biggest], worst[0]) & np.isclose(y[biggest], worst[1]))
    assert len(x) < len(ev.loss)  # samples with a negligible loss get no ring
    assert window.task_view.point_weight_mode == "size"
    window.task_view.set_point_weight_mode("colour")  # the task view's own menu
    assert samples.points_combo.currentData() == "colour"


def test_loss_plot_draws_the_batch_spread(qtbot, window):
    use(window, {"kind": "moons", "n_samples": 400}, {"id": "bce_logits"}, epochs=3)
    train(qtbot, window)
    x, lo, mid, hi = window.loss_view.band()
    assert len(x) == 6  # two points per epoch
    assert (lo <= mid).all() and (mid <= hi).all() and (hi > lo).any()
    assert window.loss_view.band_fill.isVisible()
    window.loss_view.band_check.setChecked(False)
    assert not window.loss_view.band_fill.isVisible()


# --- custom losses in the window ---------------------------------------------------------------


def test_editor_shows_bad_code_inline_and_stays_open(qtbot, window):
    from losslab.gui.custom_loss_dialog import CustomLossDialog

    use(window, {"kind": "house_prices"}, {"id": "mse"})
    dialog = CustomLossDialog(window.state, None, window)
    qtbot.addWidget(dialog)
    typo = "def loss(pred, target):\n    e = pred - target\n    return troch.mean(e ** 2)\n"
    dialog.editor.setPlainText(typo)
    assert dialog.check() is False
    assert "Line 3" in dialog.problem() and "torch" in dialog.problem()
    assert dialog.editor.error_line == 3
    dialog.accept()  # refused: the dialog stays open, nothing is returned
    assert dialog.section() is None and dialog.result() != QDialog.DialogCode.Accepted
    # Typing is checked for syntax at once, without running anything.
    dialog.editor.setPlainText("def loss(pred, target)\n    return pred.mean()\n")
    dialog._parse_now()
    assert "Line 1" in dialog.problem() and dialog.editor.error_line == 1
    # An endless loop is stopped, reported at its line, and the window keeps working.
    dialog.editor.setPlainText("def loss(pred, target):\n    while True:\n        pass\n")
    start = time.perf_counter()
    assert dialog.check() is False
    assert time.perf_counter() - start < 6
    assert "Line 2" in dialog.problem()
    dialog.editor.setPlainText(ASYMMETRIC)
    assert dialog.check() is True and dialog.problem() == ""
    dialog.accept()
    assert dialog.section()["code"] == ASYMMETRIC


def test_custom_loss_in_the_picker_the_inspector_and_training(qtbot, window, monkeypatch):
    from losslab.gui.custom_loss_dialog import CustomLossDialog

    use(window, {"kind": "house_prices"}, {"id": "mse"})

    def fake_exec(dialog):
        dialog.name_edit.setText("Asymmetric")
        dialog.editor.setPlainText(ASYMMETRIC)
        dialog.accept()
        return QDialog.DialogCode.Accepted if dialog.section() else QDialog.DialogCode.Rejected

    monkeypatch.setattr(CustomLossDialog, "exec", fake_exec)
    panel = window.loss_panel
    assert panel.new_custom_loss()
    assert window.state.experiment.loss["name"] == "Asymmetric"
    assert is_trusted(ASYMMETRIC)  # written here: trusted
    item = panel.loss_item("custom", "Asymmetric")
    assert item is not None and "your code" in item.text(0)
    assert panel.edit_custom_button.isEnabled()
    inspector = show(qtbot, window, "lossInspector")
    assert inspector.title.text() == "Asymmetric (your code)"
    (curve,) = inspector.curve_data()
    left, right = np.interp([-1.0, 1.0], curve.x, curve.loss)
    assert left == pytest.approx(3 * right, rel=1e-3)  # under-predicting costs 3 times more
    panel.select_loss("mse")
    window.redraw()
    names = [inspector.compare_list.item(i).text() for i in range(inspector.compare_list.count())]
    assert "Asymmetric (your code)" in names  # still listed for comparison
    assert panel.select_custom("Asymmetric")
    train(qtbot, window)
    assert window.trainer.loss_spec.custom and window.trainer.history.last("train_loss") > 0


def test_a_stuck_custom_loss_does_not_freeze_the_window(qtbot, window):
    stuck = validate_custom_section(
        {
            "id": "custom",
            "name": "Sleepy",
            "code": (
                "import time\n"
                "def loss(pred, target):\n"
                "    if pred.dtype == torch.float64:  # the inspector's curves, not training\n"
                "        time.sleep(8)\n"
                "    return ((pred - target) ** 2).mean()\n"
            ),
        }
    )
    use(window, {"kind": "house_prices"}, {"id": "mse"})
    start = time.perf_counter()
    assert window.loss_panel.use_custom_section(stuck)
    inspector = show(qtbot, window, "lossInspector")
    assert time.perf_counter() - start < 8.0  # two 3-second limits at most (curves, advice), not 8 s each
    assert "took longer" in inspector.problem


def test_opening_a_file_with_code_asks_for_trust(qtbot, window, tmp_path, monkeypatch):
    from losslab.gui.trust_dialog import TrustDialog

    code = ASYMMETRIC + "# from a stranger\n"
    doc = window.state.experiment.to_dict()
    doc.update(dataset={"kind": "house_prices"}, loss={"id": "custom", "name": "Stranger's", "code": code})
    path = tmp_path / "stranger.losslab"
    path.write_text(json.dumps(doc))
    shown = []

    def refuse(dialog):
        shown.append(dialog.code.toPlainText())
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(TrustDialog, "exec", refuse)
    before = window.state.experiment.to_dict()
    assert window.open_file(path) is False
    assert shown == [code]  # the code was shown
    assert window.state.experiment.to_dict() == before and not is_trusted(code)
    monkeypatch.setattr(TrustDialog, "exec", lambda dialog: QDialog.DialogCode.Accepted)
    assert window.open_file(path) is True
    assert window.state.experiment.loss["code"] == code and is_trusted(code)
    monkeypatch.setattr(TrustDialog, "exec", lambda dialog: pytest.fail("asked again"))
    window.state.mark_saved()
    assert window.open_file(path) is True  # remembered


def test_shipped_examples_with_code_open_without_asking(window, monkeypatch):
    from losslab.gui.trust_dialog import TrustDialog

    monkeypatch.setattr(TrustDialog, "exec", lambda dialog: pytest.fail("asked about a shipped example"))
    for path in sorted(examples_dir().glob("*custom*.losslab")):
        assert window.open_file(path, as_example=True)
        assert window.state.experiment.loss["id"] == "custom"
        window.state.mark_saved()


def test_advisor_warns_in_the_loss_panel_and_fixes_in_one_click(qtbot, window):
    use(window, {"kind": "house_prices", "outlier_fraction": 0.05}, {"id": "mse"})
    panel = window.loss_panel
    panel.update_advice()
    assert [a.id for a in panel.advice.items] == ["outliers"]
    assert panel.advice.isVisibleTo(panel)
    (button,) = panel.advice.buttons()
    assert "Huber" in button.text()
    button.click()
    assert window.state.experiment.loss["id"] == "huber"
    qtbot.waitUntil(lambda: not panel.advice.items, timeout=3000)
    assert not panel.advice.isVisibleTo(panel)


def test_advisor_fixes_a_custom_hinge_in_its_code(qtbot, window):
    hinge = validate_custom_section(
        {
            "id": "custom",
            "name": "My hinge",
            "tasks": ["binary"],
            "output": "raw",
            "code": "def loss(pred, target):\n    return torch.clamp(1 - target * pred, min=0).mean()\n",
        }
    )
    assert window.loss_panel.use_custom_section(hinge)
    panel = window.loss_panel
    panel.update_advice()
    assert [a.id for a in panel.advice.items] == ["labels_not_signed"]
    panel.advice.buttons()[0].click()
    assert "2 * target - 1" in window.state.experiment.loss["code"]
    assert is_trusted(window.state.experiment.loss["code"])
    panel.update_advice()
    assert panel.advice.items == []
    assert panel.loss_item("custom", "My hinge") is not None


@pytest.mark.parametrize("name", ["lossInspector", "samplesView"])
def test_views_render_offscreen(qtbot, window, name, tmp_path):
    use(window, {"kind": "moons", "n_samples": 300}, {"id": "bce_logits"})
    v = show(qtbot, window, name)
    train(qtbot, window)
    window.redraw()
    image = v.grab()
    assert image.width() > 300 and image.height() > 200
    window._on_color_scheme()  # a theme switch reaches the views without error
    window.redraw()
    assert v.isVisible()
