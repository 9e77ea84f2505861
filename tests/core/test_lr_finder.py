"""The learning-rate range test: core, losslab.lr_find and `losslab lr-find`."""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import losslab
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.lr_finder import Cancelled, lr_find, smooth, suggest
from losslab.core.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
TOO_HIGH = ROOT / "resources" / "examples" / "11_learning_rate_too_high.losslab"
MOONS = {
    "format": "losslab",
    "schema_version": 1,
    "dataset": {"kind": "moons", "n_samples": 400, "noise": 0.2, "seed": 2},
    "model": {"layers": [{"type": "linear", "units": 16}, {"type": "tanh"}]},
    "loss": {"id": "bce_logits"},
    "optimizer": {"id": "adam", "lr": 0.01},
    "training": {"epochs": 5, "batch_size": 32, "device": "cpu"},
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sweep_suggests_a_rate_that_trains_where_10_diverged():
    exp = load_experiment(TOO_HIGH)
    result = lr_find(exp)
    assert result.stopped_early  # the loss blew up before 10
    n = len(result.lrs)
    assert 10 < n < 100 and len(result.losses) == len(result.raw_losses) == n
    assert result.lrs[0] == pytest.approx(1e-6)
    ratios = result.lrs[1:] / result.lrs[:-1]
    assert np.allclose(ratios, ratios[0])  # exponential
    assert 1e-3 < result.suggestion < result.min_lr < 10
    assert f"{result.suggestion:g}" in result.message
    fixed = exp.replace("optimizer", lr=result.suggestion)
    history = Trainer(fixed).run().history
    assert history["val_r2"][-1] > 0.9


def test_the_example_uses_the_rate_the_finder_suggests():
    fixed = load_experiment(ROOT / "resources" / "examples" / "21_learning_rate_from_finder.losslab")
    assert lr_find(load_experiment(TOO_HIGH)).suggestion == fixed.optimizer["lr"]


def test_sweep_starts_from_the_initial_weights_and_leaves_the_random_stream_alone():
    exp = Experiment.from_dict(MOONS)
    state = torch.random.get_rng_state()
    first = lr_find(exp, steps=30)
    assert torch.equal(torch.random.get_rng_state(), state)  # a training run beside it keeps its stream
    second = lr_find(exp, steps=30)
    assert np.array_equal(first.raw_losses, second.raw_losses)  # same initial weights, same batches
    initial_loss, _ = Trainer(exp).evaluate(*_train_tensors(exp))
    assert first.raw_losses[0] == pytest.approx(initial_loss, rel=0.5)


def _train_tensors(exp):
    trainer = Trainer(exp)
    return trainer.x_train, trainer.y_train


def test_progress_and_cancel():
    seen = []
    lr_find(Experiment.from_dict(MOONS), steps=20, progress=lambda *a: seen.append(a))
    assert [s[0] for s in seen] == list(range(1, len(seen) + 1)) and seen[0][1] == 20
    with pytest.raises(Cancelled):
        lr_find(Experiment.from_dict(MOONS), steps=20, cancelled=lambda: True)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"start": 1.0, "end": 0.1}, "start"), ({"start": 0.0}, "start"), ({"steps": 2}, "steps")],
)
def test_bad_ranges_are_clear_errors(kwargs, field):
    with pytest.raises(LossLabError) as info:
        lr_find(Experiment.from_dict(MOONS), **kwargs)
    assert info.value.field == field


def test_gan_is_refused_with_the_reason():
    doc = copy.deepcopy(MOONS)
    doc["dataset"] = {"kind": "gan_ring", "n_samples": 256}
    doc["loss"] = {"id": "gan_g_nonsat"}
    with pytest.raises(LossLabError, match="GAN"):
        lr_find(Experiment.from_dict(doc))


def test_suggestion_is_the_steepest_point_before_the_minimum():
    lrs = np.geomspace(1e-5, 10, 61)
    x = np.log10(lrs)
    curve = 1 - 0.9 / (1 + np.exp(-(x + 2) * 4)) + np.where(x > 0, (x - 0) * 3, 0)  # steepest at 1e-2
    got, min_lr = suggest(lrs, smooth(curve, 2))
    assert got == pytest.approx(1e-2, rel=0.3)
    assert 1e-2 < min_lr <= 1.5
    assert suggest(lrs, np.linspace(1, 2, 61))[0] is None  # never falls: no suggestion


def test_api_returns_the_curve_and_the_suggestion():
    result = losslab.lr_find(str(TOO_HIGH), steps=60)
    assert result.suggestion is not None and len(result.lrs) == len(result.losses)
    assert all(math.isfinite(v) for v in result.losses[:-3])
    assert losslab.lr_find(MOONS, steps=20).lrs[0] == pytest.approx(1e-6)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-m", "losslab", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_prints_the_curve_and_the_suggestion():
    result = _cli("lr-find", str(TOO_HIGH), "--steps", "60")
    assert result.returncode == 0, result.stderr
    assert "learning rate" in result.stdout and "suggested learning rate:" in result.stdout
    value = float(result.stdout.strip().splitlines()[-1].split(":")[1])
    assert 1e-3 < value < 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--start", "1", "--end", "0.5"], ["--start"]),
        (["--steps", "1"], ["--steps"]),
        (["--end", "abc"], ["invalid float"]),
    ],
)
def test_cli_bad_input_exits_2_with_one_message(args, words):
    result = _cli("lr-find", str(TOO_HIGH), *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and all(w in result.stderr for w in words)


def test_cli_missing_file_exits_2():
    result = _cli("lr-find", "no-such-file.losslab")
    assert result.returncode == 2 and "no such file" in result.stderr
