"""`losslab export EXP --script`: a standalone PyTorch script that prints the losses LossLab's trainer
computes (every bundled example that can be exported; those that cannot say why), runs without
LossLab importable, and trains under torchrun with two processes."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import math
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from losslab.cli import main
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.optim import SCHEDULES
from losslab.core.resources import list_examples
from losslab.core.script_export import script_text, write_script
from losslab.core.script_export.template import SCHEDULE_FACTORS
from losslab.core.tasks import GAN
from losslab.core.trainer import make_trainer
from losslab.core.trust import allow_experiment_code

ROOT = Path(__file__).resolve().parents[1]
EPOCH = re.compile(r"epoch\s+(\d+)/\d+\s+train_loss (\S+)\s+val_loss (\S+)")
DIVERGED = re.compile(r"diverged at epoch (\d+), step (\d+)")
TOLERANCE = 1e-5  # relative, per epoch and per loss (the bar; measured ~1e-10, print precision)


def _rel(a: float, b: float) -> float:
    if math.isnan(a) and math.isnan(b):
        return 0.0
    return abs(a - b) / max(abs(b), 1e-12)


def run_script(path: Path, *args: str) -> tuple[int, str]:
    """The script's main() in this process (no second torch import), its exit code and output."""
    namespace = runpy.run_path(str(path), run_name="exported")
    out = io.StringIO()
    threads = torch.get_num_threads()
    try:
        with contextlib.redirect_stdout(out):
            code = namespace["main"]([*args, "--device", "cpu", "--out", ""])
    finally:
        torch.set_num_threads(threads)
    return code, out.getvalue()


def check_fidelity(exp: Experiment, path: Path, epochs: int) -> float:
    """Train with LossLab's trainer and with the script; assert the same epochs, losses and end."""
    allow_experiment_code(exp)
    exp = exp.replace("training", epochs=epochs, device="cpu")
    write_script(exp, path)
    result = make_trainer(exp, threads=1, diagnostics=False).run()
    code, text = run_script(path, "--epochs", str(epochs))
    rows = [(int(m[1]), float(m[2]), float(m[3])) for m in EPOCH.finditer(text)]
    expected = [(int(r["epoch"]), r["train_loss"], r["val_loss"]) for r in result.history.rows]
    assert [r[0] for r in rows] == [r[0] for r in expected], text
    worst = max(
        (max(_rel(a[1], b[1]), _rel(a[2], b[2])) for a, b in zip(rows, expected, strict=True)), default=0.0
    )
    assert worst <= TOLERANCE, (path.name, worst)
    if result.diverged is not None:
        assert code == 3
        found = DIVERGED.search(text)
        assert found is not None, text
        assert (int(found[1]), int(found[2])) == (result.diverged.epoch, result.diverged.step)
    else:
        assert code == 0, text
    if result.early_stop is not None:
        assert "early stopping at epoch" in text
    return worst


def test_every_bundled_example_prints_the_losses_losslab_computes(tmp_path: Path) -> None:
    measured: dict[str, float] = {}
    for example in list_examples():
        exp = load_experiment(example)
        if make_dataset_task(exp) == GAN:
            with pytest.raises(LossLabError, match="GAN experiment cannot be exported"):
                script_text(exp)
            continue
        epochs = 40 if exp.training.get("early_stopping") else 2  # early stopping: let it stop
        measured[example.stem] = check_fidelity(exp, tmp_path / f"{example.stem}.py", epochs)
    assert len(measured) >= 20
    print(json.dumps({k: f"{v:.1e}" for k, v in measured.items()}, indent=1))


def make_dataset_task(exp: Experiment) -> str:
    from losslab.core.data import DATASETS

    return DATASETS[exp.dataset["kind"]].task


def _experiment(**sections: Any) -> Experiment:
    """The default experiment with these sections in place of its own."""
    return Experiment.from_dict({**Experiment.default().to_dict(), **sections})


def test_layers_schedules_regularization_and_early_stopping_match(tmp_path: Path) -> None:
    """What the examples leave out: BatchNorm (a lone leftover sample), dropout, residual blocks,
    layer norm, xavier init, L1 and L2, clipping, Nesterov momentum, cosine with warm-up; then
    class weights, label smoothing, reduce-on-plateau and early stopping on full batches."""
    mixed = _experiment(
        dataset={"kind": "moons", "n_samples": 161, "seed": 1},
        model={
            "layers": [
                {"type": "linear", "units": 12},
                {"type": "batchnorm"},
                {"type": "leaky_relu", "negative_slope": 0.1},
                {"type": "dropout", "p": 0.3},
                {"type": "residual", "depth": 2, "activation": "gelu"},
                {"type": "layernorm"},
                {"type": "softplus"},
            ],
            "init": "xavier",
        },
        loss={"id": "focal", "params": {"gamma": 1.5}},
        optimizer={
            "id": "sgd",
            "lr": 0.1,
            "grad_clip": 0.5,
            "params": {"momentum": 0.9, "nesterov": True},
            "schedule": {"id": "cosine", "params": {"min_factor": 0.1}, "warmup_epochs": 2},
        },
        regularization={"l1": 0.001, "l2": 0.01},
        training={"epochs": 5, "batch_size": 16, "seed": 5},
    )
    check_fidelity(mixed, tmp_path / "mixed.py", 5)
    plateau = _experiment(
        dataset={"kind": "blobs", "n_samples": 200, "seed": 2, "n_classes": 3, "spread": 1.5},
        model={"layers": [{"type": "linear", "units": 8}, {"type": "relu"}], "init": "kaiming"},
        loss={"id": "cross_entropy", "params": {"class_weights": [1.0, 2.0, 0.5], "label_smoothing": 0.1}},
        optimizer={"id": "rmsprop", "lr": 0.05, "schedule": {"id": "plateau", "params": {"patience": 1}}},
        training={"epochs": 40, "batch_size": 0, "seed": 3, "early_stopping": 4},
    )
    check_fidelity(plateau, tmp_path / "plateau.py", 40)


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_each_schedule_is_the_registry_s_arithmetic(schedule: str) -> None:
    spec = SCHEDULES[schedule]
    params = {p.name: p.default for p in spec.params}
    if schedule == "step":
        params = {"step_size": 3, "gamma": 0.7}
    scope = {"math": math, **{k.upper(): v for k, v in params.items()}}
    for epochs in (1, 7, 20):
        for epoch in range(epochs + 2):
            value = eval(SCHEDULE_FACTORS[schedule], scope, {"epoch": epoch, "epochs": epochs})
            assert value == spec.factor(epoch, epochs, params)


def test_a_csv_experiment_reads_its_file(tmp_path: Path) -> None:
    rows = ["size;rooms;kind"] + [
        f"{i * 1.5:.1f}".replace(".", ",") + f";{i % 5};{'ab'[i % 2] if i % 3 else 'c'}" for i in range(60)
    ]
    data = tmp_path / "flats.csv"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    exp = _experiment(
        dataset={"kind": "csv", "path": str(data), "seed": 4},
        model={"layers": [{"type": "linear", "units": 6}, {"type": "tanh"}]},
        loss={"id": "cross_entropy"},
        optimizer={"id": "adam", "lr": 0.02},
        training={"epochs": 3, "batch_size": 16},
    )
    check_fidelity(exp, tmp_path / "flats.py", 3)
    text = (tmp_path / "flats.py").read_text()
    assert "DELIMITER, DECIMAL = ';', ','" in text and "CLASS_NAMES = ['a', 'b', 'c']" in text


def test_a_csv_with_a_text_feature_is_refused_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "pets.csv"
    data.write_text("kind,weight\n" + "".join(f"{['cat', 'dog'][i % 2]},{i}\n" for i in range(30)))
    exp = _experiment(
        dataset={"kind": "csv", "path": str(data), "target_column": "weight", "task": "regression"},
        loss={"id": "mse"},
    )
    with pytest.raises(LossLabError, match="text columns"):
        script_text(exp)


def test_a_custom_loss_is_copied_verbatim_and_may_not_shadow_the_script(tmp_path: Path) -> None:
    example = ROOT / "resources" / "examples" / "15_sine_quantile_custom.losslab"
    exp = load_experiment(example)
    text = script_text(exp)
    assert exp.loss["code"].rstrip() in text and "copied verbatim from the experiment" in text
    clash = exp.loss["code"] + "\ndef evaluate(x):\n    return x\n"
    with pytest.raises(LossLabError, match="defines evaluate"):
        script_text(exp.replace("loss", code=clash))


def _imports(text: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": "", "PYTHONNOUSERSITE": "1"}


def test_the_script_runs_alone_and_its_weights_are_losslab_s(tmp_path: Path) -> None:
    """`losslab export --script`, then `python out.py` with LossLab made unimportable."""
    example = ROOT / "resources" / "examples" / "07_spiral_cross_entropy.losslab"
    script = tmp_path / "spiral.py"
    assert main(["export", str(example), "--script", str(script), "--epochs", "2"]) == 0
    assert _imports(script.read_text()) <= {
        "__future__",
        "argparse",
        "csv",
        "math",
        "os",
        "typing",
        "collections",
        "numpy",
        "torch",
    }
    blocked = (
        "import sys; sys.modules['losslab'] = None; import runpy; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked, str(script), "--out", "w.pt", "--device", "cpu"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(EPOCH.findall(done.stdout)) == 2
    trainer = make_trainer(load_experiment(example).replace("training", epochs=2), device="cpu", threads=1)
    trainer.run()
    state = torch.load(tmp_path / "w.pt", weights_only=True)
    assert state.keys() == trainer.model.state_dict().keys()
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(state[key], value, rtol=1e-5, atol=1e-6)


def test_torchrun_trains_with_two_processes_and_rank_0_saves(tmp_path: Path) -> None:
    example = ROOT / "resources" / "examples" / "05_moons_bce_logits.losslab"
    script = tmp_path / "moons.py"
    write_script(load_experiment(example), script)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(script),
            "--epochs",
            "3",
            "--device",
            "cpu",
            "--out",
            "ddp.pt",
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    epochs = [int(m[0]) for m in EPOCH.findall(done.stdout)]
    assert epochs == [1, 2, 3], done.stdout  # printed once, by rank 0
    assert [float(m[1]) for m in EPOCH.findall(done.stdout)][-1] < 0.7  # it learned (BCE starts ~0.69)
    state = torch.load(tmp_path / "ddp.pt", weights_only=True)
    net = runpy.run_path(str(script), run_name="exported")["build_model"]()
    net.load_state_dict(state)  # the saved weights are the script's (and LossLab's) network's


def test_the_cli_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = ROOT / "resources" / "examples" / "05_moons_bce_logits.losslab"
    assert main(["export", str(example)]) == 2
    assert "nothing to export" in capsys.readouterr().err
    gans = [p for p in list_examples() if make_dataset_task(load_experiment(p)) == GAN]
    if gans:
        assert main(["export", str(gans[0]), "--script", str(tmp_path / "g.py")]) == 2
        assert "GAN experiment cannot be exported" in capsys.readouterr().err
        assert not (tmp_path / "g.py").exists()
