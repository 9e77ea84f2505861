"""`losslab --self-test`: passes on a working install, names the check that failed otherwise, and
never touches the user's settings. Each run is a subprocess (one QApplication per process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from losslab.selftest import PNG_MAGIC, CheckFailed, check_csv, check_png, choose_platform, pick_example

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ("platform", "resources", "qt", "window", "open", "train", "export plot", "export csv", "close")


def headless_env(home: Path) -> dict[str, str]:
    """No display at all (the self-test must pick offscreen itself), and a throwaway home folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / "data"))
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def test_self_test_passes_and_reports_every_check(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = run(["-m", "losslab", "--self-test"], headless_env(home), tmp_path)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for check in CHECKS:
        assert f"ok    {check}" in out, f"no 'ok' line for {check}:\n{out}"
    assert "offscreen" in out
    assert "1 epoch" in out and "worker thread" in out
    assert "self-test passed" in out
    # The user's settings and data folders were not touched (the window got a temporary QSettings).
    assert not [p for p in home.rglob("*") if "losslab" in p.name.lower()], list(home.rglob("*"))
    assert list(tmp_path.iterdir()) == [home], "the self-test left files in the working directory"


def test_self_test_names_the_check_that_failed(tmp_path):
    # Break the plot exporter: the self-test must fail at "export plot", say why, and exit 1.
    code = (
        "import sys\n"
        "import losslab.gui.export as export\n"
        "export.export_plot = lambda plot, path: path.write_bytes(b'not a png')\n"
        "from losslab.cli import main\n"
        "sys.exit(main(['--self-test']))\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    result = run(["-c", code], headless_env(home), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  export plot: loss.png is not a PNG" in result.stdout, result.stdout
    assert "ok    train" in result.stdout
    assert "self-test FAILED" in result.stdout


def test_self_test_gives_up_when_out_of_time(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = headless_env(home) | {"LOSSLAB_SELFTEST_TIMEOUT": "0.01"}
    result = run(["-m", "losslab", "--self-test"], env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "timed out" in result.stdout and "FAIL" in result.stdout, result.stdout


def test_check_png_rejects_what_is_not_a_png(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"GIF89a....")
    with pytest.raises(CheckFailed, match="not a PNG"):
        check_png(bad)
    with pytest.raises(CheckFailed, match="not a PNG"):
        check_png(tmp_path / "missing.png")
    assert PNG_MAGIC == b"\x89PNG\r\n\x1a\n"


def test_check_csv(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("series,x,y\ntrain,1,0.5\ntrain,2,0.25\n", encoding="utf-8")
    assert check_csv(good).startswith("2 rows, 3 columns")
    header_only = tmp_path / "header.csv"
    header_only.write_text("series,x,y\n", encoding="utf-8")
    with pytest.raises(CheckFailed, match="0 data rows"):
        check_csv(header_only)
    no_numbers = tmp_path / "nan.csv"
    no_numbers.write_text("series,x,y\ntrain,nan,inf\n", encoding="utf-8")
    with pytest.raises(CheckFailed, match="no finite numbers"):
        check_csv(no_numbers)
    with pytest.raises(CheckFailed, match="not written"):
        check_csv(tmp_path / "missing.csv")


def test_choose_platform(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "minimal")
    assert choose_platform() == "minimal"
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    expected = "native" if sys.platform in ("win32", "darwin") else "offscreen"
    assert choose_platform().startswith(expected)
    if expected == "offscreen":
        assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_pick_example_prefers_two_moons():
    paths = [Path("01_house.losslab"), Path("05_moons_bce.losslab"), Path("07_spiral.losslab")]
    assert pick_example(paths).name == "05_moons_bce.losslab"
    assert pick_example(paths[:1]).name == "01_house.losslab"


def test_without_a_console_the_report_goes_to_a_file(tmp_path):
    """A windowed app started from a shortcut has no console: the report lands in the temp folder."""
    code = (
        "import os, sys\n"
        "sys.stdout = open(os.devnull, 'w')\n"
        "from losslab.cli import main\n"
        "sys.exit(main(['--self-test']))\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    temp = tmp_path / "temp"
    temp.mkdir()
    result = run(["-c", code], headless_env(home) | {"TMPDIR": str(temp), "TEMP": str(temp)}, tmp_path)
    assert result.returncode == 0, result.stderr
    report = (temp / "losslab-self-test.txt").read_text(encoding="utf-8")
    assert "ok    train" in report and "self-test passed" in report
