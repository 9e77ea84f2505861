"""`losslab new --csv FILE --target COLUMN [-o EXP.losslab]`: a new experiment for your own data.

The file is read once, as training will read it (delimiter and decimal comma detected, text features
one-hot encoded, the missing-value policy applied), so whatever is wrong with it is said now. The
experiment gets a network, loss and optimizer that suit the detected task, records the CSV's content
hash, and names the CSV relative to itself so the two can move together. It is written atomically
and never over an existing file unless ``--force``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from losslab.core.errors import LossLabError

TASK_CHOICES = ("regression", "binary", "multiclass")
MISSING_CHOICES = ("error", "drop", "mean")


def add_parser(sub: Any) -> None:
    new = sub.add_parser(
        "new",
        help="create an experiment for your own CSV file",
        description="Create a .losslab experiment that trains on a CSV file: a header row, feature "
        "columns (numbers, or texts such as a city, which are one-hot encoded) and a target column. "
        "Commas, semicolons, tabs or bars between cells and a decimal comma are detected.",
    )
    new.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to train on")
    new.add_argument(
        "--target", required=True, metavar="COLUMN", help="the column the model learns to predict"
    )
    new.add_argument(
        "-o",
        "--out",
        metavar="EXP",
        help="the experiment file to write (default: beside the CSV, named after it, .losslab)",
    )
    new.add_argument(
        "--features",
        metavar="A,B,...",
        help="the input columns, separated by commas (default: every column but the target)",
    )
    new.add_argument("--task", choices=TASK_CHOICES, help="override the task detected from the target column")
    new.add_argument(
        "--missing",
        choices=MISSING_CHOICES,
        default="error",
        help="rows that miss a value: refuse the file and list them (error, the default), drop "
        "them, or fill a missing feature with its column mean (a row without a target is dropped)",
    )
    new.add_argument("--force", action="store_true", help="overwrite the experiment file if it exists")
    new.add_argument("--quiet", action="store_true", help="no progress while reading a large file")


def _out_path(args: argparse.Namespace, csv_path: Path) -> Path:
    out = Path(args.out) if args.out else csv_path.with_suffix(".losslab")
    if out.suffix != ".losslab":
        raise LossLabError(f"the experiment file should end in .losslab, got {out.name}", "--out")
    if out.is_dir():
        raise LossLabError(
            f"{out} is a folder; give the experiment's file name, e.g. {out / 'my.losslab'}", "--out"
        )
    if out.exists() and not args.force:
        raise LossLabError(
            f"{out} exists already; choose another name or pass --force to overwrite it", "--out"
        )
    return out


def _relative_to(csv_path: Path, out: Path) -> str:
    """The CSV path as the experiment stores it: relative to the experiment's folder where possible."""
    try:
        return os.path.relpath(csv_path.absolute(), out.absolute().parent)
    except ValueError:  # another drive on Windows
        return str(csv_path.absolute())


def _progress(quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    last = [-1]

    def report(fraction: float) -> None:
        percent = int(fraction * 100)
        if percent != last[0]:
            last[0] = percent
            print(f"\rlosslab: reading {percent:3d}%", end="" if percent < 100 else "\n", file=sys.stderr)

    return report


def cmd_new(args: argparse.Namespace) -> int:
    from losslab.core.data.csv_import import read_csv_table, starting_sections
    from losslab.core.experiment import Experiment
    from losslab.core.tasks import TASKS

    csv_path = Path(args.csv)
    out = _out_path(args, csv_path)
    features = None
    if args.features is not None:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        if not features:
            raise LossLabError("name at least one column, e.g. --features size,rooms", "--features")
    table = read_csv_table(csv_path, args.target, args.task, features, args.missing, _progress(args.quiet))

    doc = Experiment.default().to_dict()
    doc.update(starting_sections(table.task, len(table.y)))
    doc["name"] = f"{csv_path.stem}: predict {table.target_name}"
    doc["dataset"] = {
        "kind": "csv",
        "path": _relative_to(csv_path, out),
        "target_column": table.target_name,
        "task": args.task,  # None: inferred again on each read, as it was now
        "features": features,
        "missing": args.missing,
        "sha256": table.sha256,
        "seed": 0,
        "val_fraction": 0.2,
    }
    experiment = Experiment.from_dict(doc)
    experiment.save(out)

    classes = ""
    if table.class_names:
        shown = ", ".join(table.class_names[:6]) + (", …" if len(table.class_names) > 6 else "")
        classes = f", {len(table.class_names)} classes ({shown})"
    encoded = len(table.feature_names) - len(table.feature_columns)
    inputs = f"{len(table.feature_names)} inputs from {len(table.feature_columns)} columns"
    if encoded:
        inputs += " (text columns one-hot encoded)"
    print(f"wrote {out}")
    print(f"  data: {csv_path.name}, {table.format.describe()}, {len(table.y):,} rows, {inputs}")
    print(f"  task: {TASKS.get(table.task, table.task)}{classes}; target '{table.target_name}'")
    print(f"  loss: {experiment.loss['id']}; train it with: losslab run {out}")
    for note in table.notes:
        print(f"  note: {note}")
    return 0
