"""Per-epoch record of a run: losses, metrics, learning rate; exported as CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from losslab.core.events import EpochEnd
from losslab.core.files import save_text_atomic


class History:
    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.run_id: int | None = None  # its id in the run history (core/runs) when stored, as train() does

    def add(self, e: EpochEnd) -> None:
        row: dict[str, float] = {
            "epoch": e.epoch,
            "step": e.step,
            "train_loss": e.train_loss,
            "val_loss": e.val_loss,
        }
        row.update({f"train_{k}": v for k, v in e.train_metrics.items()})
        row.update({f"val_{k}": v for k, v in e.val_metrics.items()})
        row.update({"lr": e.lr, "l1": e.l1, "l2": e.l2, "elapsed_s": e.elapsed})
        self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, column: str) -> list[float]:
        return [row[column] for row in self.rows]

    @property
    def columns(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []

    def last(self, column: str, default: float = math.nan) -> float:
        return self.rows[-1].get(column, default) if self.rows else default

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()

    def save_csv(self, path: str | Path) -> None:
        save_text_atomic(Path(path), self.to_csv())
