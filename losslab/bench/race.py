"""Race speed: 8 variants of one small MLP trained together (batched) vs the same 8 one after another.

Both sides train the same plan (same weights, same batches), alternating so drift in the machine's
speed hits both; the figure is the ratio of aggregate steps per second, batched over sequential.
"""

from __future__ import annotations

from typing import Any

from losslab.bench import report
from losslab.bench.workloads import MOONS_EXAMPLE, example_path

VARIANTS = {"optimizer.lr": [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]}


def measure(repeats: int, epochs: int) -> dict[str, Any]:
    import torch

    from losslab.core.experiment import load_experiment
    from losslab.core.race import plan_race, run_race

    torch.set_num_threads(1)  # as `losslab race` runs
    exp = load_experiment(example_path(MOONS_EXAMPLE)).replace("training", epochs=epochs, diagnostics_every=0)
    batched_plan = plan_race(exp, VARIANTS)
    sequential_plan = plan_race(exp, VARIANTS, sequential=True)
    run_race(plan_race(exp.replace("training", epochs=1), VARIANTS))  # warm-up: first-call costs
    batched: list[float] = []
    sequential: list[float] = []
    fair = True
    for _ in range(repeats):
        b = run_race(batched_plan)
        s = run_race(sequential_plan)
        batched.append(b.aggregate_steps_per_second)
        sequential.append(s.aggregate_steps_per_second)
        fair = fair and b.fair and s.fair and _same_start(b, s)
    return {
        **report.summary(report.ratios(batched, sequential)),
        "variants": len(VARIANTS["optimizer.lr"]),
        "workload": f"two moons MLP, learning-rate race, {epochs} epochs",
        "batched_steps_per_s": report.summary(batched),
        "sequential_steps_per_s": report.summary(sequential),
        "modes": sorted({v.mode for v in b.variants}),
        "fair": fair,
    }


def _same_start(a: Any, b: Any) -> bool:
    return [v.init_digest for v in a.variants] == [v.init_digest for v in b.variants] and [
        v.batch_order_digest for v in a.variants
    ] == [v.batch_order_digest for v in b.variants]
