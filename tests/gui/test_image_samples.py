"""Image data in the Samples tab and segmentation's headline metric in the Training tab, through the
real worker (#14 leftovers)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtWidgets import QWidget

from losslab.core.experiment import load_experiment
from losslab.core.resources import examples_dir


def _open(window, stem: str, n_samples: int, epochs: int) -> None:
    window.state.replace_experiment(load_experiment(examples_dir() / f"{stem}.losslab"))
    window.state.update("dataset", n_samples=n_samples)
    window.state.update("training", epochs=epochs)


def _train(qtbot, window) -> None:
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)
    window.redraw()


def test_samples_of_images_are_thumbnails_and_a_selected_one_shows_large(qtbot, window):
    _open(window, "22_shapes_cnn_cross_entropy", 300, 2)
    view = window.findChild(QWidget, "samplesView")
    window.views.setCurrentWidget(view)
    _train(qtbot, window)
    model = view.model
    keys = [model.key_of(c) for c in range(model.columnCount())]
    assert keys[:3] == ["sample", "image", "loss"]
    assert not [k for k in keys if k.startswith("x")]  # no pixel values as feature columns
    assert {"spark", "region", "conf", "var", "pred", "target"} <= set(keys)  # history columns kept
    ds = window.trainer.dataset
    assert model.images.shape == (ds.n_train, 28, 28)
    # The thumbnail is the sample's own image: brightest where the shape is.
    sample = model.sample_at(0)
    pixels = ds.x_to_display(ds.x_train[sample]).reshape(28, 28)
    thumb = model.image(0).astype(np.float64)
    assert np.corrcoef(thumb.ravel(), pixels.ravel())[0, 1] > 0.95
    assert view.table.rowHeight(0) >= 28
    assert view.pictures.currentWidget() is view.images
    # Selecting a row shows its image large, with its label and the model's prediction.
    view.table.selectRow(0)
    large = view.images.large
    assert not large.isHidden() and large.picture.pixmap().width() >= 150
    caption = large.caption.text()
    assert f"sample {sample}" in caption and "label" in caption and "predicted" in caption
    view.table.selectRow(1)
    view.table.selectionModel().select(
        model.index(2, 0),
        view.table.selectionModel().SelectionFlag.Select | view.table.selectionModel().SelectionFlag.Rows,
    )
    assert large.isHidden() and sum(not t.isHidden() for t in view.images.small) == 2


def test_training_tab_plots_iou_for_masks(qtbot, window, data_dir):
    from losslab.core.runs import open_store
    from losslab.gui.runs.compare_view import headline_key
    from losslab.gui.runs.run_table import metric_text

    _open(window, "23_segmentation_dice", 120, 2)
    _train(qtbot, window)
    # The stored run (Runs dock, compare view) ranks by IoU too.
    with open_store() as store:
        (run,) = store.list_runs()
        record = store.get_run(run.id)
    assert run.headline == "iou" and headline_key(record) == "val_iou"
    assert metric_text(run) == f"IoU {window.trainer.history['val_iou'][-1]:.3f}"
    plot = window.findChild(QWidget, "metricPlot")
    assert plot.metric_name == "iou"
    assert plot.plot_item.getAxis("left").labelText == "IoU"
    _, y = plot.val_item.getData()
    history = window.trainer.history["val_iou"]
    assert len(y) == 2 and np.allclose(y, history)
    assert not np.allclose(y, window.trainer.history["val_accuracy"])
    # Back on a classifier, accuracy again.
    _open(window, "22_shapes_cnn_cross_entropy", 100, 1)
    _train(qtbot, window)
    assert plot.metric_name == "accuracy" and math.isfinite(plot.val_item.getData()[1][-1])


def test_race_window_on_images(qtbot, window, data_dir):
    """A conv net's variants race together (batched) in the window; a race on masks ranks by IoU."""
    from losslab.gui.race import RaceDialog, open_race, race_window

    for stem, header in (("22_shapes_cnn_cross_entropy", "Accuracy"), ("24_segmentation_bce", "IoU")):
        _open(window, stem, 120, 1)
        dialog = open_race(window, None)
        assert isinstance(dialog, RaceDialog)
        dialog.select("optimizer.lr")
        dialog.set_values_text("0.001, 0.003")
        assert dialog.refusal == "" and dialog.start_button.isEnabled(), dialog.refusal
        dialog.start_button.click()
        races = race_window(window)
        qtbot.waitUntil(lambda races=races: not races.running and races.result is not None, timeout=60_000)
        rows = races.view.row_texts()
        assert [r[2] for r in rows] == ["finished"] * 2
        assert [r[1] for r in rows] == ["batched"] * 2
        assert races.view.table.horizontalHeaderItem(6).text() == header
        for row, v in zip(rows, races.result.variants, strict=True):
            assert v.final["metric"] == ("iou" if header == "IoU" else "accuracy")
            assert row[6] == f"{v.final['metric_value']:.4g}"
        assert races.result.fair
        races.close()
