"""How a CSV file is written: its delimiter and its decimal mark, guessed from the first lines.

Spreadsheets in much of Europe export ``1,5;2,25`` (semicolons between cells, commas inside numbers);
others use tabs or bars. We pick the delimiter that splits the header into the most columns while
the following lines agree with it, which is steadier on small, numeric files than ``csv.Sniffer``
(it happily picks a digit or a space as the delimiter there).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

DELIMITERS = (",", ";", "\t", "|")  # in order of preference when two fit equally well
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
SAMPLE_LINES = 50
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^[+-]?\d*\.\d+$")


@dataclass(frozen=True)
class CsvFormat:
    delimiter: str = ","
    decimal: str = "."  # "," for files that write one and a half as 1,5

    def describe(self) -> str:
        mark = "decimal comma" if self.decimal == "," else "decimal point"
        return f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated, {mark}"


def _sample_rows(sample: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter, skipinitialspace=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
            if len(rows) >= SAMPLE_LINES:
                break
    except csv.Error:
        pass  # the real read reports the line; here a broken sample just counts for less
    return rows


def sniff_format(sample: str) -> CsvFormat:
    """The format of a file whose first characters are ``sample`` (comma and point when unsure)."""
    best, best_score = ",", (-1.0, 0)
    for delimiter in DELIMITERS:
        rows = _sample_rows(sample, delimiter)
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agree = sum(len(r) == width for r in rows) / len(rows)
        score = (agree, width)
        if score > best_score:
            best, best_score = delimiter, score
    decimal = "."
    if best != ",":  # with commas between cells a decimal comma must be quoted: too rare to guess
        cells = [c.strip() for row in _sample_rows(sample, best)[1:] for c in row]
        commas = sum(bool(_DECIMAL_COMMA.match(c)) for c in cells)
        points = sum(bool(_DECIMAL_POINT.match(c)) for c in cells)
        if commas > points:
            decimal = ","
    return CsvFormat(best, decimal)
