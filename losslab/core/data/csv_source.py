"""Is the CSV an experiment names still the file it was made from? The experiment records the file's
SHA-256 when it is imported; opening it again compares, so edited or lost data is said out loud
instead of quietly giving other results."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from losslab.core.data.csv_parse import file_sha256
from losslab.core.data.registry import CSV_KIND
from losslab.core.errors import LossLabError


@dataclass(frozen=True)
class CsvSourceProblem:
    missing: bool  # True: the file is not there (nothing can train); False: it changed, or is unreadable
    message: str  # one sentence: what is wrong and what to do


def csv_source_problem(dataset: dict[str, Any]) -> CsvSourceProblem | None:
    """What is wrong with the CSV file a dataset config names; None when the file is there and (if a
    hash was recorded) unchanged, or when the dataset is not a CSV."""
    if dataset.get("kind") != CSV_KIND:
        return None
    path = str(dataset.get("path") or "")
    name = Path(path).name
    if not os.path.exists(path):
        return CsvSourceProblem(
            True,
            f"the data file {name} is missing (looked for {path}); put it back there, or import the "
            "CSV again from where it is now",
        )
    recorded = dataset.get("sha256")
    if not recorded:
        return None
    try:
        now = file_sha256(path)
    except LossLabError as exc:
        return CsvSourceProblem(False, str(exc))
    if now != recorded:
        return CsvSourceProblem(
            False,
            f"the data file {name} has changed since this experiment was made (its content hash "
            f"{recorded[:12]}… is now {now[:12]}…); training uses the file as it is now, so results "
            "can differ from earlier runs",
        )
    return None
