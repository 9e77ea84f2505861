"""CSV import of real exports (#14): sniffed delimiter and decimal comma, text features one-hot,
missing-value policies with line numbers, text targets as classes, content hash, progress, cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from losslab.core.data import make_dataset, read_csv_table, validate_dataset_config
from losslab.core.data.csv_format import sniff_format
from losslab.core.data.csv_import import infer_task
from losslab.core.data.csv_parse import parse_csv
from losslab.core.data.csv_source import csv_source_problem
from losslab.core.errors import Cancelled, LossLabError
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION


def write(tmp_path: Path, text: str, name: str = "data.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


CITIES = ("Paris", "Rome", "Oslo")


def european(n: int = 30) -> str:
    """A spreadsheet export from a German or French locale: semicolons, decimal commas, a text column."""
    rows = [f"{i},5;{CITIES[i % 3]};{'yes' if i % 2 else 'no'}" for i in range(n)]
    return "size;city;bought\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("sample", "delimiter", "decimal"),
    [
        ("a,b\n1.5,2\n3,4\n", ",", "."),
        ("a;b\n1,5;2,25\n3,0;4,5\n", ";", ","),
        ("a;b\n1.5;2\n3;4\n", ";", "."),
        ("a\tb\tc\n1\t2\t3\n", "\t", "."),
        ("a|b\n1,5|2\n", "|", ","),
        ('name,price\n"Smith; John",3.5\n"Doe; Jane",4\n', ",", "."),  # semicolons inside quotes only
    ],
)
def test_format_is_sniffed(sample: str, delimiter: str, decimal: str) -> None:
    fmt = sniff_format(sample)
    assert (fmt.delimiter, fmt.decimal) == (delimiter, decimal)


def test_a_european_export_with_bom_reads_with_one_hot_city_and_text_classes(tmp_path: Path) -> None:
    table = read_csv_table(write(tmp_path, european(), bom=True), "bought")
    assert table.format.delimiter == ";" and table.format.decimal == ","
    assert table.feature_names == ["size", "city=Oslo", "city=Paris", "city=Rome"]
    assert table.feature_columns == ["size", "city"]
    assert table.task == BINARY and table.class_names == ["no", "yes"]
    np.testing.assert_allclose(table.x[:3, 0], [0.5, 1.5, 2.5])
    assert table.x[0, 1:].tolist() == [0, 1, 0] and table.x[2, 1:].tolist() == [1, 0, 0]
    assert table.y[:2].tolist() == [0, 1]
    assert table.sha256 == hashlib.sha256((tmp_path / "data.csv").read_bytes()).hexdigest()


def test_city_as_target_is_multiclass_with_names_kept(tmp_path: Path) -> None:
    path = write(tmp_path, european())
    assert infer_task(parse_csv(path), "city") == (MULTICLASS, 3)
    table = read_csv_table(path, "city")
    assert table.task == MULTICLASS and table.class_names == ["Oslo", "Paris", "Rome"]
    assert table.feature_names == ["size", "bought=no", "bought=yes"]
    ds = make_dataset({"kind": "csv", "path": str(path), "target_column": "city"})
    assert ds.class_names == ["Oslo", "Paris", "Rome"] and ds.n_classes == 3


def test_features_choice_and_task_override(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,id,y\n" + "".join(f"{i},{i % 3},{1000 + i},{i % 4}\n" for i in range(20)))
    table = read_csv_table(path, "y", task=REGRESSION, features=["b", "a"])
    assert table.feature_names == ["b", "a"] and table.task == REGRESSION and table.class_names == []
    assert read_csv_table(path, "y").task == MULTICLASS
    with pytest.raises(LossLabError, match="'y' is the target; it cannot be a feature"):
        read_csv_table(path, "y", features=["a", "y"])
    with pytest.raises(LossLabError, match="no column named 'nope'"):
        read_csv_table(path, "y", features=["nope"])


def _gappy(n: int = 20) -> str:
    rows = [f"{i},{CITIES[i % 3]},{i * 2.5}" for i in range(n)]
    rows[3] = "3,,7.5"  # line 5: no city
    rows[6] = ",Rome,15.0"  # line 8: no a
    rows[9] = "9,Oslo,"  # line 11: no target
    return "a,city,y\n" + "\n".join(rows) + "\n"


def test_missing_values_are_refused_by_default_with_their_lines(tmp_path: Path) -> None:
    with pytest.raises(LossLabError) as info:
        read_csv_table(write(tmp_path, _gappy()))
    message = str(info.value)
    assert "line 5, column 'city': missing value" in message
    assert "3 row(s) miss a value (lines 5, 8, 11)" in message and "--missing drop|mean" in message


def test_drop_policy_drops_the_rows_and_says_which(tmp_path: Path) -> None:
    table = read_csv_table(write(tmp_path, _gappy()), missing="drop")
    assert len(table.y) == 17
    assert table.notes == ["dropped 3 row(s) with a missing value (lines 5, 8, 11)"]
    assert table.task == REGRESSION and 7.5 not in table.y and 15.0 not in table.y


def test_mean_policy_fills_features_and_drops_rows_without_target(tmp_path: Path) -> None:
    table = read_csv_table(write(tmp_path, _gappy()), missing="mean")
    assert len(table.y) == 19  # only the row without a target went
    kept_a = [float(i) for i in range(20) if i not in (6, 9)]
    row_without_a = list(table.y).index(15.0)
    assert table.x[row_without_a, 0] == pytest.approx(np.mean(kept_a))
    row_without_city = list(table.y).index(7.5)
    shares = table.x[np.arange(19) != row_without_city, 1:].mean(axis=0)
    np.testing.assert_allclose(table.x[row_without_city, 1:], shares)
    assert any("column 'a' with the column mean (line 8)" in n for n in table.notes)
    assert any("no target value (line 11)" in n for n in table.notes)


def test_a_text_column_with_too_many_texts_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name,y\n" + "".join(f"person{i},{i % 2}\n" for i in range(60)))
    with pytest.raises(LossLabError, match="'name' holds 60 different texts"):
        read_csv_table(path)


def test_progress_is_reported_and_cancel_stops_the_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("losslab.core.data.csv_parse.CHUNK_ROWS", 100)
    path = write(tmp_path, "a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(1000)))
    seen: list[float] = []
    read_csv_table(path, progress=seen.append)
    assert len(seen) >= 10 and seen == sorted(seen) and seen[-1] == 1.0

    other = write(tmp_path, "a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(1000)), "other.csv")

    def stop(fraction: float) -> None:
        if fraction > 0.3:
            raise Cancelled

    with pytest.raises(Cancelled):
        read_csv_table(other, progress=stop)


def test_a_parse_is_reused_until_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, european())
    first = parse_csv(path)
    assert parse_csv(path) is first
    table = read_csv_table(path, "city")
    assert read_csv_table(path, "city") is table  # the wizard's check is what the dataset is made of
    path.write_text(european(40), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a rewrite within the clock's tick still counts as a change
    assert parse_csv(path) is not first and parse_csv(path).n_rows == 40


def test_source_check_names_a_changed_or_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, european())
    cfg = validate_dataset_config(
        {"kind": "csv", "path": str(path), "sha256": read_csv_table(path, "bought").sha256}
    )
    assert csv_source_problem(cfg) is None
    assert csv_source_problem({**cfg, "sha256": None}) is None  # nothing recorded: nothing to compare
    path.write_text(european(31), encoding="utf-8")
    problem = csv_source_problem(cfg)
    assert problem is not None and not problem.missing and "data.csv has changed" in problem.message
    path.unlink()
    problem = csv_source_problem(cfg)
    assert problem is not None and problem.missing and "data.csv is missing" in problem.message


@pytest.mark.parametrize(
    ("key", "value"),
    [("missing", "ignore"), ("sha256", "abc"), ("features", []), ("features", "a,b"), ("features", [1])],
)
def test_new_csv_keys_are_validated(key: str, value: object) -> None:
    with pytest.raises(LossLabError) as info:
        validate_dataset_config({"kind": "csv", "path": "a.csv", key: value})
    assert info.value.field == f"dataset.{key}"


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02,\xff\n",
        b'a,b\n"1,2\n',
        b"a;b\r1,5;2\r" * 3,
        b"\xef\xbb\xbf",
        b"a,b\n" + b"1,x\n" * 5 + b"\n\n" + b";;\n" * 20,
        b"x;y\n" + b"1,5;;\n" * 12,
        b"a,b\n" + b"nan,inf\n" * 12,
    ],
)
def test_odd_bytes_give_only_a_clear_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(data)
    for missing in ("error", "drop", "mean"):
        with pytest.raises(LossLabError, match=r"odd\.csv"):
            read_csv_table(path, missing=missing)
