"""Full-batch runs: the epoch-end evaluation doubles as the next step's forward pass (the same
numbers), and a long run evaluates every k-th epoch, saying so in a notice and in its history."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from losslab.core import base_trainer
from losslab.core.events import EpochEnd, Notice, StepBatch
from losslab.core.trainer import make_trainer
from tests.core.test_trainer import HOUSES, Recorder, experiment, without_time

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    ("dataset", "loss", "extra"),
    [(None, "bce_logits", {}), (HOUSES, "mse", {"regularization": {"l2": 0.01}})],
)
def test_reusing_the_evaluation_forward_changes_no_number(monkeypatch, dataset, loss, extra) -> None:
    exp = experiment(
        **({"dataset": dataset} if dataset else {}),
        loss=loss,
        training={"epochs": 12, "batch_size": 0},
        **extra,
    )
    reused = make_trainer(exp, diagnostics=False)
    calls = []
    take = reused._take_forward
    monkeypatch.setattr(reused, "_take_forward", lambda xb: calls.append(take(xb)) or calls[-1])
    reused.run()
    assert sum(c is not None for c in calls) == 11  # every step after the first epoch's
    plain = make_trainer(exp, diagnostics=False)
    monkeypatch.setattr(plain, "_reuses_forward", lambda: False)
    plain.run()
    assert without_time(reused.history.rows) == without_time(plain.history.rows)
    for a, b in zip(reused.model.parameters(), plain.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_weights_loaded_between_runs_are_not_trained_from_a_stale_forward() -> None:
    exp = experiment(training={"epochs": 3, "batch_size": 0})
    trainer = make_trainer(exp, diagnostics=False)
    trainer.run(epochs=2)
    trainer._next_forward = (trainer.step, trainer._versions(), torch.tensor(123.0, requires_grad=True))
    trainer.model.load_state_dict(trainer.initial_state)  # moves the parameters' versions
    assert trainer._take_forward(trainer.x_train) is None


def test_a_long_full_batch_run_evaluates_every_kth_epoch_and_says_so(monkeypatch) -> None:
    monkeypatch.setattr(base_trainer, "EVAL_BUDGET", 1e-9)  # evaluation "costs" too much here
    monkeypatch.setattr(base_trainer, "MAX_ROWS", 20)  # 300 epochs: every 20th keeps 15 rows (10th: 30)
    exp = experiment(training={"epochs": 300, "batch_size": 0})
    trainer, events = make_trainer(exp, diagnostics=False), Recorder()
    trainer.run(events)
    assert trainer.eval_every == trainer.history.eval_every == 20
    epochs = [e.epoch for e in events.of(EpochEnd)]
    assert epochs == [1, 2, 3, 4, 5, *range(20, 301, 20)]
    assert [row["epoch"] for row in trainer.history.rows] == epochs
    notes = [n.message for n in events.of(Notice)]
    assert any("every 20 epochs" in m for m in notes), notes
    assert np.array_equal(events.steps(), np.arange(1, 301))  # every step's loss is still reported
    per_step = np.concatenate([b.epoch_of_steps() for b in events.of(StepBatch)])
    assert np.array_equal(per_step, np.arange(300))  # and the epoch each belongs to


def test_the_stride_depends_on_the_epoch_count_only() -> None:
    # 300 epochs with the default MAX_ROWS: every 2nd epoch, on any machine (evaluation of a tiny
    # full-batch network always costs more than its step)
    exp = experiment(training={"epochs": 300, "batch_size": 0})
    trainer = make_trainer(exp, diagnostics=False)
    trainer.run()
    assert trainer.history.eval_every == 2 and len(trainer.history) == 5 + 148


def test_short_or_mini_batch_runs_evaluate_every_epoch() -> None:
    for training in (
        {"epochs": 150, "batch_size": 0},
        {"epochs": 250, "batch_size": 100},
        {"epochs": 250, "batch_size": 0, "early_stopping": 1000},  # it keeps the best epoch's weights
    ):
        trainer = make_trainer(experiment(training=training), diagnostics=False)
        trainer.run()
        assert trainer.history.eval_every == 1 and len(trainer.history) == training["epochs"]
