"""Statistics, targets, the printed table and the checks on the JSON document.

Every figure in the document is a number, a ``{"median", "min", "max"}`` summary of repeats, or a
``{"na": reason}`` entry; ``missing_figures`` lists anything that is none of these, which the
tests use to prove a run produced every figure.
"""

from __future__ import annotations

import math
from typing import Any

NA = "na"
SIZES = ("1000", "10000", "100000", "1000000")
THROUGHPUT_KEYS = (
    "plain_steps_per_s",
    "headless_steps_per_s",
    "headless_ratio",
    "headless_cpu_ratio",
    "window_plain_steps_per_s",
    "window_steps_per_s",
    "window_ratio",
    "window_cpu_ratio",
    "window_headless_steps_per_s",
    "window_run_ratio",
)
LATENESS_KEYS = ("p50", "p99", "max")
STARTUP_KEYS = ("first_paint_s", "ready_s", "peak_rss_mb")
RUN_HISTORY_KEYS = ("list_ms", "first_list_ms", "get_run_ms", "epoch_commit_ms", "size_mb")


def summary(values: list[float]) -> dict[str, float]:
    vals = sorted(float(v) for v in values)
    if not vals:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    mid = len(vals) // 2
    median = vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2
    return {"median": median, "min": vals[0], "max": vals[-1], "n": len(vals)}


def ratios(num: list[float], den: list[float]) -> list[float]:
    return [a / b for a, b in zip(num, den, strict=True) if b > 0]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    vals = sorted(values)
    if not vals:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(vals)))
    return float(vals[rank - 1])


def na(reason: str) -> dict[str, str]:
    return {NA: reason}


def _is_figure(value: Any) -> bool:
    if isinstance(value, dict):
        if NA in value:
            return isinstance(value[NA], str) and bool(value[NA])
        return all(_is_number(value.get(k)) for k in ("median", "min", "max"))
    return _is_number(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def missing_figures(doc: dict[str, Any]) -> list[str]:
    """Figures the issue asks for that the document lacks (neither a number nor an explained n/a)."""
    missing: list[str] = []

    def need(path: str, value: Any) -> None:
        if not _is_figure(value):
            missing.append(f"{path} = {value!r}")

    throughput = doc.get("throughput", {})
    for wid in ("moons_b32", "moons_full", "mlp64_b64", "wide_b256"):
        row = throughput.get(wid, {})
        for key in THROUGHPUT_KEYS:
            need(f"throughput.{wid}.{key}", row.get(key))
    images = doc.get("images", {})
    for key in ("seconds", "val_accuracy"):
        need(f"images.shapes_cnn.{key}", images.get("shapes_cnn", {}).get(key))
    for loss in ("dice", "bce_logits"):
        need(
            f"images.segmentation.{loss}.val_iou", images.get("segmentation", {}).get(loss, {}).get("val_iou")
        )
    lateness = doc.get("lateness_ms", {})
    for key in LATENESS_KEYS:
        need(f"lateness_ms.{key}", lateness.get(key))
    redraw = doc.get("redraw_ms", {})
    for n in SIZES:
        need(f"redraw_ms.{n}", redraw.get(n))
    startup = doc.get("startup", {})
    for key in STARTUP_KEYS:
        need(f"startup.{key}", startup.get(key))
    need("race", doc.get("race"))
    history = doc.get("run_history", {})
    for key in RUN_HISTORY_KEYS:
        need(f"run_history.{key}", history.get(key))
    for target in doc.get("targets", []):
        need(f"targets.{target.get('id')}.value", target.get("value"))
    if not doc.get("targets"):
        missing.append("targets")
    return missing


def headless_limit(row: dict[str, Any]) -> str:
    """Where LossLab's CPU time beyond the plain loop's goes, from the measured shares."""
    shares = row.get("cpu_shares", {})
    cpu_ratio = _median(row.get("headless_cpu_ratio"))
    parts = [f"{k} {100 * v:.0f}%" for k, v in sorted(shares.items(), key=lambda kv: -kv[1]) if v >= 0.005]
    text = (
        f"work the plain loop does not do takes {100 * sum(shares.values()):.0f}% of LossLab's CPU time "
        f"({', '.join(parts) or 'nothing measurable'})"
    )
    if cpu_ratio:
        rest = (1 - cpu_ratio) - sum(shares.values())
        text += (
            f"; the other {100 * max(rest, 0):.0f}% beyond the plain loop is per step: the Network "
            "module around the layers (one more nn.Module call), the loss registry's call, events, "
            "controls, the learning-rate controller (profiled with py-spy: no single line over 1%)"
        )
    text += (
        ". A mini-batch epoch ends with a forward pass over the whole training set (the epoch's "
        "loss and metrics, as LossLab defines them), which the plain loop does not do: it costs "
        "about one forward per sample, so its share grows with the net's width and the batch size; "
        "a full-batch epoch's evaluation is the next step's forward pass, and a long full-batch run "
        "evaluates every k-th epoch (History.eval_every)"
    )
    second = row.get("second_core_share") or 0.0
    if second >= 0.005:
        text += (
            f"; this run's epoch ends were evaluated on a second core (epoch_overlap.py), "
            f"{100 * second:.0f}% of the training thread's CPU time there, the last one waited for"
        )
    return text


def flat_limit(red: dict[str, Any], load: float | None) -> str:
    small = [red[n] for n in SIZES[:3]]
    text = ", ".join(f"{int(n):.0e}: {red[n]:.1f} ms" for n in SIZES)
    if max(small) > 1.3 * min(small):
        return (
            f"{text}: the sizes below 1e6 already differ by {max(small) / min(small):.1f}x among "
            "themselves, so the spread is measurement noise"
            + (f" (machine load average {load:.1f} per core)" if load else "")
            + " as much as N"
        )
    return f"{text}: the step curves are drawn from min/max summaries, yet the cost still grows with N"


def race_limit(race: dict[str, Any]) -> str:
    """Why the race is not faster: what each side costs per step."""
    if race.get("modes") != ["batched"]:
        return "fewer than 8 variants were batched together"
    batched, sequential = _median(race["batched_steps_per_s"]), _median(race["sequential_steps_per_s"])
    if not batched or not sequential:
        return ""
    n = race["variants"]
    return (
        f"one batched step of all {n} variants takes {1000 * n / batched:.2f} ms, one variant's step "
        f"one after another {1000 / sequential:.2f} ms (LossLab's own trainer, as fast as a plain "
        f"torch loop): the batched step is Python and dispatch as much as arithmetic at this size, "
        f"and a short race also pays its set-up ({race['workload']})"
    )


def memory_limit(st: dict[str, Any]) -> str:
    """Where the peak comes from: torch, Qt with pyqtgraph, then the window and the run. Two costs
    are avoided (#19): torch.optim's import of torch._dynamo with sympy (core/eager_optim.py) and
    PySide6 keeping every imported module's source (gui/pyside_imports.py)."""
    text = (
        f"peak RSS {st.get('qt_app_peak_rss_mb') or math.nan:.0f} MB with the Qt application, "
        f"{st.get('first_paint_peak_rss_mb') or math.nan:.0f} MB at the first paint (window, plots, torch), "
        f"{_median(st['peak_rss_mb']):.0f} MB after training"
    )
    if st.get("torch_only_peak_rss_mb"):
        text += (
            f"; a bare `import torch` alone peaks at {st['torch_only_peak_rss_mb']:.0f} MB and "
            f"{st['torch_optimizer_peak_rss_mb']:.0f} MB once a torch.optim optimizer steps (it imports "
            "torch._dynamo and sympy; LossLab's optimizers skip that, the plain loop pays it)"
        )
    return text


# -- targets -----------------------------------------------------------------------------------
def _median(value: Any) -> float | None:
    if isinstance(value, dict):
        return None if NA in value else value.get("median")
    return value


def targets(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value, whether it is met, and what limits it when it is not."""
    out: list[dict[str, Any]] = []
    diag = doc.get("diagnostics", {})

    def add(tid: str, what: str, goal: str, value: Any, met: bool | None, limit: str = "") -> None:
        out.append(
            {
                "id": tid,
                "what": what,
                "target": goal,
                "value": value,
                "met": met,
                "limit": "" if met else limit,
            }
        )

    for wid, row in doc["throughput"].items():
        if NA in row:
            add(
                f"headless_ratio.{wid}",
                f"losslab.train / plain loop, {row.get('title', wid)}",
                ">= 0.95x",
                na(row[NA]),
                None,
            )
            add(
                f"window_ratio.{wid}",
                f"window / plain loop, {row.get('title', wid)}",
                ">= 0.85x",
                na(row[NA]),
                None,
            )
            add(
                f"window_run_ratio.{wid}",
                f"window / losslab run, {row.get('title', wid)}",
                ">= 0.85x",
                na(row[NA]),
                None,
            )
            continue
        h, w = _median(row["headless_ratio"]), _median(row["window_ratio"])
        h_limit = headless_limit(row)
        gui = row.get("gui_busy_fraction", math.nan)
        cpu = _median(row.get("window_cpu_ratio")) or math.nan
        view = row.get("task_view_share", math.nan)
        w_limit = (
            f"the GUI thread is busy {100 * gui:.0f}% of the run feeding and painting the live plots "
            "(pyqtgraph paints in Python, holding the GIL, so the training thread waits); the "
            f"training thread's own work per step runs at {cpu:.2f}x the plain loop's in CPU time "
            f"(the task view's predictions take {100 * view:.0f}% of it; per-epoch evaluation, probes "
            "and events the rest), and the rest of the gap is waiting for the GIL or a core"
        )
        add(
            f"headless_ratio.{wid}",
            f"losslab.train / plain loop, {row['title']}",
            ">= 0.95x",
            row["headless_ratio"],
            h >= 0.95,
            h_limit,
        )
        add(
            f"window_ratio.{wid}",
            f"window / plain loop, {row['title']}",
            ">= 0.85x",
            row["window_ratio"],
            w >= 0.85,
            w_limit,
        )
        add(
            f"window_run_ratio.{wid}",
            f"window / losslab run, {row['title']}",
            ">= 0.85x",
            row["window_run_ratio"],
            _median(row["window_run_ratio"]) >= 0.85,
            w_limit,
        )

    lat = doc["lateness_ms"]
    load = diag.get("load_average_per_core")
    busy = [r.get("gui_busy_fraction", math.nan) for r in doc["throughput"].values() if NA not in r]
    lat_limit = (
        f"the GUI thread is busy {100 * min(busy):.0f}–{100 * max(busy):.0f}% of each run painting the "
        "live views (one frame at a time, paced to a share of the GUI thread's time; pyqtgraph "
        "paints in Python): the timer waits behind a paint pass; runs of mostly-Python steps are "
        "held while the window paints (pacing.HOLD_GIL_SHARE), the others share the GIL with it"
        + (f"; machine load average {load:.1f} per core" if load else "")
    )
    add(
        "lateness_p99",
        "5 ms timer lateness p99 while training + plotting",
        "<= 15 ms",
        lat["p99"],
        lat["p99"] <= 15,
        lat_limit,
    )
    add(
        "lateness_max",
        "5 ms timer lateness max while training + plotting",
        "<= 25 ms",
        lat["max"],
        lat["max"] <= 25,
        lat_limit,
    )

    red = doc["redraw_ms"]
    r6, r5 = red["1000000"], red["100000"]
    add(
        "redraw_1e6",
        "loss-plot redraw at 1e6 points",
        "<= 15 ms",
        r6,
        r6 <= 15,
        "the paint itself: a redraw costs about the same from 1e3 to 1e6 points (the step curves are "
        "drawn from min/max summaries), so axes, text, legend and Qt's rasterizing set it"
        + (f"; machine load average {load:.1f} per core" if load else ""),
    )
    flat = red.get("flat_1e6_over_1e5", r6 / r5 if r5 else math.inf)
    add(
        "redraw_flat",
        "redraw 1e6 / redraw 1e5 (flat from 1e5 up)",
        "<= 1.25x",
        flat,
        flat <= 1.25,
        flat_limit(red, load),
    )

    st = doc["startup"]
    paint = _median(st["first_paint_s"])
    early = diag.get("torch_before_window")
    shown = _median(st.get("window_shown_s"))
    if early and st.get("torch_imported_from"):
        paint_limit = (
            f"torch is imported while the window is built, so the window waits for it (import started "
            f"at {st.get('torch_import_started_s') or math.nan:.1f} s, window shown at {shown:.1f} s): "
            f"{st['torch_imported_from']}"
        )
    else:
        paint_limit = f"Qt, pyqtgraph and building the window: shown at {shown:.1f} s"
    add(
        "first_paint",
        "process start -> first painted window",
        "<= 1.0 s",
        st["first_paint_s"],
        paint <= 1.0,
        paint_limit,
    )
    press = _median(st.get("train_press_ms"))
    if press is not None:
        add(
            "train_press",
            "first Train press: the GUI thread's time in it",
            "<= 100 ms",
            st["train_press_ms"],
            press <= 100,
            "building the trainer (data, model, optimizer) and resetting every view on the GUI thread; "
            "the cleared plots are painted after it, the new run held until they are"
            + (f"; machine load average {load:.1f} per core" if load else ""),
        )
    late = _median(st.get("gui_late_max_ms"))
    if late is not None:
        add(
            "startup_freeze",
            "longest GUI-thread wait from the first paint to the end of the first training",
            "<= 100 ms",
            st["gui_late_max_ms"],
            late <= 100,
            f"at {st.get('gui_late_max_at_s') or math.nan:.1f} s from process start (engine ready "
            f"after {_median(st.get('engine_s')) or math.nan:.1f} s, training from "
            f"{_median(st['ready_s']):.1f} s): a start-up tab built or filled (the run held meanwhile), "
            "then the paint pass after it, or a frame's paint"
            + (f"; machine load average {load:.1f} per core" if load else ""),
        )
    mem = _median(st["peak_rss_mb"])
    add(
        "peak_memory",
        "peak memory after the first training",
        "<= 400 MB",
        st["peak_rss_mb"],
        mem <= 400,
        memory_limit(st),
    )
    race = doc["race"]
    ratio = _median(race)
    add(
        "race",
        "race of 8 vs sequential, aggregate steps/s",
        ">= 4x",
        race,
        None if ratio is None else ratio >= 4.0,
        race_limit(race),
    )
    images = doc.get("images")
    if images is not None:
        cnn, seg = images["shapes_cnn"], images["segmentation"]
        add(
            "shapes_cnn",
            f"shapes CNN validation accuracy in a CI-sized run ({cnn['seconds']:.1f} s)",
            f">= {cnn['target_accuracy']:.0%}",
            cnn["val_accuracy"],
            cnn["val_accuracy"] >= cnn["target_accuracy"],
            "the example's epochs and samples are too few for this machine's numbers",
        )
        dice, bce = seg["dice"]["val_iou"], seg["bce_logits"]["val_iou"]
        add(
            "segmentation_dice",
            "validation IoU at ~5% foreground: Dice minus pixel-wise BCE",
            "> 0",
            dice - bce,
            dice > bce,
            "pixel-wise BCE caught up with Dice in this run",
        )
    if "network_view" in doc:
        from losslab.bench.network import targets as network_targets

        out += network_targets(doc["network_view"])
    history = doc.get("run_history")
    if history is not None:
        scale = f"{history['runs']:,} runs x {history['steps_per_run']:,} steps"
        add(
            "runs_list",
            f"run history: list {scale}",
            "< 200 ms",
            history["list_ms"],
            history["list_ms"] < 200,
            "reading and decoding every run's summary row (its JSON metrics); the steps, weights and "
            "experiments live in other tables and are not read"
            + (f"; machine load average {load:.1f} per core" if load else ""),
        )
        add(
            "runs_size",
            f"run history: file size, {scale}",
            "< 500 MB",
            history["size_mb"],
            history["size_mb"] < 500,
            "the per-step losses (12 bytes a step: int64 step, float32 loss) and two weight copies per run",
        )
    return out


# -- the table -----------------------------------------------------------------------------------
def _fmt(value: Any, unit: str = "", digits: int = 3) -> str:
    if isinstance(value, dict):
        if NA in value:
            return value[NA]
        lo, hi = _num(value["min"], digits), _num(value["max"], digits)
        return f"{_num(value['median'], digits)}{unit} ({lo}–{hi})"
    if _is_number(value):
        return f"{_num(value, digits)}{unit}"
    return str(value)


def _num(v: float, digits: int) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_report(doc: dict[str, Any]) -> str:
    env = doc["environment"]
    lines = [
        f"LossLab bench{' (quick)' if doc['quick'] else ''}: Python {env['python']}, torch {env['torch']}, "
        f"PySide6 {env['pyside6']}, pyqtgraph {env['pyqtgraph']}, {env['cpus']} CPUs, {env['platform']}",
        "torch.set_num_threads(1) for the plain loop and LossLab alike. Figures: median (min–max) over "
        "repeats; a ratio is taken within each pair of runs made back to back (alternating which went "
        "first), so a change in machine load hits both sides of it.",
        f"Load average per core: {env.get('load_before', '?')} before, {env.get('load_after', '?')} after "
        "(other work on this machine widens the ranges; CPU-time ratios are immune to waiting for a core).",
    ]
    done = {w: r for w, r in doc["throughput"].items() if NA not in r}
    missing = {w: r for w, r in doc["throughput"].items() if NA in r}

    def title(row: dict[str, Any]) -> str:
        return f"{row['title']} ({row['steps_per_run']} steps/run)"

    lines += ["", "Headless: plain torch loop vs losslab.train, steps/s (this process)"]
    rows = [["workload", "plain loop", "losslab.train", "ratio", "ratio of CPU time", "same weights"]]
    for row in done.values():
        rows.append(
            [
                title(row),
                _fmt(row["plain_steps_per_s"]),
                _fmt(row["headless_steps_per_s"]),
                _fmt(row["headless_ratio"], "x"),
                _fmt(row["headless_cpu_ratio"], "x"),
                "yes" if row.get("same_weights") else "NO",
            ]
        )
    rows += [[row.get("title", w), row[NA], "", "", "", ""] for w, row in missing.items()]
    lines += _table(rows)

    lines += [
        "",
        "In the window with live plots (offscreen, a subprocess; baselines: the plain loop and "
        "losslab run's trainer in that process, the window idle)",
    ]
    rows = [
        [
            "workload",
            "plain loop",
            "losslab run",
            "window",
            "window / plain",
            "window / run",
            "ratio of CPU time*",
            "GUI thread busy",
            "Train press",
        ]
    ]
    lat_by = doc["lateness_ms"].get("by_workload", {})
    for wid, row in done.items():
        by = lat_by.get(wid, {})
        rows.append(
            [
                title(row),
                _fmt(row["window_plain_steps_per_s"]),
                _fmt(row["window_headless_steps_per_s"]),
                _fmt(row["window_steps_per_s"]),
                _fmt(row["window_ratio"], "x"),
                _fmt(row["window_run_ratio"], "x"),
                _fmt(row["window_cpu_ratio"], "x"),
                f"{100 * row['gui_busy_fraction']:.0f}%",
                _fmt(by.get("train_press_ms", {}), " ms") if by else "",
            ]
        )
    rows += [[row.get("title", w), row[NA], "", "", "", "", "", "", ""] for w, row in missing.items()]
    lines += _table(rows)
    lines.append(
        "* the training thread's CPU time: its own work per step, without waiting for the GIL "
        "or a core. GUI thread busy: its CPU time / the run's wall time."
    )

    lat = doc["lateness_ms"]
    lines += [
        "",
        f"Event-loop lateness while training + plotting in the window ({lat['interval_ms']} ms timer, "
        f"{lat['samples']} samples): p50 {_fmt(lat['p50'], ' ms')}, p99 {_fmt(lat['p99'], ' ms')}, "
        f"max {_fmt(lat['max'], ' ms')}",
    ]
    for wid, by in lat_by.items():
        lines.append(
            f"  {wid}: p50 {_fmt(by['p50'], ' ms')}, p99 {_fmt(by['p99'], ' ms')}, "
            f"max {_fmt(by['max'], ' ms')}"
        )
    red = doc["redraw_ms"]
    lines += [
        "",
        "Loss-plot redraw (800x500, median of repeats): "
        + ", ".join(f"{int(n):.0e} pts {_fmt(red[n], ' ms')}" for n in SIZES)
        + f"; 1e6 / 1e5 = {_fmt(red['flat_1e6_over_1e5'], 'x')}",
    ]
    st = doc["startup"]
    lines += [
        "",
        f"Start-up ({st['runs']} run{'s' if st['runs'] != 1 else ''}): first painted window "
        f"{_fmt(st['first_paint_s'], ' s')}, ready to train (torch imported) {_fmt(st['ready_s'], ' s')}, "
        f"peak memory after the first training {_fmt(st['peak_rss_mb'], ' MB')}",
        f"  engine (torch on a background thread) ready after {_fmt(st.get('engine_s'), ' s')}; "
        f"first Train press {_fmt(st.get('train_press_ms'), ' ms')} on the GUI thread; GUI-thread "
        f"lateness from the first paint to the end of the first training: max "
        f"{_fmt(st.get('gui_late_max_ms'), ' ms')}, p99 {_fmt(st.get('gui_late_p99_ms'), ' ms')}",
        "",
        f"Race of 8 variants vs the same 8 one after another: {_fmt(doc['race'])}",
    ]
    history = doc.get("run_history")
    if history is not None:
        lines += [
            "",
            f"Run history ({history['runs']:,} stored runs x {history['steps_per_run']:,} steps, "
            f"{history['epochs_per_run']} epochs): list {_fmt(history['list_ms'], ' ms')} "
            f"(first after opening {_fmt(history['first_list_ms'], ' ms')}), one run with its steps "
            f"{_fmt(history['get_run_ms'], ' ms')}, an epoch commit "
            f"{_fmt(history['epoch_commit_ms'], ' ms')}, file {_fmt(history['size_mb'], ' MB')}",
        ]
    if "images" in doc:
        from losslab.bench.images import format_lines

        lines += format_lines(doc["images"])
    if "network_view" in doc:
        from losslab.bench.network import format_lines as network_lines

        lines += network_lines(doc["network_view"])
    if "csv_import" in doc:
        from losslab.bench.csv_import import format_lines as csv_lines

        lines += csv_lines(doc["csv_import"])
    lines += ["", "Targets"]
    rows = [["target", "goal", "measured", "met"]]
    for t in doc["targets"]:
        met = {True: "yes", False: "NO", None: "n/a"}[t["met"]]
        rows.append([t["what"], t["target"], _fmt(t["value"]), met])
    lines += _table(rows)
    unmet = [t for t in doc["targets"] if t["met"] is False]
    if unmet:
        lines += ["", "What limits the targets not met:"]
        lines += [f"- {t['what']}: {t['limit']}" for t in unmet]
    return "\n".join(lines) + "\n"
