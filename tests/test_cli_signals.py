"""Ctrl-C and SIGTERM during `losslab run`: stop after the step, save what was done, exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _long_experiment(tmp_path: Path) -> Path:
    doc = json.loads((ROOT / "resources/examples/05_moons_bce_logits.losslab").read_text(encoding="utf-8"))
    doc["training"]["epochs"] = 100_000
    path = tmp_path / "long.losslab"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LOSSLAB_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "losslab", "run", str(_long_experiment(tmp_path)), *extra],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_for_sigterm_handler(pid: int, timeout: float = 20.0) -> None:
    """Until the process catches SIGTERM (Linux: SigCgt in /proc), else a short sleep (other systems)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        time.sleep(0.8)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        caught = next(
            (line.split()[1] for line in status.read_text().splitlines() if line.startswith("SigCgt:")), "0"
        )
        if int(caught, 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.01)
    raise AssertionError("losslab never installed its SIGTERM handler")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_saves_what_was_done(tmp_path: Path, sig: signal.Signals) -> None:
    proc = _start(tmp_path, "--out", "out")
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until epochs are being trained
        if line.startswith("epoch"):
            break
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "what was done is saved" in err
    rows = (tmp_path / "out" / "history.csv").read_text(encoding="utf-8").strip().splitlines()
    assert len(rows) >= 2  # the header and at least one epoch
    assert (tmp_path / "out" / "weights.pt").stat().st_size > 0
    from losslab.core.runs import RunStore

    store = RunStore(tmp_path / "data" / "runs.sqlite3")
    (run,) = store.list_runs()
    assert run.status == "stopped" and run.epochs_done >= 1


def test_sigterm_during_start_up_exits_130_without_a_traceback(tmp_path: Path) -> None:
    proc = _start(tmp_path, "--out", "out", "--no-record")
    _wait_for_sigterm_handler(proc.pid)  # then torch is still loading
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
