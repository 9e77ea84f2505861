"""What the Network view and the per-sample history cost training (issue #20).

In this process, on the two-moons workloads (MLP 2-16-16-1, batch 32 and full batch), training steps/s
of one trainer (no diagnostics, as headless) is measured three ways, the orders taking turns per repeat:
bare; with the sample-history probe recording every epoch and handing the window a copy 4 times a
second (what the Samples and Cartography tabs attach); with a watched NetworkProbe (the Network tab
shown: a picture at most every 0.25 s within 3% of the training time). Reported: each with/without
ratio (1.0 = free) from the training thread's CPU time (on a shared machine the wall clock mostly
measures the neighbours; wall-clock steps/s are reported too), the time of one network picture (the
moons net and a wide 8x32 ReLU net), and, in a subprocess with its own QApplication, one canvas
refresh (new picture: heatmap images, line lists and a paint at 900x560) of the wide net. Run as
``python -m losslab.bench.network RESULT.json`` for the paint figure alone.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from losslab.bench.report import ratios, summary

WIDE = [{"type": "linear", "units": 32}, {"type": "relu"}] * 8


def _experiment(batch_size: int, epochs: int, layers: list[dict[str, Any]] | None = None) -> Any:
    from losslab.bench.workloads import MOONS_EXAMPLE, example_path
    from losslab.core.experiment import load_experiment

    exp = load_experiment(example_path(MOONS_EXAMPLE)).replace(
        "training", batch_size=batch_size, epochs=epochs, device="cpu"
    )
    return exp.replace("model", layers=layers) if layers is not None else exp


def _steps_per_s(exp: Any, extra: str) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second of this thread) of one run."""
    from losslab.core.network_probe import NetworkProbe
    from losslab.core.sample_history import SampleHistoryProbe
    from losslab.core.trainer import make_trainer

    trainer = make_trainer(exp, threads=1, diagnostics=False)
    if extra == "history":
        trainer.probes.append(SampleHistoryProbe())
    elif extra == "network":
        probe = NetworkProbe()
        probe.watch("bench", True)
        trainer.probes.append(probe)
    start, cpu = time.perf_counter(), time.thread_time()
    trainer.run()
    return trainer.step / (time.perf_counter() - start), trainer.step / (time.thread_time() - cpu)


def _picture_ms(exp: Any, repeats: int = 20) -> float:
    from losslab.core.network_probe import picture
    from losslab.core.trainer import make_trainer

    trainer = make_trainer(exp, threads=1, diagnostics=False)
    trainer.run(epochs=1)
    picture(trainer)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        picture(trainer)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def measure(repeats: int, epochs: int) -> dict[str, Any]:
    """The figures above (ratios as summaries over ``repeats`` alternating runs of ``epochs`` epochs)."""
    out: dict[str, Any] = {}
    for wid, batch in (("moons_b32", 32), ("moons_full", 0)):
        exp = _experiment(batch, epochs * (1 if batch else 10))  # full batch: 1 step an epoch
        _steps_per_s(exp, "bare")  # warm-up
        wall: dict[str, list[float]] = {"bare": [], "history": [], "network": []}
        cpu: dict[str, list[float]] = {"bare": [], "history": [], "network": []}
        for r in range(repeats):
            order = ["bare", "history", "network"]
            for kind in order[r % 3 :] + order[: r % 3]:
                w, c = _steps_per_s(exp, kind)
                wall[kind].append(w)
                cpu[kind].append(c)
        # The ratios use CPU time: on a shared machine the wall clock mostly measures the neighbours.
        out[wid] = {
            "bare_steps_per_s": summary(wall["bare"]),
            "history_steps_per_s": summary(wall["history"]),
            "network_steps_per_s": summary(wall["network"]),
            "history_ratio": summary(ratios(cpu["history"], cpu["bare"])),
            "network_ratio": summary(ratios(cpu["network"], cpu["bare"])),
        }
    out["picture_ms"] = _picture_ms(_experiment(32, 1))
    out["picture_ms_wide"] = _picture_ms(_experiment(32, 1, WIDE))
    from losslab.bench.runner import _child

    with tempfile.TemporaryDirectory(prefix="losslab-bench-network-") as tmp:
        result = Path(tmp) / "network_paint.json"
        _child("losslab.bench.network", [str(result)], timeout=300)
        out["canvas_refresh_ms_wide"] = json.loads(result.read_text(encoding="utf-8"))["refresh_ms"]
    return out


HISTORY_GOAL = 0.9  # the history costs at most 10% of the steps/s (a full-batch epoch is one step)
NETWORK_GOAL = 0.95  # a watched Network view at most 5%


def targets(nv: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's targets for these figures (report.targets' row format)."""
    out = []
    for wid in ("moons_b32", "moons_full"):
        for key, goal, what in (
            ("history_ratio", HISTORY_GOAL, "recording every sample's history"),
            ("network_ratio", NETWORK_GOAL, "the Network tab shown (pictures on the training thread)"),
        ):
            value = nv[wid][key]
            met = value["median"] >= goal
            out.append(
                {
                    "id": f"{key}.{wid}",
                    "what": f"steps/s with / without {what}, {wid}",
                    "target": f">= {goal:g}x",
                    "value": value,
                    "met": met,
                    "limit": "" if met else "per-epoch work (a per-sample loss pass) against a short epoch",
                }
            )
    return out


def format_lines(nv: dict[str, Any]) -> list[str]:
    from losslab.bench.report import _fmt

    lines = [
        "",
        "Network view and per-sample history (training CPU time: steps/s with / without, 1.0 = free):",
    ]
    for wid in ("moons_b32", "moons_full"):
        row = nv[wid]
        lines.append(
            f"  {wid}: {_fmt(row['bare_steps_per_s'], ' steps/s')} bare; "
            f"history {_fmt(row['history_ratio'], 'x')}, network view {_fmt(row['network_ratio'], 'x')}"
        )
    lines.append(
        f"  one network picture: {_fmt(nv['picture_ms'], ' ms')} (2-16-16-1), "
        f"{_fmt(nv['picture_ms_wide'], ' ms')} (8 x 32 ReLU); canvas refresh of the wide one "
        f"{_fmt(nv['canvas_refresh_ms_wide'], ' ms')} (GUI thread, at most 4 a second within 3% of the time)"
    )
    return lines


def main(argv: list[str]) -> int:
    """The child: one canvas refresh of the wide network's picture, median of repeats."""
    from losslab.core.network_probe import picture
    from losslab.core.trainer import make_trainer
    from losslab.gui.app import create_app
    from losslab.gui.plots.network_view import NetworkCanvas

    create_app()
    trainer = make_trainer(_experiment(32, 1, WIDE), threads=1, diagnostics=False)
    trainer.run(epochs=1)
    pic = picture(trainer)
    canvas = NetworkCanvas()
    canvas.resize(900, 560)
    canvas.show()
    canvas.set_picture(pic)
    canvas.repaint()  # first paint: fonts and caches
    times = []
    for _ in range(15):
        start = time.perf_counter()
        canvas.set_picture(pic)
        canvas.repaint()
        times.append(time.perf_counter() - start)
    Path(argv[0]).write_text(json.dumps({"refresh_ms": statistics.median(times) * 1000.0}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
