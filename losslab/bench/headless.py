"""Plain loop vs headless LossLab, interleaved in this process.

Each repeat trains the workload from scratch twice, once each way, alternating which goes first,
so a change in machine load hits both sides of a pair; ratios are taken pair by pair. The LossLab
side is what ``losslab.train`` runs: ``make_trainer(experiment, diagnostics=False).run()``, timed
around ``run()``;
the plain side is timed around its loop. Model and optimizer construction are outside both.
Thread CPU time is recorded too: on a shared machine it shows the work done without the time the
process waited for a core. Absolute steps/s on a machine other work shares swing by 2x and more (the
2-core machine these were tuned on ran at a load average of 4-9 per core); the ratios, taken pair
by pair and summarised by their median, moved by a few percent.

What limited the ratios when profiled (cProfile and py-spy, #19):
- a full-batch run spent half its time evaluating (a forward pass per set, numpy metrics with ECE)
  until the training set's evaluation became the next step's forward pass and long runs evaluated
  every k-th epoch (0.31x -> 0.86x);
- torch.optim's step and zero_grad wrappers (profiler records, torch.compile guards) were ~10% of a
  small MLP's step; LossLab's optimizers skip them (core/eager_optim.py), so its per-step cost is
  now at or below the plain loop's, which keeps them as idiomatic code does;
- a mini-batch epoch ends with a forward pass over the whole training set (15% of the 64-128-10
  MLP's time, 27% of the wide one's), which is what LossLab's per-epoch training loss means; for
  nets where it is mostly matrix work it now runs on a second core while the next epoch trains
  (core/epoch_overlap.py: "second core" below is that thread's CPU time, as a share of the training
  thread's), and its metrics are vectorised.
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
    import torch

    torch.set_num_threads(1)  # as measured: with 2 threads a small net runs several times slower
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


class _CpuTimer:
    """Wraps a callable and adds up the thread CPU time spent in it."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.thread_time() - t0


def _timed_losslab(experiment: Any, dataset: Any) -> tuple[float, float, Any]:
    from losslab.core.trainer import make_trainer

    trainer = make_trainer(experiment, dataset, diagnostics=False)  # as losslab.train without a callback
    # Where LossLab's extra time goes (the plain loop does none of this), for the report: the
    # epoch-end work (evaluation, weight snapshot, probes' on_epoch) and each probe's own share.
    end_epoch = trainer._end_epoch = _CpuTimer(trainer._end_epoch)
    snapshot = None
    if hasattr(trainer, "_snapshot"):  # the "last good weights" copy kept for divergence recovery
        snapshot = trainer._snapshot = _CpuTimer(trainer._snapshot)
    timers: list[tuple[str, str, _CpuTimer]] = []  # (probe class, method, timer)
    for probe in trainer.probes:
        for method in ("on_step", "on_epoch"):
            timer = _CpuTimer(getattr(probe, method))
            setattr(probe, method, timer)
            timers.append((type(probe).__name__, method, timer))
    # The epoch ends a wide run evaluates on a second core (epoch_overlap.py): their CPU time there.
    from losslab.core.epoch_overlap import EpochOverlap

    evaluate = EpochOverlap._evaluate
    overlapped = _CpuTimer(evaluate)
    EpochOverlap._evaluate = lambda self: overlapped(self)  # type: ignore[method-assign]
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    try:
        trainer.run()
    finally:
        EpochOverlap._evaluate = evaluate  # type: ignore[method-assign]
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    in_end_epoch = sum(t.seconds for _, method, t in timers if method == "on_epoch")
    snap_s = snapshot.seconds if snapshot else 0.0
    shares = {"epoch-end evaluation": (end_epoch.seconds - in_end_epoch - snap_s) / cpu}
    if snapshot:
        shares["weight snapshots"] = snap_s / cpu
    for name, _, t in timers:
        shares[f"{name} (probe)"] = shares.get(f"{name} (probe)", 0.0) + t.seconds / cpu
    trainer.bench_shares = shares
    # Not the training thread's time: the second core's, as a share of the training thread's.
    trainer.bench_second_core = overlapped.seconds / cpu
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
        "shares": [],
        "second_core": [],
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
        out["shares"].append(trainer.bench_shares)
        out["second_core"].append(trainer.bench_second_core)
        same = same and loop.step == trainer.step and same_weights(loop.model, trainer.model)
    out["same_weights"] = same
    out["steps"] = trainer.step
    return out
