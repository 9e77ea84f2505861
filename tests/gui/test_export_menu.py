"""File > Export as PyTorch Script… and Export Trained Network (weights, TorchScript, ONNX): the
experiment the window holds (as edited), the network the window trained, clear messages otherwise."""

import runpy

import pytest
import torch
from PySide6.QtWidgets import QFileDialog

from losslab.core.script_export import models
from losslab.core.trainer import make_trainer

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")


def _answer(monkeypatch, path):
    """The save dialog answers ``path`` (and remembers the title it was opened with)."""
    asked = []

    def save_dialog(parent, title, start, file_filter, *args, **kwargs):
        asked.append(title)
        return str(path), file_filter

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_dialog))
    return asked


def test_the_script_holds_the_window_s_experiment_as_edited(window, monkeypatch, tmp_path):
    window.state.update("optimizer", lr=0.0123)
    window.state.update("training", epochs=7, batch_size=16)
    asked = _answer(monkeypatch, tmp_path / "mine")  # no suffix: .py is added
    window.actionExportScript.trigger()
    assert asked == ["Export as PyTorch script"]
    text = (tmp_path / "mine.py").read_text()
    assert "LR = 0.0123" in text and "EPOCHS = 7" in text and "BATCH_SIZE = 16" in text
    namespace = runpy.run_path(str(tmp_path / "mine.py"), run_name="exported")
    x_train, *_ = namespace["make_data"]()
    assert x_train.shape == window.state.dataset.x_train.shape  # the data the trainer gets
    assert (x_train == window.state.dataset.x_train).all()


def test_a_failed_write_says_why(window, dialogs, monkeypatch, tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    _answer(monkeypatch, blocker / "train.py")
    window.actionExportScript.trigger()
    kind, title, text = dialogs.seen[-1]
    assert kind == "warning" and "Cannot export" in title and "cannot write the script" in text
    assert blocker.read_text() == "not a folder"


def test_the_network_exports_need_a_trained_network(window, dialogs, monkeypatch, tmp_path):
    _answer(monkeypatch, tmp_path / "w.pt")
    window.actionExportWeights.trigger()
    assert dialogs.seen[-1][0] == "information" and "Nothing is trained yet" in dialogs.seen[-1][2]
    assert not (tmp_path / "w.pt").exists()


def test_the_trained_network_exports_as_weights_and_torchscript(qtbot, window, monkeypatch, tmp_path):
    window.state.update("training", epochs=2, batch_size=32)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=30_000)
    net = window.trainer.model
    net.eval()
    x = window.trainer.x_val[:5].cpu()
    with torch.no_grad():
        expected = net.to("cpu")(x)
    _answer(monkeypatch, tmp_path / "w.pt")
    window.actionExportWeights.trigger()
    _answer(monkeypatch, tmp_path / "m.pt")
    window.actionExportTorchScript.trigger()
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    fresh = make_trainer(window.trainer.experiment, device="cpu").model  # other (initial) weights
    with torch.no_grad():
        fresh.load_state_dict(state)
        fresh.eval()
        torch.testing.assert_close(fresh(x), expected)
        torch.testing.assert_close(torch.jit.load(str(tmp_path / "m.pt"))(x), expected)


def test_onnx_without_the_package_says_how_to_get_it(qtbot, window, dialogs, monkeypatch, tmp_path):
    window.state.update("training", epochs=1, batch_size=32)
    window.actionTrain.trigger()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=30_000)
    monkeypatch.setattr(models, "onnx_available", lambda: False)
    asked = _answer(monkeypatch, tmp_path / "m.onnx")
    window.actionExportOnnx.trigger()
    assert dialogs.seen[-1][0] == "warning" and "pip install" in dialogs.seen[-1][2]
    assert not asked and not (tmp_path / "m.onnx").exists()


def test_the_file_menu_lists_the_exports(window):
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert "Export as PyTorch &Script…" in texts and "Export Trained &Network" in texts
    network = window.findChild(type(file_menu), "exportNetworkMenu")
    assert [a.objectName() for a in network.actions()] == [
        "actionExportWeights",
        "actionExportTorchScript",
        "actionExportOnnx",
    ]
