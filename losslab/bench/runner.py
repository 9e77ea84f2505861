"""`losslab bench`: run every measurement, print the table, write the JSON.

Order: start-up (subprocesses), plain loop vs losslab.train (this process), the window with live
plots (one subprocess), loss-plot redraw (one subprocess). Subprocesses run offscreen, one at a
time, so no two measurements compete for the cores.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from losslab.bench import report
from losslab.bench.workloads import (
    MISSING_WORKLOADS,
    MOONS_EXAMPLE,
    NOT_YET,
    WORKLOADS,
    example_path,
    set_epochs,
    write_workloads,
)


@dataclass(frozen=True)
class Plan:
    run_s: float  # about how long one plain training run lasts
    repeats: int  # pairs per workload (headless and window each)
    startup_runs: int
    redraw_repeats: int  # redraws per measurement (loss_plot_redraw_seconds returns their median)
    redraw_rounds: int  # measurements per size, sizes taking turns
    startup_epochs: int | None  # None: the moons example's own 40 epochs
    memory_baseline: bool  # also measure a bare `import torch` (for what limits peak memory)
    race_repeats: int  # batched/sequential pairs of the 8-variant race
    race_epochs: int


FULL = Plan(
    run_s=1.0,
    repeats=5,
    startup_runs=3,
    redraw_repeats=15,
    redraw_rounds=3,
    startup_epochs=None,
    memory_baseline=True,
    race_repeats=3,
    race_epochs=20,
)
QUICK = Plan(
    run_s=0.2,
    repeats=3,
    startup_runs=1,
    redraw_repeats=5,
    redraw_rounds=1,
    startup_epochs=5,
    memory_baseline=False,
    race_repeats=1,
    race_epochs=4,
)


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def _load_per_core() -> float | None:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return None


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def _child(module: str, args: list[str], timeout: float, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env or _child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} exited {proc.returncode}:\n{proc.stderr[-3000:]}")


def measure_startup(folder: Path, plan: Plan) -> tuple[dict[str, Any], dict[str, Any]]:
    example = example_path(MOONS_EXAMPLE)
    if plan.startup_epochs is not None:
        example = folder / example.name
        example.write_bytes(example_path(MOONS_EXAMPLE).read_bytes())
        set_epochs(example, plan.startup_epochs)
    runs = []
    for i in range(plan.startup_runs):
        out = folder / f"startup-{i}.json"
        env = _child_env({"LOSSLAB_BENCH_T0": repr(time.time())})
        _child("losslab.bench.startup", [str(out), str(example)], timeout=180, env=env)
        runs.append(json.loads(out.read_text(encoding="utf-8")))
    pick = {key: report.summary([r[key] for r in runs]) for key in runs[0] if isinstance(runs[0][key], float)}
    startup = {
        "runs": len(runs),
        "first_paint_s": pick["first_paint_s"],
        "window_shown_s": pick["window_shown_s"],
        "ready_s": pick["ready_s"],
        "peak_rss_mb": pick["peak_rss_mb"],
        # The engine (torch on a background thread), the Train press's own time on the GUI thread,
        # and the GUI thread's lateness from the first paint to the end of the first training.
        "engine_s": pick.get("engine_s"),
        "train_press_ms": pick.get("train_press_ms"),
        "gui_late_max_ms": pick.get("gui_late_max_ms"),
        "gui_late_p99_ms": pick.get("gui_late_p99_ms"),
        "training_steps": runs[0]["steps"],
        "details": runs,
    }
    first = runs[0]
    for key in (
        "qt_app_peak_rss_mb",
        "first_paint_peak_rss_mb",
        "torch_import_started_s",
        "torch_imported_from",
        "gui_late_max_at_s",
    ):
        startup[key] = first.get(key)
    if plan.memory_baseline:
        out = folder / "torch-only.json"
        _child("losslab.bench.startup", ["--torch-only", str(out)], timeout=120)
        startup.update(json.loads(out.read_text(encoding="utf-8")))
    diag = {"torch_before_window": first.get("torch_loaded_by") in ("qt_app_s", "window_shown_s")}
    return startup, diag


def measure_throughput(paths: dict[str, Path], plan: Plan) -> dict[str, Any]:
    from losslab.bench import headless

    rows: dict[str, Any] = {}
    for w in WORKLOADS:
        epochs, steps_per_epoch = headless.calibrate_epochs(paths[w.id], plan.run_s)
        set_epochs(paths[w.id], epochs)
        _say(
            f"plain loop vs losslab.train: {w.id}, {epochs} epochs x {steps_per_epoch} steps, "
            f"{plan.repeats} pairs"
        )
        m = headless.measure(paths[w.id], plan.repeats)
        rows[w.id] = {
            "title": w.title,
            "epochs": epochs,
            "steps_per_run": m["steps"],
            "repeats": plan.repeats,
            "plain_steps_per_s": report.summary(m["plain"]),
            "headless_steps_per_s": report.summary(m["headless"]),
            "headless_ratio": report.summary(report.ratios(m["headless"], m["plain"])),
            "headless_cpu_ratio": report.summary(report.ratios(m["headless_cpu"], m["plain_cpu"])),
            # Fractions of LossLab's CPU time spent on work the plain loop does not do.
            "cpu_shares": {
                key: report.summary([sh.get(key, 0.0) for sh in m["shares"]])["median"]
                for key in m["shares"][0]
            },
            # The epoch ends evaluated on a second core: that thread's CPU time / the training thread's.
            "second_core_share": report.summary(m["second_core"])["median"],
            "same_weights": m["same_weights"],
            "raw": {k: m[k] for k in ("plain", "headless", "plain_cpu", "headless_cpu")},
        }
    return rows


def measure_window(folder: Path, paths: dict[str, Path], plan: Plan, rows: dict[str, Any]) -> dict[str, Any]:
    spec = {
        "workloads": [{"id": w.id, "path": str(paths[w.id])} for w in WORKLOADS],
        "repeats": plan.repeats,
        "settings": str(folder / "window-settings.ini"),
        "timeout_s": 900,
    }
    spec_path, out = folder / "window-spec.json", folder / "window.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    _child("losslab.bench.window", [str(spec_path), str(out)], timeout=960)
    result = json.loads(out.read_text(encoding="utf-8"))
    every: list[float] = []
    by_workload = {}
    for w in WORKLOADS:
        r = result[w.id]
        row = rows[w.id]
        row["window_plain_steps_per_s"] = report.summary(r["plain"])
        row["window_steps_per_s"] = report.summary(r["window"])
        row["window_ratio"] = report.summary(report.ratios(r["window"], r["plain"]))
        row["window_headless_steps_per_s"] = report.summary(r["headless"])
        row["window_run_ratio"] = report.summary(report.ratios(r["window"], r["headless"]))
        row["window_cpu_ratio"] = report.summary(report.ratios(r["window_cpu"], r["plain_cpu"]))
        row["gui_busy_fraction"] = report.summary(r["gui_busy"])["median"]
        row["task_view_share"] = report.summary(r["view_share"])["median"]
        row["same_weights"] = row["same_weights"] and r["same_weights"]
        row["raw"].update(
            {
                f"window_{k}" if k.startswith(("plain", "headless")) else k: r[k]
                for k in ("plain", "plain_cpu", "window", "window_cpu", "headless", "headless_cpu")
            }
        )
        lat = r["lateness_ms"]
        every += lat
        by_workload[w.id] = {
            "p50": report.percentile(lat, 50),
            "p99": report.percentile(lat, 99),
            "max": max(lat, default=float("nan")),
            "samples": len(lat),
            "gui_busy_fraction": row["gui_busy_fraction"],
            "train_press_ms": report.summary(r["train_press_ms"]),
        }
    return {
        "interval_ms": 5,
        "p50": report.percentile(every, 50),
        "p99": report.percentile(every, 99),
        "max": max(every, default=float("nan")),
        "samples": len(every),
        "by_workload": by_workload,
    }


def measure_redraw(folder: Path, plan: Plan) -> dict[str, Any]:
    out = folder / "redraw.json"
    args = [str(out), str(plan.redraw_repeats), str(plan.redraw_rounds), *report.SIZES]
    _child("losslab.bench.redraw", args, timeout=600)
    red = json.loads(out.read_text(encoding="utf-8"))
    red["flat_1e6_over_1e5"] = red["1000000"] / red["100000"]
    return red


def run_bench(quick: bool = False, json_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    plan = QUICK if quick else FULL
    started = time.perf_counter()
    doc: dict[str, Any] = {
        "losslab_bench": 1,
        "quick": quick,
        "environment": {
            "python": platform.python_version(),
            "torch": _version("torch"),
            "pyside6": _version("PySide6-Essentials")
            if _version("PySide6-Essentials") != "?"
            else _version("PySide6"),
            "pyqtgraph": _version("pyqtgraph"),
            "cpus": os.cpu_count(),
            "platform": f"{platform.system()} {platform.machine()}",
            "torch_threads": 1,
            "load_before": _rounded(_load_per_core()),
        },
    }
    diag: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="losslab-bench-") as tmp:
        folder = Path(tmp)
        paths = write_workloads(folder / "workloads")
        stages = doc["stage_seconds"] = {}
        mark = time.perf_counter()

        def stage(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            stages[name] = round(now - mark, 2)
            mark = now

        _say(f"start-up: {plan.startup_runs} run(s) of a fresh window process")
        doc["startup"], d = measure_startup(folder, plan)
        diag.update(d)
        stage("startup")
        t0 = time.perf_counter()
        import torch  # noqa: F401 - timed: the import the window must not wait for

        diag["torch_import_s"] = time.perf_counter() - t0
        rows = measure_throughput(paths, plan)
        stage("headless")
        _say(f"the window with live plots, offscreen: {len(WORKLOADS)} workloads, {plan.repeats} pairs each")
        doc["lateness_ms"] = measure_window(folder, paths, plan, rows)
        stage("window")
        for wid, title in MISSING_WORKLOADS.items():
            rows[wid] = {"title": title, report.NA: NOT_YET}
        doc["throughput"] = rows
        _say("loss-plot redraw at 1e3..1e6 points")
        doc["redraw_ms"] = measure_redraw(folder, plan)
        stage("redraw")
    from losslab.bench import race

    _say(f"race of {len(race.VARIANTS['optimizer.lr'])} variants: batched vs one after another")
    doc["race"] = race.measure(plan.race_repeats, plan.race_epochs)
    stages["race"] = round(time.perf_counter() - mark, 2)
    from losslab.bench import images

    mark = time.perf_counter()
    _say("images: the shapes CNN and Dice vs BCE segmentation examples, headless")
    doc["images"] = images.measure()
    stages["images"] = round(time.perf_counter() - mark, 2)
    from losslab.bench import csv_import

    mark = time.perf_counter()
    rows_csv = csv_import.QUICK_ROWS if quick else csv_import.ROWS
    _say(f"CSV import: a {rows_csv:,}-row spreadsheet export, read as the import wizard reads it")
    doc["csv_import"] = csv_import.measure(quick)
    stages["csv_import"] = round(time.perf_counter() - mark, 2)
    from losslab.bench import runs as run_history

    mark = time.perf_counter()
    _say(f"run history: {run_history.RUNS:,} stored runs of {run_history.STEPS:,} steps, listed")
    doc["run_history"] = run_history.measure(quick)
    stages["run_history"] = round(time.perf_counter() - mark, 2)
    from losslab.bench import network as network_view

    mark = time.perf_counter()
    _say("the Network view and the per-sample history: training with and without them")
    doc["network_view"] = network_view.measure(plan.repeats, 10 if quick else 40)
    stages["network_view"] = round(time.perf_counter() - mark, 2)
    doc["environment"]["load_after"] = _rounded(_load_per_core())
    loads = [
        x for x in (doc["environment"]["load_before"], doc["environment"]["load_after"]) if x is not None
    ]
    diag["load_average_per_core"] = max(loads) if loads else None
    doc["diagnostics"] = diag
    doc["targets"] = report.targets(doc)
    doc["seconds"] = time.perf_counter() - started
    if json_path is not None:
        Path(json_path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def main(quick: bool, json_path: str | None) -> int:
    doc = run_bench(quick, json_path)
    print(report.format_report(doc), end="")
    if json_path:
        print(f"\nwrote {json_path} ({doc['seconds']:.0f} s)")
    missing = report.missing_figures(doc)
    if missing:
        print("bench: missing figures: " + "; ".join(missing), file=sys.stderr)
        return 1
    return 0
