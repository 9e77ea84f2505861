"""`losslab race`: fair variants from the command line, their JSON, and clear refusals."""

from __future__ import annotations

import json

import pytest

from losslab.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MOONS = "resources/examples/05_moons_bce_logits.losslab"
HOUSE = "resources/examples/02_house_outliers_mse.losslab"


def _race(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["race", *args, "--quiet"])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_four_losses_share_initial_weights_and_batch_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _race(
        capsys, HOUSE, "--vary", "loss=mse,mae,huber,log_cosh", "--epochs", "3", "--json", "--no-record"
    )
    assert code == 0
    doc = json.loads(out)
    variants = doc["variants"]
    assert [v["label"] for v in variants] == ["loss=mse", "loss=mae", "loss=huber", "loss=log_cosh"]
    assert doc["fair"] is True
    assert len({v["init_digest"] for v in variants}) == 1
    assert len({v["batch_order_digest"] for v in variants}) == 1
    assert all(len(v["init_digest"]) == 64 for v in variants)
    assert all(v["status"] == "finished" and v["epochs_done"] == 3 for v in variants)
    assert all(v["mode"] == "batched" for v in variants)
    assert all(isinstance(v["final"]["val_loss"], float) for v in variants)
    # Different losses train differently from the same start.
    assert len({round(v["final"]["metric_value"], 6) for v in variants}) > 1
    assert doc["run_ids"] == []


def test_learning_rate_race_prints_a_table_with_the_fairness_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _race(capsys, MOONS, "--vary", "optimizer.lr=0.001,0.1", "--epochs", "2", "--no-record")
    assert code == 0
    assert "optimizer.lr=0.001" in out and "optimizer.lr=0.1" in out
    assert "fair: every variant started from weights" in out


def test_sequential_gives_the_same_digests(capsys: pytest.CaptureFixture[str]) -> None:
    args = [MOONS, "--vary", "optimizer=sgd,adam", "--epochs", "2", "--json", "--no-record"]
    _, batched, _ = _race(capsys, *args)
    _, alone, _ = _race(capsys, *args, "--sequential")
    b, s = json.loads(batched)["variants"], json.loads(alone)["variants"]
    assert [v["init_digest"] for v in b] == [v["init_digest"] for v in s]
    assert [v["batch_order_digest"] for v in b] == [v["batch_order_digest"] for v in s]
    assert all(v["mode"].startswith("sequential") for v in s)


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ("loss=bce_logits,cross_entropy", "Cross-entropy needs class labels"),
        ("los=mse,mae", "no setting 'los'"),
        ("loss=mse", "at least 2 values"),
        ("optimizer.lr=0.1,abc", "must be a number"),
        ("loss", "expected SETTING=VALUE"),
    ],
)
def test_bad_races_are_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str], vary: str, message: str
) -> None:
    code, out, err = _race(capsys, MOONS, "--vary", vary, "--no-record")
    assert code == 2
    assert message in err
    assert "Traceback" not in err and out == ""


def test_epochs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _race(capsys, MOONS, "--vary", "optimizer=sgd,adam", "--epochs", "0", "--no-record")
    assert code == 2 and "--epochs" in err


def test_a_race_is_kept_as_a_group_of_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path))
    code, out, _ = _race(capsys, MOONS, "--vary", "optimizer=sgd,adam", "--epochs", "2", "--json")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["run_ids"]) == 2
    from losslab.core.runs import open_store

    store = open_store()
    runs = store.list_runs(group_id=doc["group_id"])
    assert sorted(r.id for r in runs) == sorted(doc["run_ids"])
    assert {r.status for r in runs} == {"finished"}
    assert all(r.epochs_done == 2 for r in runs)
