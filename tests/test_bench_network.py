"""`losslab bench`'s Network-view figures: the with/without runs attach what the window attaches, and
the report states each figure and target (the full quick bench runs in test_bench.py)."""

from __future__ import annotations

from losslab.bench import network, report


def test_each_kind_of_run_trains_and_the_report_names_the_figures():
    exp = network._experiment(0, 3)
    for kind in ("bare", "history", "network"):
        wall, cpu = network._steps_per_s(exp, kind)
        assert wall > 0 and cpu > 0
    ratio = report.summary([0.97, 0.99, 1.01])
    row = {"bare_steps_per_s": report.summary([500.0]), "history_ratio": ratio, "network_ratio": ratio}
    nv = {"moons_b32": row, "moons_full": {**row, "history_ratio": report.summary([0.5])}}
    nv |= {"picture_ms": 0.7, "picture_ms_wide": 7.0, "canvas_refresh_ms_wide": 25.0}
    text = "\n".join(network.format_lines(nv))
    assert "moons_full" in text and "canvas refresh" in text and "0.99x" in text
    met = {t["id"]: t["met"] for t in network.targets(nv)}
    assert met == {
        "history_ratio.moons_b32": True,
        "network_ratio.moons_b32": True,
        "history_ratio.moons_full": False,
        "network_ratio.moons_full": True,
    }
