"""A stored run as files: what ``losslab run --out`` writes, plus the kept per-step losses.

* ``history.csv``: one row per epoch, the columns of ``History.to_csv`` (as ``losslab run`` writes);
* ``steps.csv``: ``step,loss`` for every kept step (every ``stride``-th, see recorder.py);
* ``weights.pt``: the final state_dict, the bytes ``torch.save`` wrote (``best-weights.pt`` too, when kept);
* ``experiment.losslab``: the experiment exactly as run.

Every file is written atomically (core/files.py): an interrupted export never leaves half a file.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

from losslab.core.errors import LossLabError
from losslab.core.files import save_bytes_atomic, save_text_atomic
from losslab.core.history import History
from losslab.core.runs.records import BEST, FINAL
from losslab.core.runs.store import RunStore


def export_run(store: RunStore, run_id: int, folder: str | os.PathLike[str]) -> list[Path]:
    """Write the run's files into ``folder`` (created if needed); returns the paths written."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise LossLabError(f"{out} exists and is not a folder", "--out")
    record = store.get_run(run_id)
    experiment = store.experiment_of(run_id)
    written: list[Path] = []
    try:
        history = History()
        history.rows = [dict(row) for row in record.epochs]
        run = record.summary
        if run.diverged_epoch is not None and run.diverged_step is not None:
            history.mark_diverged(run.diverged_epoch, run.diverged_step)  # the row `losslab run` writes
        save_text_atomic(out / "history.csv", history.to_csv())
        written.append(out / "history.csv")
        text = io.StringIO()
        text.write("step,loss\n")
        for step, loss in zip(record.steps.tolist(), record.losses.tolist(), strict=True):
            text.write(f"{step},{loss if math.isfinite(loss) else str(loss)}\n")
        save_text_atomic(out / "steps.csv", text.getvalue())
        written.append(out / "steps.csv")
        for which, name in ((FINAL, "weights.pt"), (BEST, "best-weights.pt")):
            if which in record.weights:
                save_bytes_atomic(out / name, store.weights_bytes(run_id, which))
                written.append(out / name)
        experiment.save(out / "experiment.losslab")
        written.append(out / "experiment.losslab")
    except OSError as exc:
        raise LossLabError(f"cannot write the export to {out}: {exc.strerror or exc}") from None
    return written
