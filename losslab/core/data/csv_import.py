"""Reading a user's own CSV file: numeric feature columns plus one target column.

Every problem becomes a LossLabError that names the file, and the line and column where it can,
because the person fixing it has the file open in a spreadsheet or editor, not a traceback.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass

import numpy as np

from losslab.core.errors import LossLabError
from losslab.core.files import CSV_MAX_BYTES, check_user_file
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION

MIN_ROWS = 10
MAX_INFERRED_CLASSES = 20  # an integer target with more distinct values than this is treated as regression
MAX_CLASSES = 100  # more labels than this is almost surely the wrong column (an id or a name)
CSV_TASKS = (REGRESSION, BINARY, MULTICLASS)
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})


@dataclass
class CsvTable:
    x: np.ndarray  # float64 (N, d)
    y: np.ndarray  # regression: float64 (N,); binary/multiclass: int64 labels 0..k-1
    feature_names: list[str]
    target_name: str
    task: str
    class_names: list[str]  # label i is class_names[i]; empty for regression


def load_csv(
    path: str | os.PathLike[str], target_column: str | None = None, task: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], str, str]:
    """Return (X, y, feature_names, target_name, task); see ``read_csv_table`` for the class names too."""
    t = read_csv_table(path, target_column, task)
    return t.x, t.y, t.feature_names, t.target_name, t.task


def read_csv_table(
    path: str | os.PathLike[str], target_column: str | None = None, task: str | None = None
) -> CsvTable:
    """Read a CSV with a header row; the target is ``target_column`` or else the last column.

    ``task`` None infers it: a numeric target whose values are all whole numbers with at most 20
    distinct values is classification (binary for two values), text labels are classification, and
    anything else is regression. Class labels are remapped to 0..k-1 in sorted order.
    """
    where = os.fspath(path)
    if task is not None and task not in CSV_TASKS:
        raise LossLabError(f"{where}: task must be one of {', '.join(CSV_TASKS)} or left out, got {task!r}")
    rows = _read_rows(where)
    if not rows:
        raise LossLabError(f"{where}: the file is empty; expected a header row naming the columns, then data")

    header_line, raw_header = rows[0]
    header = [c.strip() for c in raw_header]
    _check_header(where, header_line, header)
    if target_column is None:
        target_index = len(header) - 1
    elif target_column.strip() in header:
        target_index = header.index(target_column.strip())
    else:
        raise LossLabError(
            f"{where}: there is no column named {target_column!r}; the columns are {', '.join(header)}"
        )

    data = rows[1:]
    for line, row in data:
        if len(row) != len(header):
            raise LossLabError(
                f"{where}: line {line} has {len(row)} values but the header has {len(header)} columns"
            )
    if len(data) < MIN_ROWS:
        raise LossLabError(f"{where}: only {len(data)} data rows; at least {MIN_ROWS} are needed to train on")

    lines = [line for line, _ in data]
    columns = [[row[j].strip() for _, row in data] for j in range(len(header))]
    feature_index = [j for j in range(len(header)) if j != target_index]
    x = np.empty((len(data), len(feature_index)), dtype=np.float64)
    for out, j in enumerate(feature_index):
        x[:, out] = _numeric_column(where, header[j], columns[j], lines)

    target_name = header[target_index]
    y, task, class_names = _target(where, target_name, columns[target_index], lines, task)
    return CsvTable(x, y, [header[j] for j in feature_index], target_name, task, class_names)


def _read_rows(where: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line number each ends on (so messages point at the right line)."""
    rows: list[tuple[int, list[str]]] = []
    if os.path.exists(where):  # a missing file is reported below, in the CSV's own words
        check_user_file(where, CSV_MAX_BYTES, "a CSV file")  # a folder, a pipe, a device, a huge file
    try:
        # utf-8-sig: spreadsheet programs often write a byte-order mark before the header.
        with open(where, newline="", encoding="utf-8-sig") as f:
            # skipinitialspace: hand-written files often put a space after each comma, before a quote.
            reader = csv.reader(f, skipinitialspace=True)
            try:
                for row in reader:
                    if any(cell.strip() for cell in row):
                        rows.append((reader.line_num, row))
            except csv.Error as e:
                raise LossLabError(f"{where}: line {reader.line_num}: not valid CSV ({e})") from e
    except FileNotFoundError as e:
        raise LossLabError(f"{where}: file not found; check the path") from e
    except IsADirectoryError as e:
        raise LossLabError(f"{where}: is a folder, not a CSV file") from e
    except PermissionError as e:
        raise LossLabError(f"{where}: permission denied; the file cannot be read") from e
    except UnicodeDecodeError as e:
        raise LossLabError(f"{where}: not a UTF-8 text file; save it as UTF-8 CSV") from e
    except OSError as e:
        raise LossLabError(f"{where}: cannot be read ({e.strerror or e})") from e
    return rows


def _check_header(where: str, line: int, header: list[str]) -> None:
    if all(_parse_float(c) is not None for c in header):
        raise LossLabError(
            f"{where}: line {line} holds numbers, not column names; add a header row naming each column"
        )
    for i, name in enumerate(header):
        if not name:
            raise LossLabError(f"{where}: line {line}: header column {i + 1} has no name")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise LossLabError(f"{where}: line {line}: column name {name!r} appears twice in the header")
        seen.add(name)
    if len(header) < 2:
        hint = next(
            (
                f"; the columns look separated by {name}: save the file with commas"
                for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"))
                if sep in header[0]
            ),
            "",
        )
        raise LossLabError(
            f"{where}: only one column ({header[0]!r}); need at least one feature column and a target "
            f"column{hint}"
        )


def _parse_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _cell_problem(cell: str) -> str | None:
    """Why ``cell`` is not a usable number, or None when it is."""
    if cell.lower() in MISSING:
        return "missing value; fill it in or delete the row"
    value = _parse_float(cell)
    if value is None:
        return f"{cell!r} is not a number"
    if not math.isfinite(value):
        return f"{cell!r} is not a finite number"
    return None


def _numeric_column(where: str, name: str, cells: list[str], lines: list[int]) -> np.ndarray:
    # The fast path parses the whole column at once; only on failure do we hunt for the bad cell.
    try:
        values = np.asarray(cells, dtype=np.float64)
        if np.isfinite(values).all():
            return values
    except ValueError:
        pass
    for line, cell in zip(lines, cells, strict=True):
        problem = _cell_problem(cell)
        if problem:
            raise LossLabError(f"{where}: line {line}, column {name!r}: {problem}")
    raise LossLabError(f"{where}: column {name!r} holds values that are not numbers")  # pragma: no cover


def _target(
    where: str, name: str, cells: list[str], lines: list[int], task: str | None
) -> tuple[np.ndarray, str, list[str]]:
    for line, cell in zip(lines, cells, strict=True):
        if cell.lower() in MISSING:
            raise LossLabError(f"{where}: line {line}, column {name!r}: missing target value")
    parsed = [_parse_float(c) for c in cells]
    numbers = [v for v in parsed if v is not None and math.isfinite(v)]
    numeric = len(numbers) == len(parsed)  # then numbers holds every cell's value

    if task is None:
        if numeric:
            distinct = len(set(numbers))
            # Numbers are classes only when few and whole (0/1 flags, 1..5 ratings).
            is_classes = distinct <= MAX_INFERRED_CLASSES and all(float(v).is_integer() for v in set(numbers))
        else:
            distinct = len(set(cells))
            is_classes = True  # text labels are always classes
        task = (BINARY if distinct == 2 else MULTICLASS) if is_classes else REGRESSION

    if task == REGRESSION:
        if not numeric:
            values = _numeric_column(where, name, cells, lines)  # raises, naming the bad cell
            return values, task, []  # pragma: no cover
        return np.asarray(numbers, dtype=np.float64), task, []

    if numeric:
        labels = sorted(set(numbers))
        names = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in labels]
        codes = np.searchsorted(np.asarray(labels), np.asarray(numbers)).astype(np.int64)
    else:
        names = sorted(set(cells))
        index = {label: i for i, label in enumerate(names)}
        codes = np.fromiter((index[c] for c in cells), dtype=np.int64, count=len(cells))

    if len(names) < 2:
        raise LossLabError(
            f"{where}: column {name!r} has only one class ({names[0]!r}); classification needs at least two"
        )
    if task == BINARY and len(names) != 2:
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise LossLabError(
            f"{where}: binary encoding error: column {name!r} has {len(names)} distinct values ({shown}) "
            "but binary classification needs exactly two; choose multiclass or recode the column"
        )
    if len(names) > MAX_CLASSES:
        raise LossLabError(
            f"{where}: column {name!r} has {len(names)} distinct labels; that looks like an id or a "
            "measurement, not a class. Pick another target column or set the task to regression"
        )
    return codes, task, names
