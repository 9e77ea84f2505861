"""The Network and Cartography tabs through the real window and worker: pictures only while shown, hover
details, the compact dock, histograms for other inputs; the cartography map, its regions and the
selection shared with the task views and the Samples table (history columns, sparklines)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtTest import QTest

from losslab.core.experiment import Experiment
from losslab.core.network_probe import UnitLayer, network_probe
from losslab.gui.plots.network_view import unit_text


def tab(qtbot: Any, window: Any, name: str) -> Any:
    view = next(v for v in window.extra_views if v.objectName() == name)
    window.views.setCurrentWidget(view)
    qtbot.waitExposed(view)
    window.redraw()
    return view


def use(window: Any, dataset: dict, loss: str, layers: list[dict], epochs: int) -> None:
    doc = window.state.experiment.to_dict()
    doc["dataset"] = dataset
    doc["loss"] = {"id": loss}
    doc["model"] = {**doc["model"], "layers": layers}
    doc["training"] = {**doc["training"], "epochs": epochs, "batch_size": 32}
    window.state.replace_experiment(Experiment.from_dict(doc))


def train(qtbot: Any, window: Any) -> None:
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)
    window.redraw()


def test_network_tab_draws_every_unit_live_and_hover_tells_about_it(qtbot, window):
    layers = [
        {"type": "linear", "units": 6},
        {"type": "relu"},
        {"type": "linear", "units": 4},
        {"type": "tanh"},
    ]
    use(window, {"kind": "moons", "n_samples": 200}, "bce_logits", layers, epochs=3)
    window.actionTrain.trigger()  # the Training tab is shown: nobody watches the network
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)
    probe = network_probe(window.trainer)
    assert probe is not None and probe.pictures == 0  # a hidden view costs the training nothing
    # Every view asked for its probes, yet each kind is attached once (views share it).
    kinds = [type(p).__name__ for p in window.trainer.probes]
    for kind in ("NetworkProbe", "SampleHistoryProbe", "PerSampleProbe"):
        assert kinds.count(kind) == 1, kinds

    view = tab(qtbot, window, "networkView")
    pic = view.canvas.pic
    assert pic is not None and pic.step == window.trainer.step  # still weights: pictured on the spot
    assert [len(layer.units) for layer in pic.layers] == [2, 6, 4, 1]
    assert all(layer.grid is not None for layer in pic.layers)
    assert "Epoch 3" in view.summary.text()
    # Live: with the tab shown, the training thread sends pictures, and the view draws them.
    window.state.update("training", epochs=6)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)
    window.redraw()
    assert probe.pictures >= 1 or network_probe(window.trainer).pictures >= 1
    assert view.canvas.pic.epoch == 6

    # Hover the second hidden layer's first unit: its weights, range and what it is.
    rect = view.canvas._rects[2][0]
    QTest.mouseMove(view.canvas, QPoint(int(rect.center().x()), int(rect.center().y())))
    qtbot.waitUntil(lambda: view.canvas.hovered == (2, 0), timeout=3000)
    text = view.canvas.hover_text(2, 0)
    assert "Linear 2 (6→4), unit 1 (tanh)" in text and "incoming weights" in text
    assert "activation on the training data" in text

    # The compact view beside the layer builder shows the same network once its dock is raised.
    window.docks["networkDock"].raise_()
    qtbot.waitExposed(window.network_compact)
    window.redraw()
    assert window.network_compact.canvas.pic is not None
    assert len(window.network_compact.canvas.pic.layers) == 4


def test_hover_names_dead_and_saturated_units_and_the_gradients_figures():
    def layer(kind: str, dead: bool, sat: bool) -> UnitLayer:
        return UnitLayer(
            "Linear 1 (2→1)",
            kind,
            1,
            np.array([0]),
            np.array([0.0]),
            np.array([0.0 if dead else 0.99]),
            np.array([dead]),
            np.array([sat]),
            np.array([[0.5, -2.0]]),
        )

    inputs = UnitLayer(
        "", "input", 2, np.arange(2), np.zeros(2), np.ones(2), np.zeros(2, bool), np.zeros(2, bool), None
    )
    dead = unit_text(layer("relu", True, False), 0, inputs, None)
    assert "DEAD" in dead and "x2: -2" in dead.replace("−", "-")  # the largest incoming weight first
    assert dead.index("x2") < dead.index("x1")
    assert "SATURATED" in unit_text(layer("tanh", False, True), 0, inputs, None)


def test_other_inputs_get_histograms(qtbot, window):
    use(
        window,
        {"kind": "house_prices", "n_samples": 150},
        "mse",
        [{"type": "linear", "units": 5}, {"type": "sigmoid"}],
        1,
    )
    train(qtbot, window)
    view = tab(qtbot, window, "networkView")
    pic = view.canvas.pic
    assert pic is not None and pic.extent is None
    assert all(layer.hist is not None and layer.grid is None for layer in pic.layers)
    assert view.canvas._images == [[] for _ in pic.layers]  # no heatmaps: histograms are painted
    # Regression on the map: mean |error| / std(y), drawn downwards so that easy stays on top.
    carto = tab(qtbot, window, "cartographyView")
    assert carto.carto is not None and carto.carto.regression
    assert carto.plot.plot_item.getViewBox().yInverted()
    assert "mean |error|" in carto.plot.plot_item.getAxis("left").labelText


def test_cartography_finds_flipped_labels_and_selection_reaches_task_views_and_table(qtbot, window):
    layers = [{"type": "linear", "units": 16}, {"type": "tanh"}]
    use(window, {"kind": "moons", "n_samples": 300, "label_noise": 0.15, "seed": 3}, "bce_logits", layers, 12)
    carto = tab(qtbot, window, "cartographyView")
    train(qtbot, window)
    window.redraw()
    h = carto.history
    assert h is not None and h.count == 12 and carto.carto is not None
    flipped = np.asarray(window.state.dataset.outliers_train, dtype=bool)
    assert "flipped labels" in carto.summary.text() and "hard" in carto.summary.text()
    assert (carto.carto.region[flipped] == 2).mean() > 0.5

    carto.region_buttons["hard"].click()
    hard = np.flatnonzero(carto.carto.region == 2).tolist()
    assert hard and carto.plot.selected.tolist() == hard
    assert window.task_view.highlighted.tolist() == hard  # the Training tab's task view
    assert carto.task_view.highlighted.tolist() == hard
    samples = tab(qtbot, window, "samplesView")
    assert sorted(samples.selected_samples()) == hard  # the Samples table's rows

    # The table has the history: confidence, region and a sparkline of the loss per epoch.
    model = samples.model
    row = model.row_of(hard[0])
    assert model.cell(row, model.column_of("region"))[0] == "hard"
    assert np.isfinite(model.value(row, "conf")) and len(model.spark(row)) == 12
    assert np.allclose(model.spark(row), h.loss[hard[0]])

    # And back: rows selected in the table are ringed on the map.
    samples.table.clearSelection()
    samples.table.selectRow(0)
    assert carto.plot.selected.tolist() == [model.sample_at(0)]


@pytest.mark.parametrize("name", ["networkView", "cartographyView"])
def test_views_render_with_both_themes(qtbot, window, name):
    use(
        window,
        {"kind": "moons", "n_samples": 120},
        "bce_logits",
        [{"type": "linear", "units": 4}, {"type": "relu"}],
        2,
    )
    view = tab(qtbot, window, name)
    train(qtbot, window)
    image = view.grab()
    assert image.width() > 300 and image.height() > 200
    window._on_color_scheme()
    window.redraw()
    assert view.isVisible()


@pytest.mark.parametrize(("masks", "value"), [(False, "P(true class)"), (True, "soft IoU")])
def test_cartography_axes_name_what_a_sample_s_value_is(qtbot, masks, value):
    import numpy as np

    from losslab.core.sample_history import Cartography
    from losslab.gui.plots.cartography_view import CartographyPlot

    plot = CartographyPlot(on_select=lambda *_: None)
    qtbot.addWidget(plot)
    v = np.array([0.1, 0.2])
    plot.set_map(Cartography(v, v, v, np.array([0, 1]), False), masks)
    assert value in plot.plot_item.getAxis("left").labelText
    assert value in plot.plot_item.getAxis("bottom").labelText
