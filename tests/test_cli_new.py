"""`losslab new --csv FILE --target COLUMN` (#14) and what `losslab run` says about a changed CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from losslab.cli import main
from losslab.core.experiment import load_experiment

CITIES = ("Paris", "Rome", "Oslo")


def _export(path: Path, n: int = 30) -> Path:
    rows = [f"{i},5;{CITIES[i % 3]};{1000 + i};{i * 1.5:.1f}".replace(".", ",") for i in range(n)]
    path.write_text("size;city;id;price\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_new_writes_an_experiment_for_the_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data").mkdir()
    data = _export(tmp_path / "data" / "shop.csv")
    out = tmp_path / "exp" / "shop.losslab"
    assert (
        main(["new", "--csv", str(data), "--target", "price", "-o", str(out), "--features", "size,city"]) == 0
    )
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "semicolon-separated, decimal comma" in printed
    assert "Regression" in printed and "4 inputs from 2 columns" in printed
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["dataset"]["path"] == "../data/shop.csv"  # relative to the experiment, so both can move
    assert doc["dataset"]["features"] == ["size", "city"] and len(doc["dataset"]["sha256"]) == 64
    assert doc["loss"]["id"] == "mse"
    exp = load_experiment(out)
    assert Path(exp.dataset["path"]).resolve() == data.resolve()

    # A text target: classes, the classification loss; the task can be overridden.
    other = tmp_path / "city.losslab"
    assert main(["new", "--csv", str(data), "--target", "city", "-o", str(other)]) == 0
    assert "3 classes (Oslo, Paris, Rome)" in capsys.readouterr().out
    assert json.loads(other.read_text())["loss"]["id"] == "cross_entropy"


def test_new_refuses_to_overwrite_and_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _export(tmp_path / "shop.csv")
    assert main(["new", "--csv", str(data), "--target", "price"]) == 0
    written = (tmp_path / "shop.losslab").read_bytes()
    capsys.readouterr()
    assert main(["new", "--csv", str(data), "--target", "id"]) == 2
    err = capsys.readouterr().err
    assert "exists already" in err and "--force" in err
    assert (tmp_path / "shop.losslab").read_bytes() == written
    assert main(["new", "--csv", str(data), "--target", "id", "--force", "--task", "regression"]) == 0
    assert json.loads((tmp_path / "shop.losslab").read_text())["dataset"]["target_column"] == "id"

    for args, expected in [
        (["--target", "cost"], "no column named 'cost'"),
        (["--target", "price", "--features", "size,price"], "'price' is the target"),
        (["--target", "price", "-o", str(tmp_path / "x.json")], "should end in .losslab"),
    ]:
        assert main(["new", "--csv", str(data), "--force", *args]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_run_warns_about_a_changed_csv_and_refuses_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _export(tmp_path / "shop.csv")
    exp = tmp_path / "shop.losslab"
    assert main(["new", "--csv", str(data), "--target", "price", "-o", str(exp)]) == 0
    _export(data, n=31)
    capsys.readouterr()
    args = ["run", str(exp), "--epochs", "1", "--no-record", "--quiet", "--out", str(tmp_path / "run")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "losslab: warning: the data file shop.csv has changed since this experiment was made" in err
    data.unlink()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "shop.csv is missing" in err and "Traceback" not in err
