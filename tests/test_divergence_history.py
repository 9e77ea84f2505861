"""After a divergence every record of the run says at which epoch and step it diverged: the API's
History, history.csv, the stored run and `losslab run`'s output; weights.pt holds finite weights."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

import losslab
from losslab.cli import main
from losslab.core.history import History

ROOT = Path(__file__).resolve().parents[1]
DIVERGES = ROOT / "resources/examples/11_learning_rate_too_high.losslab"


def _read(path: Path) -> list[dict[str, float]]:
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_the_api_history_and_the_stored_run_name_the_divergence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path / "data"))
    history = losslab.train(DIVERGES)
    assert history.diverged_epoch == 1 and history.diverged_step is not None and history.diverged_step >= 1
    from losslab.core.runs import open_store

    with open_store() as store:
        run = store.get_run(history.run_id).summary
    assert run.status == "diverged" and run.steps_done == history.diverged_step
    assert f"epoch {history.diverged_epoch}, step {history.diverged_step}" in run.message


def test_history_csv_has_a_row_where_it_diverged() -> None:
    history = History()
    history.rows = [{"epoch": 1, "step": 10, "train_loss": 0.5}, {"epoch": 2, "step": 20, "train_loss": 0.4}]
    assert "diverged" not in history.to_csv()  # an ordinary run keeps its columns
    history.mark_diverged(3, 27)
    lines = history.to_csv().splitlines()
    assert lines == ["epoch,step,train_loss,diverged", "1,10,0.5,0", "2,20,0.4,0", "3,27,nan,1"]


def test_losslab_run_says_where_it_diverged_and_keeps_finite_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["run", str(DIVERGES), "--quiet", "--no-record", "--out", str(out)]) == 3
    err = capsys.readouterr().err
    rows = _read(out / "history.csv")
    last = rows[-1]
    assert last["diverged"] == 1 and all(row["diverged"] == 0 for row in rows[:-1])
    assert f"losslab: diverged at epoch {last['epoch']:.0f}, step {last['step']:.0f}" in err
    assert "weights.pt holds the last finite weights" in err
    weights = torch.load(out / "weights.pt", weights_only=True)
    assert all(torch.isfinite(w).all() for w in weights.values())


def test_an_exported_stored_run_has_the_same_history_csv_as_losslab_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`losslab runs export` writes history.csv from the run store: since schema v3 the store keeps
    where the run diverged, so the file has the same `diverged` row as `losslab run --out`."""
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "out"
    assert main(["run", str(DIVERGES), "--quiet", "--out", str(out)]) == 3
    from losslab.core.runs import open_store

    with open_store() as store:
        (run,) = store.list_runs()
    assert run.status == "diverged" and run.diverged_epoch == 1 and run.diverged_step is not None
    assert run.to_json()["diverged_at"] == {"epoch": 1, "step": run.diverged_step}
    exported = tmp_path / "exported"
    assert main(["runs", "export", str(run.id), "--out", str(exported)]) == 0
    assert (exported / "history.csv").read_text() == (out / "history.csv").read_text()
