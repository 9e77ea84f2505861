"""Optimizer and schedule registries, and the LRController that sets the rate every step."""

from __future__ import annotations

import math

import pytest
import torch

from losslab.core.errors import LossLabError
from losslab.core.optim import (
    OPTIMIZERS,
    SCHEDULES,
    LRController,
    get_optimizer_spec,
    get_schedule_spec,
)
from losslab.core.params import validate_params


def defaults(params):
    return validate_params(params, {}, "optimizer.params")


@pytest.mark.parametrize("opt_id", list(OPTIMIZERS))
def test_every_optimizer_builds_and_steps(opt_id):
    spec = get_optimizer_spec(opt_id)
    assert spec.name and spec.description
    w = torch.nn.Parameter(torch.tensor([3.0, -2.0]))
    opt = spec.build([w], 0.1, defaults(spec.params), "cpu")
    assert isinstance(opt, torch.optim.Optimizer)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    start = float((w.detach() ** 2).sum())
    for _ in range(20):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert float((w.detach() ** 2).sum()) < start


def test_optimizer_params_reach_torch():
    sgd = OPTIMIZERS["sgd"]
    p = {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}
    group = sgd.build([torch.nn.Parameter(torch.zeros(2))], 0.05, p, "cpu").param_groups[0]
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.9, True, 0.01)
    adam = OPTIMIZERS["adam"]
    p = {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.0}
    group = adam.build([torch.nn.Parameter(torch.zeros(2))], 0.01, p, "cpu").param_groups[0]
    assert group["betas"] == (0.8, 0.99) and group["eps"] == 1e-6


def test_nesterov_without_momentum_is_plain_sgd():
    # torch refuses nesterov=True with zero momentum; the registry quietly turns it off.
    p = {"momentum": 0.0, "nesterov": True, "weight_decay": 0.0}
    group = OPTIMIZERS["sgd"].build([torch.nn.Parameter(torch.zeros(2))], 0.1, p, "cpu").param_groups[0]
    assert group["nesterov"] is False


def test_adamw_defaults_to_some_weight_decay():
    assert defaults(OPTIMIZERS["adamw"].params)["weight_decay"] == 0.01


def test_unknown_ids_name_their_field():
    with pytest.raises(LossLabError) as info:
        get_optimizer_spec("lion")
    assert info.value.field == "optimizer.id" and "adam" in str(info.value)
    with pytest.raises(LossLabError) as info:
        get_schedule_spec("zigzag")
    assert info.value.field == "optimizer.schedule.id" and "cosine" in str(info.value)


# --- LRController ----------------------------------------------------------------------------


def make_opt(lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def controller(schedule_id="constant", params=None, warmup_epochs=0, lr=0.1, epochs=10, steps_per_epoch=4):
    spec = SCHEDULES[schedule_id]
    schedule = {
        "id": schedule_id,
        "params": validate_params(spec.params, params, "p"),
        "warmup_epochs": warmup_epochs,
    }
    opt = make_opt(lr)
    return LRController(opt, lr, schedule, epochs, steps_per_epoch), opt


def run_epochs(ctl, epochs, steps_per_epoch=4, val_losses=None):
    """The trainer's call pattern; returns the lr used at every step."""
    seen, step = [], 0
    for epoch in range(epochs):
        ctl.begin_epoch(epoch)
        for _ in range(steps_per_epoch):
            ctl.step(step)
            seen.append(ctl.optimizer.param_groups[0]["lr"])
            step += 1
        ctl.end_epoch(val_losses[epoch] if val_losses else 1.0)
    return seen


def test_constant():
    ctl, _ = controller()
    assert run_epochs(ctl, 3) == pytest.approx([0.1] * 12)


def test_step_decay():
    ctl, _ = controller("step", {"step_size": 2, "gamma": 0.1})
    lrs = run_epochs(ctl, 5)
    assert lrs[::4] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_exponential_decay():
    ctl, _ = controller("exponential", {"gamma": 0.5})
    assert run_epochs(ctl, 4)[::4] == pytest.approx([0.1, 0.05, 0.025, 0.0125])


def test_cosine_from_base_to_final_fraction_and_then_flat():
    ctl, _ = controller("cosine", {"min_factor": 0.2}, epochs=4)
    per_epoch = run_epochs(ctl, 7)[::4]
    expected = [0.1 * (0.2 + 0.8 * 0.5 * (1 + math.cos(math.pi * e / 4))) for e in range(5)]
    assert per_epoch[:5] == pytest.approx(expected)
    assert per_epoch[4:] == pytest.approx([0.02, 0.02, 0.02])  # past the plan it holds the final rate


def test_warmup_ramps_per_step_then_holds():
    ctl, _ = controller(warmup_epochs=2, steps_per_epoch=4)
    lrs = run_epochs(ctl, 3)
    assert lrs[:8] == pytest.approx([0.1 * (i + 1) / 8 for i in range(8)])
    assert lrs[8:] == pytest.approx([0.1] * 4)


def test_warmup_starts_low_before_the_first_step():
    _, opt = controller(warmup_epochs=1, steps_per_epoch=10)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)


def test_warmup_and_schedule_multiply():
    ctl, _ = controller("exponential", {"gamma": 0.5}, warmup_epochs=2, steps_per_epoch=2)
    lrs = run_epochs(ctl, 3, steps_per_epoch=2)
    assert lrs == pytest.approx([0.025, 0.05, 0.0375, 0.05, 0.025, 0.025])


def test_plateau_waits_for_patience_then_cuts():
    ctl, _ = controller("plateau", {"factor": 0.5, "patience": 2})
    val = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.9, 0.9, 0.9, 0.9]
    per_epoch = run_epochs(ctl, 10, val_losses=val)[::4]
    # Bad epochs 3, 4, 5 (the third is past patience 2): cut from epoch 6, which improves;
    # bad again 7, 8, 9: cut at 10.
    assert per_epoch == pytest.approx([0.1] * 5 + [0.05] * 4 + [0.025])


def test_plateau_ignores_non_finite_losses():
    ctl, _ = controller("plateau", {"factor": 0.5, "patience": 0})
    ctl.end_epoch(1.0)
    ctl.end_epoch(math.nan)
    ctl.end_epoch(math.inf)
    ctl.begin_epoch(3)
    assert ctl.lr == pytest.approx(0.1)


def test_end_epoch_does_nothing_for_other_schedules():
    ctl, _ = controller("constant")
    for _ in range(5):
        ctl.end_epoch(1.0)
    ctl.begin_epoch(5)
    assert ctl.lr == pytest.approx(0.1)


def test_set_base_lr_applies_at_once_with_the_schedule_on_top():
    ctl, opt = controller("step", {"step_size": 1, "gamma": 0.5})
    ctl.begin_epoch(2)  # factor 0.25
    ctl.set_base_lr(1.0)
    assert ctl.lr == pytest.approx(0.25) and opt.param_groups[0]["lr"] == pytest.approx(0.25)
    ctl.begin_epoch(3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.125)


def test_every_param_group_is_updated():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    spec = SCHEDULES["exponential"]
    ctl = LRController(opt, 0.1, {"id": "exponential", "params": {"gamma": 0.5}, "warmup_epochs": 0}, 5, 1)
    ctl.begin_epoch(1)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.05, 0.05])
    assert spec.name


@pytest.mark.parametrize("schedule_id", list(SCHEDULES))
def test_every_schedule_starts_at_the_base_rate(schedule_id):
    spec = SCHEDULES[schedule_id]
    assert spec.name and spec.description
    assert spec.factor(0, 10, validate_params(spec.params, {}, "p")) == pytest.approx(1.0)
