"""The CUDA path: every shipped example trains on a GPU, its probes and tools run there, and the
numbers agree with the CPU's. Skipped where torch sees no CUDA device (CI never has one)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from losslab.core.experiment import Experiment, load_experiment
from losslab.core.resources import list_examples
from losslab.core.trainer import make_trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

EXAMPLES = [p for p in list_examples() if "custom" not in p.stem]  # custom code needs trust: tested below


def short(path, epochs: int = 3):
    exp = load_experiment(path)
    return exp.replace("training", epochs=min(epochs, exp.training["epochs"]))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_trains_on_cuda(path):
    exp = short(path)
    events = []
    trainer = make_trainer(exp, device="cuda", diagnostics=True)
    assert str(trainer.device).startswith("cuda")
    trainer.run(events.append)  # some examples diverge on purpose: they must still run
    assert trainer.step > 0
    assert next(p.device.type for p in trainer.model.parameters()) == "cuda"


@pytest.mark.parametrize("stem", ["05_moons_bce_logits", "01_house_prices_mse"])
def test_cuda_and_cpu_agree(stem):
    path = next(p for p in list_examples() if p.stem == stem)
    exp = short(path, 5)
    losses = {}
    for device in ("cpu", "cuda"):
        trainer = make_trainer(exp, device=device, diagnostics=False)
        trainer.run()
        losses[device] = trainer.history["train_loss"]
    assert np.allclose(losses["cpu"], losses["cuda"], rtol=2e-3, atol=1e-5), losses


def test_probes_run_on_cuda():
    from losslab.core.diagnostics import GradientStats
    from losslab.core.per_sample import PerSampleLosses, PerSampleProbe
    from losslab.core.trajectory import WeightSnapshot, WeightTrajectoryProbe

    path = next(p for p in list_examples() if p.stem == "05_moons_bce_logits")
    trainer = make_trainer(short(path, 2), device="cuda", diagnostics=True)
    trainer.probes += [PerSampleProbe(interval=0.0, budget=1.0), WeightTrajectoryProbe(5)]
    events = []
    trainer.run(events.append)
    kinds = {type(e) for e in events}
    assert {GradientStats, PerSampleLosses, WeightSnapshot} <= kinds
    per_sample = next(e for e in events if isinstance(e, PerSampleLosses))
    assert isinstance(per_sample.loss, np.ndarray) and np.isfinite(per_sample.loss).all()
    stats = next(e for e in events if isinstance(e, GradientStats))
    assert np.isfinite(stats.grad_norm).all()


def test_tools_run_on_cuda():
    from losslab import api

    path = next(p for p in list_examples() if p.stem == "05_moons_bce_logits")
    found = api.lr_find(path, steps=30, device="cuda")
    assert len(found.lrs) == len(found.losses) > 0
    land = api.landscape(path, steps=5, device="cuda")
    assert np.isfinite(land.grid.losses).all()
    assert math.isfinite(land.grid.center_loss)


def test_gan_trains_on_cuda():
    exp = Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": "gan_ring", "n_samples": 256},
            "model": {"layers": [{"type": "linear", "units": 16}, {"type": "relu"}]},
            "loss": {"id": "gan_g_nonsat"},
            "optimizer": {"id": "adam", "lr": 0.002},
            "training": {"epochs": 2, "batch_size": 64, "device": "cuda"},
        }
    )
    trainer = make_trainer(exp)
    assert str(trainer.device).startswith("cuda")
    assert trainer.run().diverged is None


def test_custom_loss_trains_on_cuda():
    path = next(p for p in list_examples() if "custom" in p.stem)
    trainer = make_trainer(short(path, 2), device="cuda")
    trainer.run()
    assert trainer.step > 0 and all(math.isfinite(v) for v in trainer.history["train_loss"])
