"""`losslab race EXP --vary SETTING=V1,V2,...`: train variants that differ in one setting, fairly.

Every variant starts from the same initial weights and sees the same batches in the same order;
variants of one network train together in one batched computation. Progress goes to stderr, the
result table (or, with ``--json``, the document below) to stdout. Each variant is kept in the run
history as one run of the race's group, unless ``--no-record``.

``--json`` prints one object (stable; NaN and infinities are null)::

    {"group_id": str, "vary": "loss", "fair": bool, "stopped": bool, "elapsed_s": float,
     "aggregate_steps_per_second": float,
     "variants": [{"label": "loss=mae", "vary": {"loss": "mae"}, "init_digest": sha256 hex,
                   "batch_order_digest": sha256 hex, "mode": "batched" | "sequential (why)",
                   "status": "finished" | "stopped" | "diverged" | "not run", "epochs_done": int,
                   "steps": int, "elapsed_s": float, "steps_per_second": float,
                   "final": {"train_loss": ..., "val_loss": ..., "metric": "accuracy",
                             "metric_value": ..., ...}, "diverged": str | null,
                   "history": [per-epoch rows]}],
     "run_ids": [str, ...]}   # the stored runs, in variant order ([] with --no-record)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Any

from losslab.core.errors import LossLabError

DEVICES = ("auto", "cpu", "cuda", "mps")


def add_parser(sub: Any) -> None:
    race = sub.add_parser(
        "race",
        help="train variants that differ in one setting, from the same weights and batches",
        description="Train N variants of an experiment that differ in exactly one setting, from "
        "identical initial weights and batch order. Examples: --vary loss=mse,mae,huber; "
        "--vary optimizer.lr=0.001,0.01,0.1; --vary optimizer=sgd,adam; --vary training.batch_size=8,32.",
    )
    race.add_argument("experiment", help="path to a .losslab file")
    race.add_argument(
        "--vary",
        required=True,
        action="append",  # so that a second --vary is refused, not silently the one raced
        metavar="SETTING=V1,V2,...",
        help="the one setting that differs and its values (loss, optimizer, optimizer.lr, ...)",
    )
    race.add_argument("--epochs", type=int, help="override the number of epochs")
    race.add_argument("--device", choices=DEVICES, help="override the device")
    race.add_argument(
        "--sequential",
        action="store_true",
        help="train the variants one after another instead of together (the same results, slower)",
    )
    race.add_argument("--json", action="store_true", help="print the result as JSON (see losslab.cli_race)")
    race.add_argument("--no-record", action="store_true", help="do not keep the race in the run history")
    race.add_argument("--quiet", action="store_true", help="no progress lines")
    race.add_argument(
        "--trust-code",
        action="store_true",
        help="run the Python code (a custom loss) in the experiment file; read it first",
    )


class RaceProgress:
    """A line per variant's epoch now and then (every 2 s at most), and one when each is done."""

    def __init__(self, epochs: int, quiet: bool, stream: Any = None) -> None:
        self.epochs, self.quiet, self.stream = epochs, quiet, stream or sys.stderr
        self.labels: list[str] = []
        self.last = 0.0

    def __call__(self, event: Any) -> None:
        from losslab.core.race import RaceEpoch, RaceNotice, RaceStarted, RaceVariantEnded

        if isinstance(event, RaceStarted):
            self.labels = list(event.labels)
            modes = sorted(set(event.modes))
            print(f"losslab: racing {', '.join(self.labels)} ({'; '.join(modes)})", file=self.stream)
        elif isinstance(event, RaceNotice):
            who = self.labels[event.variant] + ": " if 0 <= event.variant < len(self.labels) else ""
            print(f"losslab: {who}{event.message}", file=self.stream)
        elif self.quiet:
            return
        elif isinstance(event, RaceEpoch):
            now = time.monotonic()
            if now - self.last < 2.0:
                return
            self.last = now
            e = event.end
            val = f"  val {e.val_loss:.4g}" if math.isfinite(e.val_loss) else ""
            print(
                f"  {self.labels[event.variant]}: epoch {e.epoch}/{self.epochs} loss {e.train_loss:.4g}{val}",
                file=self.stream,
                flush=True,
            )
        elif isinstance(event, RaceVariantEnded):
            r = event.result
            print(f"  {r.label}: {r.status} after {r.epochs_done} epochs", file=self.stream, flush=True)


def cmd_race(args: argparse.Namespace) -> int:
    from losslab.cli import EXIT_DIVERGED, EXIT_OK, load_for_training

    _, exp = load_for_training(args)
    if args.device is not None:
        exp = exp.replace("training", device=args.device)

    import torch

    from losslab.core.race import parse_vary, plan_race, run_race

    if len(args.vary) > 1:
        raise LossLabError(
            f"give it once: a race varies exactly one setting, got {len(args.vary)} (each variant must "
            "differ from the others in one setting only)",
            "--vary",
        )
    plan = plan_race(exp, parse_vary(args.vary[0]), sequential=args.sequential)
    torch.set_num_threads(1)  # small nets are dispatch-bound, as in `losslab run`
    recorder = None if args.no_record else _race_recorder()
    run_ids: list[str] = []

    def record(group_id: str, result: Any) -> None:
        if recorder is not None:
            run_ids.append(recorder(group_id, result))

    import threading

    from losslab.cli import EXIT_INTERRUPTED, stop_on_signals

    stop = threading.Event()
    with stop_on_signals(stop.set) as caught:  # Ctrl-C: stop after the batch, keep what was done
        result = run_race(
            plan, callback=RaceProgress(exp.training["epochs"], args.quiet), controls=stop, record=record
        )
    if args.json:
        doc = result.to_json()
        doc["run_ids"] = run_ids
        print(json.dumps(doc, indent=2, allow_nan=False))
    else:
        print(format_table(result))
        if run_ids:
            print(f"kept in the run history as group {result.group_id} (losslab runs list)")
    if caught:
        return EXIT_INTERRUPTED
    return EXIT_DIVERGED if all(v.status == "diverged" for v in result.variants) else EXIT_OK


def _race_recorder() -> Any:
    """Store each variant as a run of the race's group: ``(group_id, VariantResult) -> run id``."""
    from losslab.core.runs import open_store
    from losslab.core.runs.race import record_variant

    store = open_store()
    return lambda group_id, result: record_variant(store, group_id, result)


def format_table(result: Any) -> str:
    """The variants side by side, best headline metric first marked, and the fairness check."""
    from losslab.core.race import number_text

    metric = result.variants[0].headline if result.variants else ""
    head = ["variant", "mode", "status", "epochs", "train loss", "val loss", metric or "metric", "steps/s"]
    rows = [head]
    for v in result.variants:
        f = v.final
        rows.append(
            [
                v.label,
                v.mode,
                v.status,
                str(v.epochs_done),
                number_text(f.get("train_loss")),
                number_text(f.get("val_loss")),
                number_text(f.get("metric_value")),
                f"{v.steps_per_second:,.0f}",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if result.setting == "loss":
        lines.append(
            f"(each loss column is the variant's own loss: compare {metric or 'the metric'} across losses)"
        )
    first = result.variants[0] if result.variants else None
    if result.fair and first is not None:
        lines.append(
            f"fair: every variant started from weights {first.init_digest[:12]} and saw batches "
            f"{first.batch_order_digest[:12]} (SHA-256; --json has them in full)"
        )
    else:
        lines.append("NOT fair: the variants' initial weights or batch orders differ (see --json)")
    lines.append(
        f"{len(result.variants)} variants in {result.elapsed:.2f} s "
        f"({result.aggregate_steps_per_second:,.0f} steps/s together)"
        + ("; stopped early" if result.stopped else "")
    )
    return "\n".join(lines)
