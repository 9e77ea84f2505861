"""Per-epoch record of a run: losses, metrics, learning rate, and where it diverged; exported as CSV."""

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
        # Where the loss blew up (1-based epoch in progress, global step), None while it has not.
        self.diverged_epoch: int | None = None
        self.diverged_step: int | None = None
        # Every k-th epoch has a row (long full-batch runs: Trainer.eval_every); 1 is every epoch.
        self.eval_every = 1

    def mark_diverged(self, epoch: int, step: int) -> None:
        self.diverged_epoch, self.diverged_step = epoch, step

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
        """One row per epoch. After a divergence a ``diverged`` column is 0 on those rows and one row
        (1), after the epochs that ended before it, holds the epoch and step it diverged at, its other
        cells nan: the file still parses as numbers."""
        rows, columns = self.rows, self.columns
        if self.diverged_step is not None and self.diverged_epoch is not None:
            columns = [*(columns or ["epoch", "step"]), "diverged"]
            mark: dict[str, float] = {"epoch": self.diverged_epoch, "step": self.diverged_step, "diverged": 1}
            rows = [{**row, "diverged": 0} for row in rows]
            before = sum(row["epoch"] < self.diverged_epoch for row in rows)
            rows.insert(before, mark)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, restval="nan", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    def save_csv(self, path: str | Path) -> None:
        save_text_atomic(Path(path), self.to_csv())
