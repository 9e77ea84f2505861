"""CSV import workload: a spreadsheet-style export of 1,000,000 rows (semicolons, decimal commas, a
text column to one-hot encode, a text target), read as the import wizard reads it, then made into
the training dataset as the window does after Import.

Figures: writing the file (not LossLab's time, for scale), the parse (the wizard's progress bar),
the check that builds the arrays, and the dataset the window then makes (the parse and the table are
reused, so this is the split and standardization only). ``python3 -m losslab.bench.csv_import``
prints them alone.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROWS = 1_000_000
QUICK_ROWS = 200_000
CITIES = ("Paris", "Rome", "Oslo", "Lima", "Kyiv")


def write_export(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).round(4)
    city = rng.integers(0, len(CITIES), rows)
    label = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("a;b;c;d;city;bought\n")
        step = 100_000
        for start in range(0, rows, step):
            stop = min(start + step, rows)
            block = [
                f"{r[0]};{r[1]};{r[2]};{r[3]};{CITIES[c]};{t}\n".replace(".", ",")
                for r, c, t in zip(x[start:stop].tolist(), city[start:stop], label[start:stop], strict=True)
            ]
            f.writelines(block)


def measure(quick: bool = False) -> dict[str, Any]:
    from losslab.core.data import make_dataset
    from losslab.core.data.csv_import import read_csv_table
    from losslab.core.data.csv_parse import parse_csv

    rows = QUICK_ROWS if quick else ROWS
    with tempfile.TemporaryDirectory(prefix="losslab-bench-csv-") as tmp:
        path = Path(tmp) / "export.csv"
        t0 = time.perf_counter()
        write_export(path, rows)
        write_s = time.perf_counter() - t0
        reports: list[float] = []
        t0, cpu0 = time.perf_counter(), time.process_time()
        parsed = parse_csv(path, reports.append)
        parse_s, parse_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
        t0 = time.perf_counter()
        table = read_csv_table(path, "bought")  # the wizard's check: the parse above is reused
        check_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        dataset = make_dataset({"kind": "csv", "path": str(path), "target_column": "bought"})
        dataset_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 2**20
    return {
        "rows": rows,
        "size_mb": round(size_mb, 1),
        "format": parsed.format.describe(),
        "inputs": len(table.feature_names),
        "write_s": round(write_s, 2),
        "parse_s": round(parse_s, 2),
        "parse_cpu_s": round(parse_cpu_s, 2),  # below parse_s when other work shares the cores
        "check_s": round(check_s, 2),
        "import_s": round(parse_s + check_s, 2),
        "dataset_after_import_s": round(dataset_s, 2),
        "progress_reports": len(reports),
        "n_train": dataset.n_train,
    }


def format_lines(result: dict[str, Any]) -> list[str]:
    return [
        "",
        f"CSV import of {result['rows']:,} rows ({result['size_mb']} MB, {result['format']}, "
        f"{result['inputs']} inputs with one-hot city): {result['import_s']:.2f} s "
        f"(parse {result['parse_s']:.2f} s, {result['parse_cpu_s']:.2f} s CPU, with "
        f"{result['progress_reports']} progress reports; check "
        f"{result['check_s']:.2f} s), then the dataset in {result['dataset_after_import_s']:.2f} s",
    ]


if __name__ == "__main__":
    print("\n".join(format_lines(measure("--quick" in sys.argv[1:]))).strip())
