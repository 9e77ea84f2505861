"""Plain loop vs headless LossLab, interleaved in this process.

Each repeat trains the workload from scratch twice, once each way, alternating which goes first,
so a change in machine load hits both sides of a pair; ratios are taken pair by pair. The LossLab
side is what ``losslab.train`` runs: ``make_trainer(experiment).run()``, timed around ``run()``;
the plain side is timed around its loop. Model and optimizer construction are outside both.
Thread CPU time is recorded too: on a shared machine it shows the work done without the time the
process waited for a core.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from losslab.bench.plain import PlainLoop, same_weights


def _load(path: Path) -> tuple[Any, Any]:
    from losslab.core.data import make_dataset
    from losslab.core.experiment import load_experiment

    experiment = load_experiment(path)
    return experiment, make_dataset(experiment.dataset)


def calibrate_epochs(path: Path, target_s: float, min_epochs: int = 2) -> tuple[int, int]:
    """Epochs for a plain run of about ``target_s`` seconds here, and the steps per epoch."""
    experiment, dataset = _load(path)
    loop = PlainLoop(experiment, dataset)
    loop.run(1)  # warm-up
    epochs, spent = 0, 0.0
    while spent < min(0.25, target_s / 2) or epochs < 2:
        spent += loop.run(1)
        epochs += 1
    steps_per_epoch = loop.step // (epochs + 1)
    return max(min_epochs, round(target_s * epochs / spent)), steps_per_epoch


def _timed_plain(experiment: Any, dataset: Any, epochs: int) -> tuple[float, float, PlainLoop]:
    loop = PlainLoop(experiment, dataset)
    cpu0 = time.thread_time()
    wall = loop.run(epochs)
    cpu = time.thread_time() - cpu0
    return loop.step / wall, loop.step / max(cpu, 1e-9), loop


def _timed_losslab(experiment: Any, dataset: Any) -> tuple[float, float, Any]:
    from losslab.core.trainer import make_trainer

    trainer = make_trainer(experiment, dataset)
    # Time spent in the per-epoch evaluation (the plain loop has none), for the report.
    end_epoch, trainer.epoch_end_s = trainer._end_epoch, 0.0

    def timed_end_epoch(emit: Any) -> None:
        t0 = time.perf_counter()
        end_epoch(emit)
        trainer.epoch_end_s += time.perf_counter() - t0

    trainer._end_epoch = timed_end_epoch
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    trainer.run()
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    trainer.epoch_end_share = trainer.epoch_end_s / wall
    return trainer.step / wall, trainer.step / max(cpu, 1e-9), trainer


def measure(path: Path, repeats: int) -> dict[str, Any]:
    """Steps/s per repeat for both sides (wall clock and thread CPU time), and the weights check."""
    import torch

    torch.set_num_threads(1)
    experiment, dataset = _load(path)
    epochs = experiment.training["epochs"]
    warm = experiment.replace("training", epochs=1)
    _timed_plain(warm, dataset, 1)
    _timed_losslab(warm, dataset)
    out: dict[str, Any] = {
        "plain": [],
        "plain_cpu": [],
        "headless": [],
        "headless_cpu": [],
        "epoch_end_share": [],
    }
    same = True
    for i in range(repeats):
        if i % 2 == 0:
            p_wall, p_cpu, loop = _timed_plain(experiment, dataset, epochs)
            l_wall, l_cpu, trainer = _timed_losslab(experiment, dataset)
        else:
            l_wall, l_cpu, trainer = _timed_losslab(experiment, dataset)
            p_wall, p_cpu, loop = _timed_plain(experiment, dataset, epochs)
        out["plain"].append(p_wall)
        out["plain_cpu"].append(p_cpu)
        out["headless"].append(l_wall)
        out["headless_cpu"].append(l_cpu)
        out["epoch_end_share"].append(trainer.epoch_end_share)
        same = same and loop.step == trainer.step and same_weights(loop.model, trainer.model)
    out["same_weights"] = same
    out["steps"] = trainer.step
    return out
