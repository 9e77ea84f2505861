"""kill -9 of `losslab run` mid-way keeps its completed epochs and weights, and reopens as interrupted."""

from __future__ import annotations

import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from losslab.core.runs import INTERRUPTED, RunStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_kill_9_keeps_the_completed_epochs_and_the_run_reopens_interrupted(tmp_path):
    doc = json.loads((ROOT / "resources" / "examples" / "05_moons_bce_logits.losslab").read_text())
    doc = copy.deepcopy(doc)
    doc["training"].update(epochs=100_000, device="cpu")  # far more than it will get to run
    exp = tmp_path / "long.losslab"
    exp.write_text(json.dumps(doc))
    data = tmp_path / "data"
    env = {
        **os.environ,
        "LOSSLAB_DATA_DIR": str(data),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "losslab", "run", str(exp), "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    db = data / "runs.sqlite3"
    try:
        deadline = time.monotonic() + 90
        epochs = 0
        while time.monotonic() < deadline and proc.poll() is None:  # poll the history, as anyone can
            if db.exists():
                try:
                    conn = sqlite3.connect(db, timeout=1)
                    epochs = conn.execute("SELECT count(*) FROM epochs").fetchone()[0]
                    weights = conn.execute("SELECT count(*) FROM weights").fetchone()[0]
                    conn.close()
                except sqlite3.Error:
                    epochs = weights = 0  # not created yet
                if epochs >= 5 and weights >= 1:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert epochs >= 5, "no epochs committed within 90 s"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    with RunStore(db) as store:  # opening it is what notices the dead process
        (run,) = store.list_runs()
        assert run.status == INTERRUPTED and "completed epoch" in run.message
        record = store.get_run(run.id)
        assert len(record.epochs) >= epochs and record.summary.epochs_done == len(record.epochs)
        assert [r["epoch"] for r in record.epochs] == list(range(1, len(record.epochs) + 1))
        assert run.final == record.epochs[-1] and run.best_epoch is not None
        weights = store.load_weights(run.id, "final")
        assert weights and all(v.isfinite().all() for v in weights.values())
        assert store.experiment_of(run.id).training["epochs"] == 100_000
