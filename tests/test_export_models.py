"""`losslab export EXP --weights/--torchscript/--onnx` and `losslab runs export ID ...`: each file
loads back (state_dict, torch.jit.load, onnx's reference evaluator) and gives the trained network's
outputs; ONNX without the onnx package is one clear message before any training."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest
import torch

from losslab.cli import main
from losslab.core.experiment import load_experiment
from losslab.core.script_export import models
from losslab.core.trainer import make_trainer

# TorchScript is in maintenance in torch 2.13 (torch.jit.load warns); it is what the issue asks for.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"
MOONS = EXAMPLES / "05_moons_bce_logits.losslab"
SHAPES_CNN = EXAMPLES / "22_shapes_cnn_cross_entropy.losslab"


def trained(example: Path, epochs: int) -> tuple[torch.nn.Module, torch.Tensor]:
    """The network LossLab trains (as `losslab run` does), in evaluation mode, and some inputs."""
    trainer = make_trainer(load_experiment(example).replace("training", epochs=epochs), threads=1)
    trainer.run()
    trainer.model.eval()
    return trainer.model, trainer.x_val[:6]


@pytest.mark.parametrize(("example", "epochs"), [(MOONS, 2), (SHAPES_CNN, 1)])
def test_weights_and_torchscript_give_the_trained_network_s_outputs(
    example: Path, epochs: int, tmp_path: Path
) -> None:
    weights, scripted = tmp_path / "w.pt", tmp_path / "m.pt"
    args = ["export", str(example), "--epochs", str(epochs), "--device", "cpu"]
    assert main([*args, "--weights", str(weights), "--torchscript", str(scripted)]) == 0
    net, x = trained(example, epochs)
    with torch.no_grad():
        expected = net(x)
        state = torch.load(weights, weights_only=True)
        fresh = make_trainer(load_experiment(example), threads=1).model
        fresh.load_state_dict(state)
        fresh.eval()
        torch.testing.assert_close(fresh(x), expected)
        torch.testing.assert_close(torch.jit.load(str(scripted))(x), expected)
    # The weights also fit the exported script's own network.
    script = tmp_path / "train.py"
    assert main(["export", str(example), "--script", str(script)]) == 0
    own = runpy.run_path(str(script), run_name="exported")["build_model"]()
    own.load_state_dict(state)
    own.eval()
    with torch.no_grad():
        torch.testing.assert_close(own(x), expected)


def test_onnx_gives_the_trained_network_s_outputs(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")  # the optional extra: CI installs only .[test]
    from onnx.reference import ReferenceEvaluator

    out = tmp_path / "m.onnx"
    assert main(["export", str(MOONS), "--epochs", "2", "--device", "cpu", "--onnx", str(out)]) == 0
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    net, x = trained(MOONS, 2)
    batch = torch.cat([x, x[:3]])  # the batch size is free
    (got,) = ReferenceEvaluator(model).run(None, {"input": batch.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, net(batch).numpy(), rtol=1e-4, atol=1e-5)


def test_onnx_without_the_package_says_how_to_get_it_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(models, "onnx_available", lambda: False)
    trains = []
    monkeypatch.setattr(models, "train_for_export", lambda *a, **k: trains.append(1))
    assert main(["export", str(MOONS), "--onnx", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'losslab[onnx]'" in err and "Traceback" not in err
    assert not trains and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("flag", ["--weights", "--torchscript", "--onnx", "--script"])
@pytest.mark.parametrize("where", ["a folder", "inside a file"])
def test_an_output_that_cannot_be_written_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flag: str, where: str
) -> None:
    monkeypatch.setattr(models, "onnx_available", lambda: True)
    trains = []
    monkeypatch.setattr(models, "train_for_export", lambda *a, **k: trains.append(1))
    (tmp_path / "notes.txt").write_text("x")
    target = tmp_path if where == "a folder" else tmp_path / "notes.txt" / "out.bin"
    assert main(["export", str(MOONS), flag, str(target)]) == 2
    err = capsys.readouterr().err
    assert flag in err and ("is a folder" in err or "is not a folder" in err) and "Traceback" not in err
    assert not trains


def test_a_stored_run_exports_its_own_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path / "data"))
    assert main(["run", str(MOONS), "--epochs", "2", "--quiet", "--out", str(tmp_path / "run")]) == 0
    files = {name: tmp_path / name for name in ("s.py", "w.pt", "m.pt")}
    args = ["runs", "export", "1", "--script", str(files["s.py"]), "--weights", str(files["w.pt"])]
    assert main([*args, "--torchscript", str(files["m.pt"])]) == 0
    stored = torch.load(tmp_path / "run" / "weights.pt", weights_only=True)
    exported = torch.load(files["w.pt"], weights_only=True)
    assert stored.keys() == exported.keys()
    assert all(torch.equal(stored[k], exported[k]) for k in stored)
    net = make_trainer(load_experiment(MOONS), threads=1).model
    net.load_state_dict(stored)
    net.eval()
    x = torch.randn(5, 2)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(files["m.pt"]))(x), net(x))
    assert "EPOCHS = 2" in files["s.py"].read_text()  # the run's experiment, its overrides included
    capsys.readouterr()
    assert main(["runs", "export", "1"]) == 2
    assert "give --out DIR, or --script" in capsys.readouterr().err
