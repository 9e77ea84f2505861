"""Fuzzing the two doors a file comes in by: the experiment loader and the CSV importer.

Whatever the input (structured but wrong experiments, raw bytes, CSV text of any shape), the only
exception allowed is LossLabError, with a message of one line and a sane length; what is accepted
must be usable (an experiment that saves and loads to itself, a table of finite numbers).

CI runs the default profile (a few hundred cases in all, derandomized so a run is repeatable);
``LOSSLAB_FUZZ=slow`` runs 10,000 cases per test with fresh random inputs.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losslab.core.data.csv_import import CSV_TASKS, MIN_ROWS, MISSING_POLICIES, read_csv_table
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment, parse_experiment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    json.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "resources/examples").glob("*.losslab"))
]

_common = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}
settings.register_profile("ci", max_examples=100, derandomize=True, **_common)
settings.register_profile("slow", max_examples=10_000, **_common)
settings.load_profile("slow" if os.environ.get("LOSSLAB_FUZZ") == "slow" else "ci")

MAX_MESSAGE = 600  # characters: a message names the field and the value, shortened, never a dump


def _check_message(exc: LossLabError, one_line: bool = True) -> None:
    text = str(exc)
    assert text.strip(), "an empty message"
    if one_line:
        assert "\n" not in text.strip(), f"a message of more than one line: {text!r}"
    assert len(text) <= MAX_MESSAGE, f"a message of {len(text)} characters: {text[:200]!r}..."


# -- values of every JSON type, and some no JSON parser returns but a Python caller can pass ----------
NUMBERS = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, 1, -1, 2, 3, 2**31, 2**53 + 1, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, 1e-300, 5e-324, 1e308, 1e-12, 1e-8]),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), NUMBERS, st.text(max_size=12), st.sampled_from(["", "auto", "nan"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)


@dataclass(frozen=True)
class Deep:
    """Stands for a value nested ``depth`` levels (no experiment nests more than 5); built only in
    the test, so that Hypothesis's reports print a short line instead of recursing into it."""

    depth: int
    in_dicts: bool

    def build(self) -> Any:
        value: Any = 0
        for _ in range(self.depth):
            value = {"layers": value} if self.in_dicts else [value]
        return value


DEEP = st.builds(Deep, st.integers(min_value=50, max_value=3000), st.booleans())


def _built(node: Any) -> Any:
    """The document with every Deep placeholder built."""
    if isinstance(node, Deep):
        return node.build()
    if isinstance(node, dict):
        return {key: _built(child) for key, child in node.items()}
    if isinstance(node, list):
        return [_built(child) for child in node]
    return node


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document a value sits (dict keys and list indexes), to a depth of 10."""
    found = [prefix] if prefix else []
    if len(prefix) >= 10:
        return found
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found += _paths(child, (*prefix, i))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def wrong_experiments(draw: st.DrawFn) -> Any:
    """A shipped example with one to three things wrong: a value of another type, a non-finite or
    huge number, deep nesting, an unknown key, a key gone, a list of another length."""
    doc = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path), path[-1]
        how = draw(st.sampled_from(["value", "value", "number", "deep", "unknown", "drop", "length"]))
        if how == "value":
            parent[key] = draw(VALUES)
        elif how == "number":
            parent[key] = draw(NUMBERS)
        elif how == "deep":
            parent[key] = draw(DEEP)
        elif how == "unknown" and isinstance(parent[key], dict):
            parent[key][draw(st.text(max_size=8))] = draw(VALUES)
        elif how == "drop":
            del parent[key]
        elif how == "length" and isinstance(parent[key], list):
            items = parent[key]
            parent[key] = items[: draw(st.integers(0, len(items)))] + draw(st.lists(VALUES, max_size=3))
    if draw(st.integers(0, 9)) == 0:  # now and then the whole document is something else
        return draw(VALUES)
    return doc


def _accepted_is_usable(exp: Experiment) -> None:
    text = json.dumps(exp.to_dict(), allow_nan=False)  # nothing non-finite got through
    assert Experiment.from_dict(json.loads(text)).to_dict() == exp.to_dict()


@given(wrong_experiments())
def test_experiment_from_any_document_is_loaded_or_refused_clearly(doc: Any) -> None:
    try:
        exp = Experiment.from_dict(_built(doc))
    except LossLabError as exc:
        _check_message(exc)
        return
    _accepted_is_usable(exp)


def _json_text(doc: Any) -> str:
    try:
        return json.dumps(_built(doc))
    except (RecursionError, ValueError):  # json.dumps itself gives up on the deepest documents
        return "[" * 5000


def _cut(text: str, at: int) -> str:
    return text[: at % (len(text) + 1)]


@st.composite
def experiment_files(draw: st.DrawFn) -> bytes:
    """What a file claiming to be an experiment may hold: a wrong document, such a document cut short
    or with a few characters changed, text, or bytes that are not text at all."""
    how = draw(st.sampled_from(["doc", "cut", "edit", "text", "bytes"]))
    if how == "bytes":
        return draw(st.binary(max_size=600))
    if how == "text":
        return draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    text = _json_text(draw(wrong_experiments()))
    if how == "cut":
        text = _cut(text, draw(st.integers(min_value=0)))
    elif how == "edit":
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            text = (
                text[:at]
                + draw(st.sampled_from(['"', "{", "]", ",", ":", "NaN", "-", "1e999", "\\u0000"]))
                + text[at + 1 :]
            )
    return text.encode("utf-8", "surrogatepass")


_files = itertools.count()
_folder = Path(tempfile.mkdtemp(prefix="losslab-fuzz-"))


def _new_file(data: bytes, suffix: str) -> Path:
    """A fresh name for every case (the CSV parser caches one parse per path, size and time)."""
    path = _folder / f"case-{next(_files)}{suffix}"
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module", autouse=True)
def _clean_folder() -> Any:
    yield
    import shutil

    shutil.rmtree(_folder, ignore_errors=True)


@given(experiment_files())
def test_experiment_file_with_any_content_is_loaded_or_refused_clearly(data: bytes) -> None:
    path = _new_file(data, ".losslab")
    try:
        exp = load_experiment(path)
    except LossLabError as exc:
        _check_message(exc)
        return
    finally:
        path.unlink()
    _accepted_is_usable(exp)


@given(st.text(max_size=400))
def test_parse_experiment_of_any_text_is_loaded_or_refused_clearly(text: str) -> None:
    try:
        parse_experiment(text)
    except LossLabError as exc:
        _check_message(exc)


# -- CSV --------------------------------------------------------------------------------------
CELLS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "NA", "nan", "NaN", "inf", "-inf", "1e400", "1,5", "3.2.1", "1_000", "0x10"]),
    st.sampled_from(["a", "b", "c", "yes", "no", "Paris", "Rome", "true", "false"]),
    st.text(max_size=8),
    st.text(alphabet='",;\t\n\r ', max_size=4),
)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A table of any shape in any dialect (delimiter, quoting, line ends, encoding), or raw bytes.
    Returns the bytes and the header names (for choosing a target or features)."""
    if draw(st.integers(0, 7)) == 0:
        return draw(st.binary(max_size=800)), []
    width = draw(st.integers(1, 6))
    header = draw(
        st.lists(
            st.one_of(st.sampled_from(["x", "y", "target", "x"]), st.text(max_size=6)),
            min_size=width,
            max_size=width,
        )
    )
    kinds = draw(st.lists(st.sampled_from(["number", "class", "any"]), min_size=width, max_size=width))
    n_rows = draw(st.integers(0, 40))
    rows = []
    for _ in range(n_rows):
        row = []
        for kind in kinds:
            if kind == "number" and draw(st.integers(0, 9)):
                row.append(str(draw(st.floats(-1e6, 1e6, allow_nan=False))))
            elif kind == "class" and draw(st.integers(0, 9)):
                row.append(draw(st.sampled_from(["a", "b", "c", "0", "1"])))
            else:
                row.append(draw(CELLS))
        if draw(st.integers(0, 19)) == 0:  # a ragged row
            row = row[: draw(st.integers(0, len(row)))] + draw(st.lists(CELLS, max_size=2))
        rows.append(row)
    delimiter = draw(st.sampled_from([",", ",", ";", "\t", "|", " "]))
    quote = draw(st.booleans())

    def line(cells: list[str]) -> str:
        if quote:
            cells = ['"' + c.replace('"', '""') + '"' for c in cells]
        return delimiter.join(cells)

    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(line(r) for r in [header, *rows]) + draw(st.sampled_from(["", end]))
    if draw(st.integers(0, 9)) == 0:
        text = _cut(text, draw(st.integers(min_value=0)))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, "replace"), header


@st.composite
def csv_cases(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    data, header = draw(csv_files())
    names = st.sampled_from(header) if header else st.text(max_size=4)
    options: dict[str, Any] = {}
    if draw(st.booleans()):
        options["target_column"] = draw(st.one_of(names, st.text(max_size=4)))
    if draw(st.booleans()):
        options["task"] = draw(st.one_of(st.sampled_from(CSV_TASKS), st.text(max_size=5)))
    if draw(st.booleans()):
        options["features"] = draw(st.lists(st.one_of(names, st.text(max_size=4)), max_size=4))
    if draw(st.booleans()):
        options["missing"] = draw(st.one_of(st.sampled_from(MISSING_POLICIES), st.text(max_size=5)))
    return data, options


@given(csv_cases())
def test_csv_of_any_content_is_imported_or_refused_clearly(case: tuple[bytes, dict[str, Any]]) -> None:
    data, options = case
    path = _new_file(data, ".csv")
    try:
        table = read_csv_table(path, **options)
    except LossLabError as exc:
        _check_message(exc)
        return
    finally:
        path.unlink()
    # What is accepted can be trained on: finite numbers, one label per row, labels in range.
    n = len(table.y)
    assert table.x.shape == (n, len(table.feature_names)) and n >= MIN_ROWS
    assert np.isfinite(table.x).all() and np.isfinite(table.y).all()
    if table.task != "regression":
        assert table.y.min() >= 0 and table.y.max() < len(table.class_names)
        assert math.isfinite(float(table.y.sum()))
