"""`losslab bench --quick` runs as a user runs it and produces every figure the issue asks for.

The figures themselves depend on the machine and are not checked; only that each one is a number
or an explicit "n/a" with a reason, that the table names them, and that the report's helpers work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from losslab.bench import report

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "QT_QPA_PLATFORM": "offscreen",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "losslab", "bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads(out.read_text(encoding="utf-8"))


def test_quick_bench_produces_every_figure(quick_run: tuple[subprocess.CompletedProcess[str], dict]) -> None:
    _proc, doc = quick_run
    assert doc["quick"] is True
    assert report.missing_figures(doc) == []
    for wid in ("moons_b32", "moons_full", "mlp64_b64", "wide_b256"):
        row = doc["throughput"][wid]
        assert row["same_weights"], f"the plain loop does not train what LossLab trains ({wid})"
        assert row["headless_ratio"]["min"] <= row["headless_ratio"]["median"] <= row["headless_ratio"]["max"]
    # The shapes CNN reaches 90% in a CI-sized run, and Dice beats pixel-wise BCE on rare foreground.
    cnn = doc["images"]["shapes_cnn"]
    assert cnn["val_accuracy"] >= 0.9 and 0 < cnn["seconds"] < 120
    seg = doc["images"]["segmentation"]
    assert seg["dice"]["val_iou"] > seg["bce_logits"]["val_iou"]
    assert doc["race"]["modes"] == ["batched"] and doc["race"]["fair"] is True
    assert doc["race"]["median"] > 1.0, "training 8 variants together is no faster than one after another"
    assert set(doc["redraw_ms"]) >= {"1000", "10000", "100000", "1000000", "flat_1e6_over_1e5"}
    ids = {t["id"] for t in doc["targets"]}
    assert {"lateness_p99", "lateness_max", "redraw_1e6", "first_paint", "peak_memory", "race"} <= ids
    assert {"train_press", "startup_freeze"} <= ids  # the start-up engine's figures (#19)
    assert {f"{kind}.{w}" for kind in ("headless_ratio", "window_ratio") for w in doc["throughput"]} <= ids
    for target in doc["targets"]:
        assert target["met"] in (True, False, None)
        if target["met"] is False:
            assert target["limit"], f"{target['id']} is not met but says nothing about why"


def test_quick_bench_prints_a_readable_table(
    quick_run: tuple[subprocess.CompletedProcess[str], dict],
) -> None:
    proc, _doc = quick_run
    text = proc.stdout
    for words in (
        "plain loop",
        "losslab.train",
        "window",
        "torch.set_num_threads(1)",
        "Event-loop lateness",
        "p99",
        "Loss-plot redraw",
        "1e+06 pts",
        "first painted window",
        "ready to train",
        "peak memory",
        "Race of 8",
        "first Train press",
        "engine (torch on a background thread)",
        "Targets",
    ):
        assert words in text, f"{words!r} missing from the table:\n{text}"


def test_missing_figures_names_what_is_absent() -> None:
    assert "race = None" in report.missing_figures({"throughput": {}})
    assert report.missing_figures({"race": {"na": ""}})  # an n/a needs a reason
    assert not report._is_figure(float("nan"))
    assert report._is_figure({"median": 1.0, "min": 0.5, "max": 2})


def test_summary_and_percentile() -> None:
    assert report.summary([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert report.summary([1.0, 2.0])["median"] == 1.5
    assert report.percentile(list(range(1, 101)), 99) == 99
    assert report.percentile([5.0], 50) == 5.0
    assert report.ratios([2.0, 3.0], [1.0, 2.0]) == [2.0, 1.5]
