"""The batched race trains each variant exactly as LossLab's trainer trains it alone."""

from __future__ import annotations

import math

import pytest

from losslab.core.experiment import Experiment
from losslab.core.race import plan_race, run_race

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REL = 1e-4


def _exp(kind: str = "moons", loss: str = "bce_logits", **training: object) -> Experiment:
    dataset = {"kind": kind, "n_samples": 160, "seed": 1}
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": dataset,
            "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
            "loss": {"id": loss},
            "optimizer": {"id": "adam", "lr": 0.01},
            "training": {"epochs": 3, "batch_size": 16, "diagnostics_every": 0, **training},
        }
    )


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-7)


def _compare(exp: Experiment, vary: dict[str, list[object]]) -> None:
    batched = run_race(plan_race(exp, vary))
    alone = run_race(plan_race(exp, vary, sequential=True))
    assert [v.mode for v in batched.variants] == ["batched"] * len(batched.variants)
    assert batched.fair and alone.fair
    for b, s in zip(batched.variants, alone.variants, strict=True):
        assert s.mode == "sequential (asked for)"
        assert b.init_digest == s.init_digest and b.batch_order_digest == s.batch_order_digest
        assert b.epochs_done == s.epochs_done == exp.training["epochs"], b.label
        assert b.steps == s.steps
        for key in ("train_loss", "val_loss"):
            assert _close(b.final[key], s.final[key]), (b.label, key, b.final[key], s.final[key])
        for rb, rs in zip(b.history.rows, s.history.rows, strict=True):
            assert _close(rb["train_loss"], rs["train_loss"]), (b.label, rb, rs)
            assert _close(rb["l2"], rs["l2"]) and _close(rb["l1"], rs["l1"])
            assert rb["lr"] == pytest.approx(rs["lr"])
        assert b.final["metric_value"] == pytest.approx(s.final["metric_value"], abs=0.02)


def test_learning_rates() -> None:
    _compare(_exp(), {"optimizer.lr": [0.001, 0.01, 0.1]})


def test_regression_losses() -> None:
    _compare(_exp("house_prices", "mse"), {"loss": ["mse", "mae", "huber", "log_cosh"]})


def test_binary_losses_with_and_without_an_output_sigmoid() -> None:
    _compare(_exp(), {"loss": ["bce_logits", "bce", "hinge", "squared_hinge", "focal", "dice"]})


def test_multiclass_losses() -> None:
    exp = _exp("blobs", "cross_entropy")
    _compare(
        exp,
        {
            "loss": [
                "cross_entropy",
                {"id": "cross_entropy", "params": {"label_smoothing": 0.1}},
                "multi_hinge",
                "kl_div",
            ]
        },
    )


def test_optimizers() -> None:
    _compare(
        _exp(),
        {
            "optimizer": [
                "sgd",
                {"id": "sgd", "params": {"momentum": 0.9}},
                {"id": "sgd", "params": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}},
                {"id": "adam", "params": {"weight_decay": 0.01}},
                "adamw",
                {"id": "rmsprop", "params": {"momentum": 0.5}},
                "rmsprop",
                "adagrad",
            ]
        },
    )


def test_mixed_momentum_and_betas_in_one_optimizer() -> None:
    _compare(_exp(), {"optimizer.params.beta1": [0.5, 0.9, 0.99]})
    exp = _exp()
    doc = exp.to_dict()
    doc["optimizer"] = {"id": "sgd", "lr": 0.05, "params": {"nesterov": True}}
    _compare(Experiment.from_dict(doc), {"optimizer.params.momentum": [0.0, 0.5, 0.9]})


def test_regularization_and_clipping() -> None:
    _compare(_exp(), {"regularization.l2": [0.0, 0.001, 0.01]})
    _compare(_exp(), {"l1": [0.0, 0.001]})
    _compare(_exp(), {"optimizer.grad_clip": [0.0, 0.05, 1.0]})


def test_schedules_with_warmup() -> None:
    doc = _exp().to_dict()
    doc["optimizer"]["schedule"] = {
        "id": "step",
        "params": {"step_size": 1, "gamma": 0.5},
        "warmup_epochs": 1,
    }
    _compare(Experiment.from_dict(doc), {"lr": [0.01, 0.03]})


def test_full_batch_and_vmap_engine() -> None:
    from losslab.core.race.batched import BatchedGroup

    exp = _exp(batch_size=0)
    _compare(exp, {"lr": [0.01, 0.05]})
    # LayerNorm and residual blocks go through functional_call + vmap.
    doc = exp.to_dict()
    doc["model"]["layers"] = [
        {"type": "linear", "units": 8},
        {"type": "layernorm"},
        {"type": "residual", "depth": 2, "activation": "gelu"},
    ]
    exp = Experiment.from_dict(doc)
    plan = plan_race(exp, {"lr": [0.01, 0.05]})
    group = BatchedGroup(plan.variants, plan.datasets[0], plan.path, plan.headline)
    assert group.engine == "vmap"
    _compare(exp, {"lr": [0.01, 0.05]})


def test_bmm_and_vmap_engines_agree() -> None:
    import torch

    from losslab.core.race.batched import BatchedGroup

    plan = plan_race(_exp(), {"loss": ["bce_logits", "bce", "hinge"]})
    fast = BatchedGroup(plan.variants, plan.datasets[0], plan.path, plan.headline)
    general = BatchedGroup(plan.variants, plan.datasets[0], plan.path, plan.headline, engine="vmap")
    assert (fast.engine, general.engine) == ("bmm", "vmap")
    x = fast.x_train[:20]
    torch.testing.assert_close(fast.forward(fast._params(), x), general.forward(general._params(), x))
