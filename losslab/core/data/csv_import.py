"""A user's own CSV file as training data: feature columns (numbers, or texts one-hot encoded) and
one target column (numbers, or texts that become classes).

``csv_parse`` reads the file into columns; this module picks the target and features, applies the
missing-value policy and infers the task. Every problem is a LossLabError that names the file, and
the line and column where it can, because the person fixing it has the file open in a spreadsheet.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losslab.core.data.csv_format import CsvFormat
from losslab.core.data.csv_parse import CsvColumn, ParsedCsv, Progress, names_listed, parse_csv
from losslab.core.errors import LossLabError
from losslab.core.params import shown
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION

MIN_ROWS = 10
MAX_INFERRED_CLASSES = 20  # an integer target with more distinct values than this is treated as regression
MAX_CLASSES = 100  # more labels than this is almost surely the wrong column (an id or a name)
MAX_CATEGORIES = 50  # a text feature with more distinct values is an id or free text, not a category
CSV_TASKS = (REGRESSION, BINARY, MULTICLASS)
# What to do with rows that miss a value: refuse the file (naming the lines), drop those rows, or
# fill a missing feature with its column's mean (a row without a target is dropped either way).
MISSING_POLICIES = ("error", "drop", "mean")
CSV_KEYS = ("path", "target_column", "task", "features", "missing", "sha256")
SHOWN_LINES = 8
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class CsvTable:
    x: np.ndarray  # float64 (N, d)
    y: np.ndarray  # regression: float64 (N,); binary/multiclass: int64 labels 0..k-1
    feature_names: list[str]  # a text column `city` becomes `city=Paris`, `city=Rome`...
    target_name: str
    task: str
    class_names: list[str]  # label i is class_names[i]; empty for regression
    sha256: str = ""  # of the file's content
    notes: list[str] = field(default_factory=list)  # what was done about missing values
    format: CsvFormat = field(default_factory=CsvFormat)
    feature_columns: list[str] = field(default_factory=list)  # the file's columns used as features


def load_csv(
    path: str | os.PathLike[str], target_column: str | None = None, task: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], str, str]:
    """Return (X, y, feature_names, target_name, task); see ``read_csv_table`` for the class names too."""
    t = read_csv_table(path, target_column, task)
    return t.x, t.y, t.feature_names, t.target_name, t.task


def read_csv_table(
    path: str | os.PathLike[str],
    target_column: str | None = None,
    task: str | None = None,
    features: list[str] | None = None,
    missing: str = "error",
    progress: Progress | None = None,
) -> CsvTable:
    """Read a CSV with a header row; see ``build_table`` for the choices."""
    global _last_table
    where = os.fspath(path)
    _check_choices(where, task, missing)
    parsed = parse_csv(where, progress)
    key = (id(parsed), target_column, task, None if features is None else tuple(features), missing)
    if _last_table is not None and _last_table[0] == key and _last_table[1] is parsed:
        return _last_table[2]
    table = build_table(parsed, target_column, task, features, missing)
    _last_table = (key, parsed, table)
    return table


# The last table read: the import wizard builds it in the background, then the window's dataset is
# made from the same file and choices on the GUI thread, which should not build it a second time.
# (The parse is held too, so its id cannot be reused by another object.) Callers never modify it.
_last_table: tuple[tuple[Any, ...], ParsedCsv, CsvTable] | None = None


def _check_choices(where: str, task: str | None, missing: str) -> None:
    if task is not None and task not in CSV_TASKS:
        raise LossLabError(
            f"{where}: task must be one of {', '.join(CSV_TASKS)} or left out, got {shown(task)}"
        )
    if missing not in MISSING_POLICIES:
        raise LossLabError(
            f"{where}: the missing-value policy must be one of {', '.join(MISSING_POLICIES)}, got "
            f"{shown(missing)}"
        )


def build_table(
    parsed: ParsedCsv,
    target_column: str | None = None,
    task: str | None = None,
    features: list[str] | None = None,
    missing: str = "error",
) -> CsvTable:
    """Training data from a parsed file. The target is ``target_column`` or else the last column; the
    features are ``features`` or else every other column.

    ``task`` None infers it (``infer_task``). Class labels are remapped to 0..k-1 in sorted order.
    ``missing`` says what to do with rows that miss a value (``MISSING_POLICIES``).
    """
    where = parsed.path
    _check_choices(where, task, missing)
    target = _target_column(parsed, target_column)
    used = _feature_columns(parsed, target, features)
    if parsed.n_rows < MIN_ROWS:
        raise LossLabError(
            f"{where}: only {parsed.n_rows} data rows; at least {MIN_ROWS} are needed to train on"
        )
    kinds = {col.name: _feature_kind(parsed, col) for col in used}

    keep, notes = _rows_to_keep(parsed, target, used, missing)
    if keep.sum() < MIN_ROWS:
        raise LossLabError(
            f"{where}: only {int(keep.sum())} rows are left without missing values; at least {MIN_ROWS} "
            "are needed to train on. Fill the gaps, or fill them with the column mean instead"
        )
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for col in used:
        if kinds[col.name] == "numeric":
            # NaN where missing: filled by _fill_with_means (other policies leave no gaps here)
            block, block_names = col.values[keep].reshape(-1, 1).copy(), [col.name]
        else:
            block, block_names = _one_hot(parsed, col, keep)
        blocks.append(block)
        names.extend(block_names)
    if missing == "mean":
        notes.extend(_fill_with_means(parsed, used, keep, blocks))
    x = np.concatenate(blocks, axis=1) if blocks else np.zeros((int(keep.sum()), 0))
    if x.shape[1] == 0:
        raise LossLabError(f"{where}: the feature columns hold no values to learn from; choose other columns")
    y, task, class_names = _target(parsed, target, keep, task)
    return CsvTable(
        x,
        y,
        names,
        target.name,
        task,
        class_names,
        parsed.sha256,
        notes,
        parsed.format,
        [c.name for c in used],
    )


def infer_task(parsed: ParsedCsv, target_column: str) -> tuple[str, int]:
    """The task a target column suggests and its number of classes (0 for regression).

    A numeric target whose values are all whole numbers with at most 20 distinct values is
    classification (binary for two values), text labels are classification, anything else regression.
    """
    return _infer(parsed.column(target_column))


def _infer(col: CsvColumn) -> tuple[str, int]:
    present = ~col.missing
    if col.is_numeric:
        distinct = np.unique(col.values[present & np.isfinite(col.values)])
        if len(distinct) <= MAX_INFERRED_CLASSES and bool(np.all(distinct == np.round(distinct))):
            return (BINARY if len(distinct) == 2 else MULTICLASS), len(distinct)
        return REGRESSION, 0
    _, codes = col.categories()
    count = len(np.unique(codes[present]))
    return (BINARY if count == 2 else MULTICLASS), count


def column_kind(parsed: ParsedCsv, name: str) -> str:
    """'numeric', 'text' (one-hot encoded as a feature) or 'numbers with typos' (refused as a feature)."""
    col = parsed.column(name)
    if col.is_numeric:
        return "numeric"
    return "text" if _mostly_text(col) else "numbers with typos"


def validate_csv_keys(given: dict[str, Any], field_name: str) -> dict[str, Any]:
    """The csv dataset's own keys of a dataset config, checked; errors name ``<field_name>.<key>``."""
    path = given.get("path")
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path.strip():
        raise LossLabError(
            f"the path of the CSV file to read is required, got {shown(path)}", f"{field_name}.path"
        )
    target = given.get("target_column")
    if target is not None and (not isinstance(target, str) or not target.strip()):
        raise LossLabError(
            f"must be a column name, or left out for the last column; got {shown(target)}",
            f"{field_name}.target_column",
        )
    task = given.get("task")
    if task is not None and task not in CSV_TASKS:
        raise LossLabError(
            f"must be one of {', '.join(CSV_TASKS)} or left out; got {shown(task)}", f"{field_name}.task"
        )
    features = given.get("features")
    if features is not None:
        if (
            not isinstance(features, list)
            or not features
            or not all(isinstance(f, str) and f.strip() for f in features)
        ):
            raise LossLabError(
                "must be a list of column names, or left out for every column but the target; "
                f"got {shown(features)}",
                f"{field_name}.features",
            )
        features = list(features)
    missing = given.get("missing", "error")
    if missing not in MISSING_POLICIES:
        raise LossLabError(
            f"must be one of {', '.join(MISSING_POLICIES)}; got {shown(missing)}", f"{field_name}.missing"
        )
    sha256 = given.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256)):
        raise LossLabError(
            f"must be the file's SHA-256 as 64 lowercase hex digits, or left out; got {shown(sha256)}",
            f"{field_name}.sha256",
        )
    return {
        "path": path,
        "target_column": target,
        "task": task,
        "features": features,
        "missing": missing,
        "sha256": sha256,
    }


# -- columns ----------------------------------------------------------------------------------------
def _target_column(parsed: ParsedCsv, target_column: str | None) -> CsvColumn:
    if target_column is None:
        return parsed.columns[-1]
    return parsed.column(target_column.strip())


def _feature_columns(parsed: ParsedCsv, target: CsvColumn, features: list[str] | None) -> list[CsvColumn]:
    if features is None:
        return [c for c in parsed.columns if c is not target]
    chosen: list[CsvColumn] = []
    for name in features:
        col = parsed.column(name.strip())
        if col is target:
            raise LossLabError(
                f"{parsed.path}: column {shown(col.name)} is the target; it cannot be a feature as well"
            )
        if col in chosen:
            raise LossLabError(f"{parsed.path}: column {shown(col.name)} is named twice among the features")
        chosen.append(col)
    if not chosen:
        raise LossLabError(f"{parsed.path}: no feature columns chosen; pick at least one besides the target")
    return chosen


def _mostly_text(col: CsvColumn) -> bool:
    """Text cells outnumber number cells: a category such as a city, not a numeric column with a typo."""
    texts = int(col.not_number.sum())
    numbers = int((~col.missing & ~col.not_number).sum())
    return texts >= numbers


def _feature_kind(parsed: ParsedCsv, col: CsvColumn) -> str:
    if col.is_numeric:
        bad = ~col.missing & ~np.isfinite(col.values)
        if bad.any():
            i = int(np.argmax(bad))
            raise LossLabError(
                f"{parsed.path}: line {parsed.lines[i]}, column {shown(col.name)}: "
                f"{f'{col.values[i]:g}'!r} is not a finite number"
            )
        return "numeric"
    if not _mostly_text(col):
        assert col.text is not None
        i = int(np.argmax(col.not_number))
        raise LossLabError(
            f"{parsed.path}: line {parsed.lines[i]}, column {shown(col.name)}: {shown(col.text[i])} "
            f"is not a number "
            "(the rest of the column is numbers); fix the cell, or leave the column out of the features"
        )
    return "text"


def _line_list(parsed: ParsedCsv, mask: np.ndarray) -> str:
    lines = parsed.lines[mask]
    shown = ", ".join(str(int(n)) for n in lines[:SHOWN_LINES])
    more = f" and {len(lines) - SHOWN_LINES:,} more" if len(lines) > SHOWN_LINES else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _rows_to_keep(
    parsed: ParsedCsv, target: CsvColumn, used: list[CsvColumn], missing: str
) -> tuple[np.ndarray, list[str]]:
    """Which rows train (bool mask) under the policy, and what was done, in words."""
    where = parsed.path
    no_target = target.missing
    feature_gaps = np.zeros(parsed.n_rows, dtype=bool)
    for col in used:
        feature_gaps |= col.missing
    notes: list[str] = []
    if missing == "error":
        gaps = feature_gaps | no_target
        if gaps.any():
            i = int(np.argmax(gaps))
            first = next(c for c in [*used, target] if c.missing[i])
            what = "missing target value" if first is target else "missing value"
            raise LossLabError(
                f"{where}: line {parsed.lines[i]}, column {shown(first.name)}: {what}; {int(gaps.sum()):,} "
                f"row(s) miss a value ({_line_list(parsed, gaps)}). Fill them in, or choose to drop those "
                "rows or fill with the column mean (Missing values in the import, --missing drop|mean)"
            )
        return np.ones(parsed.n_rows, dtype=bool), notes
    dropped = no_target | feature_gaps if missing == "drop" else no_target
    if dropped.any():
        why = "a missing value" if missing == "drop" else "no target value"
        notes.append(f"dropped {int(dropped.sum()):,} row(s) with {why} ({_line_list(parsed, dropped)})")
    return ~dropped, notes


def _one_hot(parsed: ParsedCsv, col: CsvColumn, keep: np.ndarray) -> tuple[np.ndarray, list[str]]:
    names, all_codes = col.categories()
    codes = all_codes[keep]
    used = np.unique(codes[codes >= 0])  # categories seen only in dropped rows get no column
    if len(used) > MAX_CATEGORIES:
        raise LossLabError(
            f"{parsed.path}: column {shown(col.name)} holds {len(used):,} different texts; a text feature "
            f"becomes one input per text, so at most {MAX_CATEGORIES} are accepted. It looks like an id or "
            "free text: leave it out of the features"
        )
    column_of = np.full(len(names) + 1, -1, dtype=np.int64)
    column_of[used] = np.arange(len(used))
    cols = column_of[codes]  # codes of -1 pick the last entry, which stays -1
    block = np.zeros((len(codes), len(used)))
    present = cols >= 0
    block[np.flatnonzero(present), cols[present]] = 1.0
    block[~present] = np.nan  # a missing category: filled by _fill_with_means
    return block, [f"{col.name}={names[k]}" for k in used]


def _fill_with_means(
    parsed: ParsedCsv, used: list[CsvColumn], keep: np.ndarray, blocks: list[np.ndarray]
) -> list[str]:
    """Fill each feature's missing cells with its column mean (for one-hot columns: each category's
    share). Returns one note per column that had gaps."""
    notes: list[str] = []
    for col, block in zip(used, blocks, strict=True):
        gaps = np.isnan(block).any(axis=1)
        if not gaps.any():
            continue
        if gaps.all():
            raise LossLabError(f"{parsed.path}: column {shown(col.name)} has no values at all; leave it out")
        block[gaps] = block[~gaps].mean(axis=0)
        rows = np.zeros(parsed.n_rows, dtype=bool)
        rows[np.flatnonzero(keep)[gaps]] = True
        how = "the column mean" if col.is_numeric else "each text's share (the mean of its one-hot inputs)"
        notes.append(
            f"filled {int(gaps.sum()):,} missing value(s) of column {shown(col.name)} with {how} "
            f"({_line_list(parsed, rows)})"
        )
    return notes


# -- target -----------------------------------------------------------------------------------------
def _target(
    parsed: ParsedCsv, col: CsvColumn, keep: np.ndarray, task: str | None
) -> tuple[np.ndarray, str, list[str]]:
    where, name = parsed.path, col.name
    kept = np.flatnonzero(keep)
    lines = parsed.lines[kept]
    if col.is_numeric:
        numbers = col.values[kept]
        bad = ~np.isfinite(numbers)
        if bad.any():
            i = int(np.argmax(bad))
            raise LossLabError(
                f"{where}: line {lines[i]}, column {shown(name)}: {f'{numbers[i]:g}'!r} is not a "
                f"finite number"
            )
    if task is None:
        task = _infer(_rows(col, kept))[0]

    if task == REGRESSION:
        if not col.is_numeric:
            assert col.text is not None
            i = int(kept[np.argmax(col.not_number[kept])])
            raise LossLabError(
                f"{where}: line {parsed.lines[i]}, column {shown(name)}: {shown(col.text[i])} is "
                f"not a number; "
                "a regression target must be numbers (or choose a classification task)"
            )
        return col.values[kept].copy(), task, []

    if col.is_numeric:
        numbers = col.values[kept]
        labels = np.unique(numbers)
        names = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in labels]
        codes = np.searchsorted(labels, numbers).astype(np.int64)
    else:
        all_names, all_codes = col.categories()
        used, codes = np.unique(all_codes[kept], return_inverse=True)  # kept rows have a target
        names = [all_names[k] for k in used]
        codes = codes.astype(np.int64)

    if len(names) < 2:
        raise LossLabError(
            f"{where}: column {shown(name)} has only one class ({shown(names[0])}); classification "
            f"needs at least two"
        )
    if task == BINARY and len(names) != 2:
        listed = names_listed(names, most=10)
        raise LossLabError(
            f"{where}: binary encoding error: column {shown(name)} has {len(names)} distinct values "
            f"({listed}) "
            "but binary classification needs exactly two; choose multiclass or recode the column"
        )
    if len(names) > MAX_CLASSES:
        raise LossLabError(
            f"{where}: column {shown(name)} has {len(names)} distinct labels; that looks like an id or a "
            "measurement, not a class. Pick another target column or set the task to regression"
        )
    return codes, task, names


def _rows(col: CsvColumn, rows: np.ndarray) -> CsvColumn:
    if col.text is None:
        return CsvColumn(col.name, col.values[rows], col.missing[rows], col.not_number[rows], None)
    names, codes = col.categories()
    text = [col.text[i] for i in rows]
    return CsvColumn(
        col.name, col.values[rows], col.missing[rows], col.not_number[rows], text, (names, codes[rows])
    )


# -- a new experiment for a CSV -----------------------------------------------------------------------
STARTING_LOSS = {REGRESSION: "mse", BINARY: "bce_logits", MULTICLASS: "cross_entropy"}


def starting_sections(task: str, n_rows: int) -> dict[str, Any]:
    """Model, loss, optimizer and training sections that train a CSV of ``task`` sensibly out of the
    box: a small ReLU network (the output layer follows the task), the task's usual loss, Adam, and
    larger batches for large files so an epoch stays short."""
    hidden = [{"type": "linear", "units": 32}, {"type": "relu"}] * 2
    return {
        "model": {"layers": hidden},
        "loss": {"id": STARTING_LOSS[task]},
        "optimizer": {"id": "adam", "lr": 0.003},
        "training": {"epochs": 30, "batch_size": 32 if n_rows <= 20_000 else 256, "early_stopping": 10},
    }
