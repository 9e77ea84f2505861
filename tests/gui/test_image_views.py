"""Image data in the window (#14): the Images view through the real worker, the layer table's shapes,
and the 2-D views saying they do not apply instead of failing."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from losslab.core.experiment import load_experiment
from losslab.core.resources import examples_dir
from losslab.gui.plots.image_views import confidently_wrong, confusion_matrix
from losslab.gui.plots.landscape_view import IMAGE_GRID


def _view(window, name: str) -> QWidget:
    view = window.findChild(QWidget, name)
    assert view is not None, name
    window.views.setCurrentWidget(view)  # drawn only while visible
    return view


def _open(window, stem: str, **training) -> None:
    window.state.replace_experiment(load_experiment(examples_dir() / f"{stem}.losslab"))
    smaller = {k: v for k, v in window.state.experiment.dataset.items() if k == "n_samples"}
    window.state.update("dataset", n_samples=min(smaller["n_samples"], 300))
    window.state.update("training", **training)


def _train(qtbot, window) -> None:
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)


def test_confusion_matrix_and_confidently_wrong():
    true = np.array([0, 0, 1, 2, 2])
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3], [0, 0, 1]])
    counts = confusion_matrix(true, probs.argmax(axis=1), 3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert confidently_wrong(true, probs, 5).tolist() == [1, 3]  # 70% sure before 60% sure


def test_images_view_shows_the_classifier_live(qtbot, window):
    _open(window, "22_shapes_cnn_cross_entropy", epochs=2)
    view = _view(window, "imagesView")
    assert view.page == "classes"
    _train(qtbot, window)
    window.redraw()
    page = view.classes
    trainer = window.trainer
    assert (
        view.latest is not None
        and view.latest.epoch == 2
        and view.latest.probs.shape == (trainer.dataset.n_val, 4)
    )
    # The matrix is the trainer's own validation accuracy, read back from the table.
    counts = np.array([[int(page.confusion.item(r, c).text()) for c in range(4)] for r in range(4)])
    assert counts.sum() == trainer.dataset.n_val
    assert np.trace(counts) / counts.sum() == trainer.history.last("val_accuracy")
    assert "classified right" in page.summary.text()
    assert page.tiles[0].picture.pixmap() is not None and page.tiles[0].caption.text()
    # The layer table shows the shape after each layer.
    table = window.layer_panel.table
    assert table.item(0, 2).text() == "1×28×28" and table.item(1, 2).text() == "8×28×28"
    # The 2-D views say they do not apply.
    assert window.findChild(QWidget, "samplesView") is not None
    landscape = _view(window, "landscapeView")
    landscape.mode_combo.setCurrentIndex(landscape.mode_combo.findData("grid"))
    landscape.compute_button.click()
    assert not landscape.runner.busy and landscape.status.text() == IMAGE_GRID


def test_images_view_shows_predicted_masks_and_iou(qtbot, window):
    _open(window, "23_segmentation_dice", epochs=3)
    view = _view(window, "imagesView")
    assert view.page == "masks"
    _train(qtbot, window)
    window.redraw()
    page = view.segmentation
    assert view.latest is not None and view.latest.masks and view.latest.probs.ndim == 3
    assert page.val_iou == window.trainer.history["val_iou"]
    x, y = page.val_curve.getData()
    assert len(x) == 3 and np.allclose(y, page.val_iou)
    assert page.tiles[0][2].caption.text().startswith("IoU ")
    samples = _view(window, "samplesView")
    assert "not available for segmentation" in samples.summary.text()


def test_other_data_gets_a_note_and_the_dataset_preview_shows_images(qtbot, window):
    view = _view(window, "imagesView")
    assert view.page == "none"
    _open(window, "22_shapes_cnn_cross_entropy")
    panel = window.dataset_panel
    items = panel.plot.getPlotItem().items
    assert any(type(item).__name__ == "ImageItem" for item in items)
    assert view.page == "classes"
    assert window.task_view.mode == "image"
