"""The run history at scale: 1,000 stored runs of 10,000 steps each, listed and measured.

The store is filled directly through its API, in batches of runs per transaction (what the recorder
writes, without training): per run, the experiment, 50 epoch rows, 10,000 per-step losses in the
recorder's chunks, final and best weights of a small MLP, and its summary. Then:

* ``list_ms``: ``list_runs()`` over every run (the Runs panel's query), median of repeats, after
  reopening the file (the first listing after start-up is included as ``first_list_ms``);
* ``get_run_ms``: one run in full, with its steps (what an overlay reads per curve);
* ``size_mb``: the file on disk (with its write-ahead log, after a checkpoint);
* ``epoch_commit_ms``: one epoch's row committed, as the recorder does it at each epoch end.

Targets: listing under 200 ms, the file under 500 MB. Filling 1,000 runs takes a few seconds, so
``--quick`` stores the full 1,000 too and its figures are the real ones.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RUNS, STEPS, EPOCHS = 1000, 10_000, 50
BATCH = 50  # runs per transaction while filling
CHUNK = 4096  # steps per stored chunk, about what the recorder writes per flush


def _experiment() -> Any:
    from losslab.bench.workloads import MOONS_EXAMPLE, example_path
    from losslab.core.experiment import load_experiment

    return load_experiment(example_path(MOONS_EXAMPLE))


def _weights() -> bytes:
    import torch

    from losslab.core.runs.weights import state_to_bytes

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Linear(16, 1)
    )
    return state_to_bytes(net.state_dict())


def _row(epoch: int, steps_per_epoch: int, rng: np.random.Generator) -> dict[str, float]:
    loss = float(0.7 * np.exp(-epoch / 15) + 0.05 + 0.01 * rng.random())
    return {
        "epoch": epoch,
        "step": epoch * steps_per_epoch,
        "train_loss": loss,
        "val_loss": loss * 1.1,
        "train_accuracy": 1 - loss / 2,
        "train_f1": 1 - loss / 2,
        "val_accuracy": 1 - loss / 1.9,
        "val_f1": 1 - loss / 1.9,
        "lr": 0.01,
        "l1": 0.0,
        "l2": 0.0,
        "elapsed_s": 0.05 * epoch,
    }


def fill(store: Any, runs: int, steps: int = STEPS, epochs: int = EPOCHS) -> None:
    """Store ``runs`` finished runs of ``steps`` steps and ``epochs`` epochs each."""
    from losslab.core.runs import FINISHED

    exp = _experiment()
    weights = _weights()
    rng = np.random.default_rng(0)
    per_epoch = steps // epochs
    step_numbers = np.arange(1, steps + 1, dtype=np.int64)
    for first in range(0, runs, BATCH):
        with store.transaction():
            for i in range(first, min(first + BATCH, runs)):
                rid = store.create_run(
                    exp,
                    name=f"bench run {i}",
                    tags=("bench", f"batch-{first // BATCH}"),
                    group_id=f"group-{i // 10}",
                    source="bench",
                    status=FINISHED,
                    architecture="2-16-16-1",
                    param_count=337,
                    device="cpu",
                    torch_version="bench",
                    started=time.time(),
                    ended=time.time(),
                )
                rows = [_row(e, per_epoch, rng) for e in range(1, epochs + 1)]
                store.add_epochs(rid, rows)
                losses = (0.7 * np.exp(-step_numbers / (steps / 4)) + 0.05 * rng.random(steps)).astype(
                    np.float32
                )
                for start in range(0, steps, CHUNK):
                    store.add_steps(rid, step_numbers[start : start + CHUNK], losses[start : start + CHUNK])
                store.save_weights(rid, "final", weights, epochs, steps)
                store.save_weights(rid, "best", weights, epochs - 3, steps - 3 * per_epoch)
                best = min(rows, key=lambda r: r["val_loss"])
                store.update_run(
                    rid,
                    epochs_done=epochs,
                    steps_done=steps,
                    elapsed=rows[-1]["elapsed_s"],
                    final_metrics=rows[-1],
                    best_metrics=best,
                    best_epoch=int(best["epoch"]),
                )


def _ms(fn: Any, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t0))
    return out


def measure(quick: bool = False, folder: Path | None = None) -> dict[str, Any]:
    from losslab.core.runs import RunStore

    runs = RUNS  # --quick as well: filling them takes seconds
    with tempfile.TemporaryDirectory(prefix="losslab-bench-runs-", dir=folder) as tmp:
        path = Path(tmp) / "runs.sqlite3"
        t0 = time.perf_counter()
        with RunStore(path) as store:
            fill(store, runs)
            store.checkpoint()
        fill_s = time.perf_counter() - t0
        with RunStore(path) as store:
            t1 = time.perf_counter()
            listed = store.list_runs()
            first_ms = 1000 * (time.perf_counter() - t1)
            assert len(listed) == runs
            list_ms = _ms(store.list_runs, 7)
            search_ms = _ms(lambda: store.list_runs("run 5", tag="bench"), 5)
            some = listed[len(listed) // 2].id
            get_ms = _ms(lambda: store.get_run(some), 5)
            assert len(store.get_run(some).steps) == STEPS
            exp = _experiment()
            rid = store.create_run(exp, name="commit timing")
            rng = np.random.default_rng(1)
            commit_ms = []
            for e in range(1, 201):
                row = _row(e, 25, rng)
                t2 = time.perf_counter()
                store.record_epoch(rid, row)
                commit_ms.append(1000 * (time.perf_counter() - t2))
            store.purge(rid)
            store.checkpoint()
            size = store.size_bytes()
    size_mb = size / 1e6
    return {
        "runs": runs,
        "steps_per_run": STEPS,
        "epochs_per_run": EPOCHS,
        "quick": quick,
        "fill_s": round(fill_s, 2),
        "first_list_ms": first_ms,
        "list_ms": statistics.median(list_ms),
        "list_ms_max": max(list_ms),
        "search_ms": statistics.median(search_ms),
        "get_run_ms": statistics.median(get_ms),
        "epoch_commit_ms": statistics.median(commit_ms),
        "size_mb": size_mb,
    }
