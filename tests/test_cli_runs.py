"""`losslab runs ...` and the recording of `losslab run`, as a user runs them: subprocesses, exit codes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from losslab.core.runs import FINISHED, RunStore

ROOT = Path(__file__).resolve().parents[1]
MOONS = ROOT / "resources" / "examples" / "05_moons_bce_logits.losslab"
HOUSES = ROOT / "resources" / "examples" / "01_house_prices_mse.losslab"
SUMMARY_KEYS = {
    "id",
    "diverged_at",  # format 3: {"epoch", "step"} of a divergence, else null
    "name",
    "status",
    "message",
    "tags",
    "group_id",
    "source",
    "created",
    "started",
    "ended",
    "dataset",
    "task",
    "architecture",
    "param_count",
    "loss",
    "optimizer",
    "lr",
    "seed",
    "epochs_planned",
    "epochs_done",
    "steps_done",
    "elapsed_s",
    "metric",
    "final",
    "best",
    "best_epoch",
    "torch_version",
    "device",
    "host",
    "pid",
}


def losslab(data: Path, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOSSLAB_DATA_DIR": str(data),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [sys.executable, "-m", "losslab", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def test_run_records_and_runs_lists_shows_exports_and_removes(tmp_path):
    data = tmp_path / "data"
    done = losslab(data, "run", str(MOONS), "--epochs", "3", "--quiet", "--tag", "demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stored as run 1 (losslab runs show 1)" in done.stderr

    listed = losslab(data, "runs", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "finished" in listed.stdout and "moons" in listed.stdout and "3/3" in listed.stdout

    as_json = losslab(data, "runs", "list", "--json", cwd=tmp_path)
    (run,) = json.loads(as_json.stdout)
    assert set(run) == SUMMARY_KEYS  # the documented, stable fields
    assert (run["id"], run["status"], run["epochs_done"], run["tags"], run["source"]) == (
        1,
        "finished",
        3,
        ["demo"],
        "cli",
    )
    assert run["metric"] == "accuracy" and 0.5 < run["final"]["val_accuracy"] <= 1
    assert run["best"]["val_loss"] <= run["final"]["val_loss"] and run["best_epoch"] in (1, 2, 3)
    assert run["created"].endswith("Z")

    shown = losslab(data, "runs", "show", "1", "--json", cwd=tmp_path)
    doc = json.loads(shown.stdout)
    assert set(doc) >= SUMMARY_KEYS and [r["epoch"] for r in doc["epochs"]] == [1, 2, 3]
    assert doc["steps"]["kept"] == doc["steps_done"] and doc["experiment"]["training"]["epochs"] == 3
    assert set(doc["weights"]) == {"final", "best"}
    text = losslab(data, "runs", "show", "1", cwd=tmp_path)
    assert "run 1:" in text.stdout and "status     finished" in text.stdout and "train_loss" in text.stdout

    # The export holds what `losslab run --out` wrote.
    out = tmp_path / "export"
    exported = losslab(data, "runs", "export", "1", "--out", str(out), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    ran = tmp_path / "05_moons_bce_logits-run"
    assert (out / "history.csv").read_text() == (ran / "history.csv").read_text()
    assert (out / "experiment.losslab").read_text() == (ran / "experiment.losslab").read_text()
    mine, theirs = (
        torch.load(out / "weights.pt", weights_only=True),
        torch.load(ran / "weights.pt", weights_only=True),
    )
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    with (out / "steps.csv").open() as f:
        assert len(list(csv.DictReader(f))) == doc["steps_done"]

    removed = losslab(data, "runs", "rm", "1", cwd=tmp_path)
    assert removed.returncode == 0 and "removed run 1" in removed.stderr
    assert json.loads(losslab(data, "runs", "list", "--json", cwd=tmp_path).stdout) == []


def test_no_record_stores_nothing(tmp_path):
    data = tmp_path / "data"
    done = losslab(data, "run", str(HOUSES), "--epochs", "2", "--quiet", "--no-record", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stored as run" not in done.stderr
    assert not (data / "runs.sqlite3").exists()


def test_seeds_train_a_group_and_print_mean_and_std(tmp_path):
    data = tmp_path / "data"
    done = losslab(data, "run", str(HOUSES), "--epochs", "3", "--seeds", "3", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["seed", "epochs", "train_loss", "val_loss"]
    assert [line.split()[0] for line in lines[2:5]] == ["0", "1", "2"]
    assert lines[5].startswith("mean ± std") and lines[5].count("±") >= 3
    assert "sample standard deviation over 3 seeds" in done.stdout
    with RunStore(data / "runs.sqlite3") as store:
        runs = sorted(store.list_runs(), key=lambda r: r.id)
        assert [r.seed for r in runs] == [0, 1, 2] and {r.status for r in runs} == {FINISHED}
        assert len({r.group_id for r in runs}) == 1 and runs[0].group_id.startswith("seeds-")
        assert len({r.final["val_loss"] for r in runs}) == 3  # the seeds really differ
    for seed in (0, 1, 2):
        assert (tmp_path / "01_house_prices_mse-run" / f"seed-{seed}" / "history.csv").is_file()
    group = losslab(data, "runs", "list", "--group", runs[0].group_id, "--json", cwd=tmp_path)
    assert len(json.loads(group.stdout)) == 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["runs", "show", "42"], "there is no run 42"),
        (["runs", "export", "7", "--out", "x"], "there is no run 7"),
        (["runs", "rm", "abc"], "a run id is a whole number"),
        (["runs", "list", "--status", "happy"], "--status: must be one of"),
        (["runs"], "required"),
        (["run", str(HOUSES), "--seeds", "0"], "--seeds: must be at least 1"),
    ],
)
def test_bad_input_exits_2_with_one_message(tmp_path, args, words):
    done = losslab(tmp_path / "data", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr


def test_a_damaged_history_is_reported_and_training_still_runs(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    damaged = data / "runs.sqlite3"
    damaged.write_bytes(b"\x00garbage" * 512)
    listed = losslab(data, "runs", "list", cwd=tmp_path)
    assert listed.returncode == 2 and "damaged" in listed.stderr and "Move it aside" in listed.stderr
    assert "Traceback" not in listed.stderr
    done = losslab(data, "run", str(HOUSES), "--epochs", "2", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "not recording this run in the history" in done.stderr
    assert damaged.read_bytes() == b"\x00garbage" * 512
