"""Reading a CSV file into columns: bytes -> content hash -> text -> cells -> float arrays or texts.

This part knows nothing of targets or tasks (``csv_import`` turns columns into training data), so the
import wizard can parse once, in the background, and then try targets and features instantly.
Every problem becomes a LossLabError that names the file, and the line where it can.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from losslab.core.data.csv_format import DELIMITER_NAMES, CsvFormat, sniff_format
from losslab.core.errors import LossLabError
from losslab.core.files import CSV_MAX_BYTES, check_user_file
from losslab.core.params import shown

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
CHUNK_ROWS = 20_000  # rows converted at a time: bounds memory, paces progress, and keeps each
# numpy call that holds the GIL short, so the window's thread gets its turn while a file is read
SNIFF_CHARS = 64 * 1024

Progress = Callable[[float], None]  # called with the fraction done, 0..1; it may raise Cancelled


@dataclass
class CsvColumn:
    name: str
    values: np.ndarray  # float64 (N,); NaN where the cell is missing or not a number
    missing: np.ndarray  # bool (N,): an empty cell or NA, n/a, null, ?...
    not_number: np.ndarray  # bool (N,): a cell that is there but is not a number
    text: list[str] | None  # every cell, stripped, when any cell is not a number; else None
    _codes: tuple[list[str], np.ndarray] | None = field(default=None, repr=False, compare=False)

    @property
    def is_numeric(self) -> bool:
        return self.text is None

    def categories(self) -> tuple[list[str], np.ndarray]:
        """A text column's distinct texts (sorted, missing cells left out) and each row's index into
        them (-1 where missing). Computed once: every target or feature choice reuses it."""
        if self._codes is None:
            assert self.text is not None
            seen = list(dict.fromkeys(self.text))  # distinct texts in order of appearance, in C
            where = {c: k for k, c in enumerate(seen)}
            raw = np.fromiter(map(where.__getitem__, self.text), dtype=np.int64, count=len(self.text))
            names = sorted(c for c in seen if not self._is_missing_text(c))
            rank = {c: k for k, c in enumerate(names)}
            remap = np.asarray([rank.get(c, -1) for c in seen], dtype=np.int64)
            codes = remap[raw] if len(raw) else raw
            codes[self.missing] = -1
            self._codes = (names, codes)
        return self._codes

    @staticmethod
    def _is_missing_text(cell: str) -> bool:
        return cell.lower() in MISSING


@dataclass
class ParsedCsv:
    path: str
    sha256: str  # of the file's bytes: the experiment records it to notice a changed file
    format: CsvFormat
    header: list[str]
    header_line: int
    lines: np.ndarray  # int64 (N,): the line each data row ends on, for messages
    columns: list[CsvColumn]

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> CsvColumn:
        for col in self.columns:
            if col.name == name:
                return col
        raise LossLabError(
            f"{self.path}: there is no column named {shown(name)}; "
            f"the columns are {names_listed(self.header)}"
        )

    def preview_rows(self, n: int) -> list[list[str]]:
        """The first ``n`` data rows as texts, for a preview table."""
        rows = min(n, self.n_rows)
        return [[_cell_text(col, i) for col in self.columns] for i in range(rows)]


def _cell_text(col: CsvColumn, i: int) -> str:
    if col.text is not None:
        return col.text[i]
    return "" if col.missing[i] else f"{col.values[i]:.15g}"


# One parsed file is kept: the wizard parses, then the dataset is built from the same file, and every
# later edit of the split or seed rebuilds it. The key changes whenever the file is rewritten.
_cache: tuple[tuple[str, int, int, int], ParsedCsv] | None = None


def _file_key(where: str) -> tuple[str, int, int, int]:
    info = os.stat(where)
    return (os.path.realpath(where), info.st_size, info.st_mtime_ns, info.st_ino)


def cached_parse(where: str) -> ParsedCsv | None:
    """The parse of ``where`` if it is in the cache and the file has not changed since."""
    try:
        key = _file_key(where)
    except OSError:
        return None
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    return None


def parse_csv(path: str | os.PathLike[str], progress: Progress | None = None) -> ParsedCsv:
    """Parse the CSV at ``path``: its format sniffed, a header row, then rows of equal length."""
    global _cache
    where = os.fspath(path)
    hit = cached_parse(where)
    if hit is not None:
        if progress is not None:
            progress(1.0)
        return hit
    key_before = _file_key(where) if os.path.exists(where) else None
    data = _read_bytes(where)
    if progress is not None:
        progress(0.05)
    try:
        text = data.decode("utf-8-sig")  # spreadsheet programs often write a byte-order mark first
    except UnicodeDecodeError:
        raise LossLabError(f"{where}: not a UTF-8 text file; save it as UTF-8 CSV") from None
    parsed = _parse_text(where, text, hashlib.sha256(data).hexdigest(), progress)
    if key_before is not None:
        _cache = (key_before, parsed)
    if progress is not None:
        progress(1.0)
    return parsed


def peek_csv(path: str | os.PathLike[str]) -> ParsedCsv | None:
    """The file's first lines parsed on their own: a preview to show while the whole file is read.
    None when they cannot be (the full read then says why); its hash is empty."""
    where = os.fspath(path)
    try:
        check_user_file(where, CSV_MAX_BYTES, "a CSV file")
        with open(where, "rb") as f:
            head = f.read(SNIFF_CHARS)
        if len(head) == SNIFF_CHARS:
            head = head[: head.rfind(b"\n") + 1]  # whole lines only
        return _parse_text(where, head.decode("utf-8-sig"), "", None)
    except (LossLabError, OSError, UnicodeDecodeError):
        return None


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The content hash the experiment records (from the cache when the file was parsed unchanged)."""
    where = os.fspath(path)
    hit = cached_parse(where)
    return hit.sha256 if hit is not None else hashlib.sha256(_read_bytes(where)).hexdigest()


def _read_bytes(where: str) -> bytes:
    if not os.path.exists(where):
        raise LossLabError(f"{where}: file not found; check the path")
    check_user_file(where, CSV_MAX_BYTES, "a CSV file")  # a folder, a pipe, a device, a huge file
    try:
        with open(where, "rb") as f:
            return f.read(CSV_MAX_BYTES + 1)  # the size was checked, but a file can grow meanwhile
    except FileNotFoundError:
        raise LossLabError(f"{where}: file not found; check the path") from None
    except IsADirectoryError:
        raise LossLabError(f"{where}: is a folder, not a CSV file") from None
    except PermissionError:
        raise LossLabError(f"{where}: permission denied; the file cannot be read") from None
    except OSError as e:
        raise LossLabError(f"{where}: cannot be read ({e.strerror or e})") from None


def _parse_text(where: str, text: str, sha256: str, progress: Progress | None) -> ParsedCsv:
    fmt = sniff_format(text[:SNIFF_CHARS])
    total_lines = max(text.count("\n"), 1)
    # skipinitialspace: hand-written files often put a space after each comma, before a quote.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter, skipinitialspace=True)
    header: list[str] | None = None
    header_line = 0
    width = 0
    chunk: list[list[str]] = []
    lines: list[int] = []
    parts: list[list[_Part]] = []
    try:
        for row in reader:
            if not row or (not row[0].strip() and not any(cell.strip() for cell in row)):
                continue  # a blank line, or one of empty cells only
            if header is None:
                header, header_line, width = [c.strip() for c in row], reader.line_num, len(row)
                _check_header(where, header_line, header, fmt)
                parts = [[] for _ in header]
                continue
            if len(row) != width:
                raise LossLabError(
                    f"{where}: line {reader.line_num} has {len(row)} values but the header has {width} "
                    f"columns (the file looks {fmt.describe()})"
                )
            chunk.append(row)
            lines.append(reader.line_num)
            if len(chunk) >= CHUNK_ROWS:
                _convert(chunk, parts, fmt)
                chunk = []
                if progress is not None:
                    progress(0.05 + 0.9 * min(reader.line_num / total_lines, 1.0))
    except csv.Error as e:
        raise LossLabError(f"{where}: line {reader.line_num}: not valid CSV ({e})") from None
    if header is None:
        raise LossLabError(f"{where}: the file is empty; expected a header row naming the columns, then data")
    if chunk:
        _convert(chunk, parts, fmt)
    columns = [_join(name, p) for name, p in zip(header, parts, strict=True)]
    return ParsedCsv(where, sha256, fmt, header, header_line, np.asarray(lines, dtype=np.int64), columns)


def names_listed(names: Sequence[str], most: int = 12) -> str:
    """Column names for a message: each short and on one line, at most ``most`` of them (a file's
    header can be anything, and a message must stay one readable line)."""
    listed = ", ".join(n if len(n) <= 40 and n.isprintable() else shown(n) for n in names[:most])
    return listed + (f", … and {len(names) - most:,} more" if len(names) > most else "")


def _parse_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _check_header(where: str, line: int, header: list[str], fmt: CsvFormat) -> None:
    if all(_parse_float(c.replace(",", ".") if fmt.decimal == "," else c) is not None for c in header):
        raise LossLabError(
            f"{where}: line {line} holds numbers, not column names; add a header row naming each column"
        )
    for i, name in enumerate(header):
        if not name:
            raise LossLabError(f"{where}: line {line}: header column {i + 1} has no name")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise LossLabError(f"{where}: line {line}: column name {shown(name)} appears twice in the header")
        seen.add(name)
    if len(header) < 2:
        raise LossLabError(
            f"{where}: only one column ({shown(header[0])}); need at least one feature column and a target "
            f"column, separated by one of: {', '.join(DELIMITER_NAMES.values())}s"
        )


@dataclass
class _Part:
    """One chunk of one column."""

    values: np.ndarray
    missing: np.ndarray
    not_number: np.ndarray
    text: list[str] | None  # kept only for chunks where some cell is not a number


def _convert(rows: list[list[str]], parts: list[list[_Part]], fmt: CsvFormat) -> None:
    comma = fmt.decimal == ","
    # zip(*rows): the chunk's columns, transposed in C (every row has the header's width)
    for raw, out in zip(zip(*rows, strict=True), parts, strict=True):
        cells: Sequence[str] = raw
        if comma:
            cells = _points(raw)
        try:  # the fast path: a whole chunk of numbers at once
            values = np.asarray(cells, dtype=np.float64)
        except ValueError:
            out.append(_convert_slowly(raw, comma))
            continue
        missing = np.isnan(values)  # "nan" parses; it means missing here too
        out.append(_Part(values, missing, np.zeros(len(cells), dtype=bool), None))


def _points(cells: tuple[str, ...]) -> Sequence[str]:
    """``cells`` with decimal commas made points: one replace over the joined column, not one per cell."""
    joined = "\n".join(cells)
    if "," not in joined:
        return cells
    if joined.count("\n") != len(cells) - 1:  # a quoted cell spans lines: go cell by cell
        return [c.replace(",", ".") for c in cells]
    return joined.replace(",", ".").split("\n")


def _convert_slowly(cells: tuple[str, ...], comma: bool) -> _Part:
    n = len(cells)
    values = np.full(n, np.nan)
    missing = np.zeros(n, dtype=bool)
    not_number = np.zeros(n, dtype=bool)
    text = [c.strip() for c in cells]
    known: dict[str, float | None] = {}  # a text column repeats its few texts: parse each once
    for i, cell in enumerate(text):
        if cell in known:
            number = known[cell]
        elif cell.lower() in MISSING:
            number = known[cell] = math.nan
        else:
            number = known[cell] = _parse_float(cell.replace(",", ".") if comma else cell)
        if number is None:
            not_number[i] = True
        elif number != number:  # NaN: a missing cell
            missing[i] = True
        else:
            values[i] = number
    return _Part(values, missing, not_number, text)


def _join(name: str, parts: list[_Part]) -> CsvColumn:
    if not parts:
        empty = np.zeros(0, dtype=bool)
        return CsvColumn(name, np.zeros(0), empty, empty.copy(), None)
    values = np.concatenate([p.values for p in parts])
    missing = np.concatenate([p.missing for p in parts])
    not_number = np.concatenate([p.not_number for p in parts])
    text: list[str] | None = None
    if not_number.any():  # a text column: keep every cell's text (numbers in chunks without text too)
        text = []
        for p in parts:
            if p.text is not None:
                text.extend(p.text)
            else:
                text.extend("" if m else f"{v:.15g}" for v, m in zip(p.values, p.missing, strict=True))
    column = CsvColumn(name, values, missing, not_number, text)
    if text is not None:
        column.categories()  # now, on the parsing thread: later reads of the column are then read-only
    return column
