"""`losslab runs ...`: the run history from the command line, and the recording of `losslab run`.

    losslab runs list [--json] [--status S] [--tag T] [--group G] [--search TEXT] [--limit N]
    losslab runs show ID [--json]
    losslab runs export ID --out DIR   history.csv, steps.csv, weights.pt, best-weights.pt, experiment.losslab
    losslab runs export ID --script out.py --weights w.pt --torchscript m.pt --onnx m.onnx  (see cli_export)
    losslab runs rm ID [ID ...]        removes the runs for good

The history is ``runs.sqlite3`` in LossLab's data folder (``$LOSSLAB_DATA_DIR`` when set).
Exit codes as for every command: 0 done, 2 bad input (an unknown id, a damaged or locked history:
one message on stderr).

JSON output (stable; fields are only ever added, never renamed or removed)
--------------------------------------------------------------------------
``runs list --json`` prints a JSON array of run summaries, newest first. A summary is an object:

* ``id`` (int), ``name`` (str), ``status``: "running", "finished", "stopped", "diverged" or
  "interrupted" (its process ended without finishing it: killed, crashed); ``message`` (str, why
  it ended so; "" when finished normally);
* ``tags`` (list of str), ``group_id`` (str or null: the seeds of one ``losslab run --seeds`` or the
  variants of one race share it), ``source`` ("cli", "api", "window", "race");
* ``created``, ``started``, ``ended``: ISO 8601 UTC times ("2026-12-06T23:14:06Z") or null;
* ``dataset``, ``task``, ``architecture`` (layer widths, "2-16-16-1"), ``param_count``, ``loss``,
  ``optimizer``, ``lr``, ``seed``, ``device``, ``torch_version``, ``host``, ``pid``;
* ``epochs_planned``, ``epochs_done``, ``steps_done`` (ints), ``elapsed_s`` (float);
* ``metric``: the task's headline metric name ("accuracy", "r2", or "");
* ``final``: the last completed epoch's row, an object with ``epoch``, ``step``, ``train_loss``,
  ``val_loss``, ``train_<metric>`` and ``val_<metric>`` for each metric, ``lr``, ``l1``, ``l2``,
  ``elapsed_s`` (the columns of history.csv); ``{}`` before the first epoch ends;
* ``best``: the same for the epoch with the lowest validation loss (training loss without a
  validation split), and ``best_epoch`` its number (null before the first epoch);
* ``diverged_at``: ``{"epoch", "step"}`` where a diverged run diverged (the ``diverged`` row of
  history.csv), or null (not diverged, or kept by a LossLab before run-history format 3).

Numbers that are NaN or infinite are null. ``runs show ID --json`` prints one such object with
four more keys: ``epochs`` (every epoch's row, in order), ``steps`` (``{"stride": k, "kept": n}``:
every k-th step's loss is kept), ``weights`` (``{"final": {"epoch", "step"}, "best": ...}`` for the
weights stored) and ``experiment`` (the .losslab document exactly as run).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from losslab.core.errors import LossLabError

EXIT_OK = 0


def add_parser(sub: Any) -> None:
    """The ``runs`` command and its subcommands (``sub``: the main parser's subparsers)."""
    runs = sub.add_parser("runs", help="the run history: list, show, export, rm (see losslab runs -h)")
    rsub = runs.add_subparsers(
        dest="runs_command", metavar="{list,show,export,rm}", parser_class=type(runs), required=True
    )
    ls = rsub.add_parser("list", help="the stored runs, newest first")
    ls.add_argument("--json", action="store_true", help="print JSON (documented in losslab/cli_runs.py)")
    ls.add_argument("--status", help="only runs with this status (finished, stopped, diverged, ...)")
    ls.add_argument("--tag", help="only runs with this tag")
    ls.add_argument("--group", help="only the runs of this group (seeds, a race)")
    ls.add_argument(
        "--search", default="", help="only runs whose name, dataset, loss, ... contain these words"
    )
    ls.add_argument("--limit", type=int, help="at most this many runs")
    show = rsub.add_parser("show", help="one run: its settings, epochs and metrics")
    show.add_argument("id", help="the run's id (see losslab runs list)")
    show.add_argument("--json", action="store_true", help="print JSON (documented in losslab/cli_runs.py)")
    export = rsub.add_parser("export", help="write a run's files, a PyTorch script, TorchScript or ONNX")
    export.add_argument("id", help="the run's id")
    export.add_argument("--out", help="the folder for history.csv, weights.pt, ... (created if needed)")
    from losslab.cli_export import add_output_options

    add_output_options(export)  # --script/--weights/--torchscript/--onnx from the run's stored weights
    rm = rsub.add_parser("rm", help="remove runs from the history, for good")
    rm.add_argument("ids", nargs="+", metavar="ID", help="the runs' ids")


def _store() -> Any:
    from losslab.core.runs import open_store

    return open_store()


def _run_id(text: str, store: Any) -> int:
    try:
        rid = int(text.lstrip("#"))
    except ValueError:
        raise LossLabError(f"a run id is a whole number (see `losslab runs list`), got {text!r}") from None
    try:
        if not 0 < rid < 2**63:  # ids are positive SQLite integers; a bigger one overflows the query
            raise LossLabError(f"no run {rid}")
        store.summary(rid)
    except LossLabError:
        raise LossLabError(
            f"there is no run {rid} in the run history {store.path}; `losslab runs list` shows the ids"
        ) from None
    return rid


def cmd_runs(args: argparse.Namespace) -> int:
    with _store() as store:
        if args.runs_command == "list":
            return _list(store, args)
        if args.runs_command == "show":
            return _show(store, _run_id(args.id, store), args.json)
        if args.runs_command == "export":
            from losslab.cli_export import export_from_run

            rid = _run_id(args.id, store)
            if not export_from_run(store, rid, args) and not args.out:
                raise LossLabError("give --out DIR, or --script, --weights, --torchscript or --onnx")
            return _export(store, rid, Path(args.out)) if args.out else EXIT_OK
        ids = [_run_id(text, store) for text in args.ids]  # every id checked before anything is removed
        for rid in ids:
            name = store.summary(rid).name
            store.purge(rid)
            print(f"losslab: removed run {rid}{f' ({name})' if name else ''}", file=sys.stderr)
        return EXIT_OK


# -- list and show -------------------------------------------------------------------------------
def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.{digits}g}"
    return "-"


def _local(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "-"


def _metric_cell(summary: Any, which: str) -> str:
    row = summary.final if which == "final" else summary.best
    metric = summary.metric(which)
    if summary.headline and math.isfinite(metric):
        return f"{summary.headline} {metric:.3f}"
    loss = row.get("val_loss", math.nan)
    if not (isinstance(loss, float) and math.isfinite(loss)):
        loss = row.get("train_loss", math.nan)
    return f"loss {_number(loss)}" if row else "-"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _list(store: Any, args: argparse.Namespace) -> int:
    from losslab.core.runs import STATUSES

    if args.status is not None and args.status not in STATUSES:
        raise LossLabError(f"must be one of {', '.join(STATUSES)}, got {args.status!r}", "--status")
    if args.limit is not None and args.limit < 1:
        raise LossLabError(f"must be at least 1, got {args.limit}", "--limit")
    if args.limit is not None and args.limit >= 2**63:  # SQLite's LIMIT is a 64-bit integer
        raise LossLabError(
            f"must be below 2**63, got {args.limit:.3g}; leave it out for every run", "--limit"
        )
    runs = store.list_runs(args.search, args.status, args.tag, args.group, limit=args.limit)
    if args.json:
        print(json.dumps([r.to_json() for r in runs], indent=2))
        return EXIT_OK
    if not runs:
        print(f"losslab: no runs stored yet in {store.path}", file=sys.stderr)
        return EXIT_OK
    rows = [["id", "status", "started", "name", "dataset", "loss", "optimizer", "epochs", "final", "best"]]
    for r in runs:
        planned = f"/{r.epochs_planned}" if r.epochs_planned else ""
        rows.append(
            [
                str(r.id),
                r.status,
                _local(r.started or r.created),
                r.name[:40],
                r.dataset,
                r.loss,
                f"{r.optimizer} {_number(r.lr, 3)}",
                f"{r.epochs_done}{planned}",
                _metric_cell(r, "final"),
                _metric_cell(r, "best"),
            ]
        )
    print(_table(rows))
    return EXIT_OK


def _show(store: Any, rid: int, as_json: bool) -> int:
    run = store.get_run(rid)
    if as_json:
        print(json.dumps(run.to_json(), indent=2))
        return EXIT_OK
    s = run.summary
    lines = [
        f"run {s.id}: {s.name or '(no name)'}",
        f"  status     {s.status}" + (f": {s.message}" if s.message else ""),
        f"  started    {_local(s.started or s.created)}, {s.elapsed:.1f} s of training"
        + (f", ended {_local(s.ended)}" if s.ended else ""),
        f"  data       {s.dataset} ({s.task or 'task unknown'})",
        f"  network    {s.architecture or '?'} ({'?' if s.param_count is None else s.param_count} params)",
        f"  loss       {s.loss}; optimizer {s.optimizer}, learning rate {_number(s.lr, 3)}; seed {s.seed}",
        f"  progress   {s.epochs_done}/{s.epochs_planned} epochs, {s.steps_done} steps"
        f" ({len(run.steps)} step losses kept, every {s.step_stride})",
        f"  final      {_metric_cell(s, 'final')}",
        f"  best       {_metric_cell(s, 'best')}" + (f" at epoch {s.best_epoch}" if s.best_epoch else ""),
        f"  weights    {', '.join(run.weights) or 'none stored'}",
        f"  device     {s.device or '?'}, torch {s.torch_version or '?'}, host {s.host or '?'}, pid {s.pid}",
    ]
    if s.tags:
        lines.append(f"  tags       {', '.join(s.tags)}")
    if s.group_id:
        lines.append(f"  group      {s.group_id}")
    print("\n".join(lines))
    if run.epochs:
        columns = [c for c in run.epochs[-1] if c not in ("l1", "l2")]
        shown = run.epochs if len(run.epochs) <= 20 else [*run.epochs[:5], None, *run.epochs[-10:]]
        rows = [columns]
        for row in shown:
            if row is None:
                rows.append(["..."] + [""] * (len(columns) - 1))
            else:
                rows.append(
                    [_number(row.get(c)) if c not in ("epoch", "step") else str(row.get(c)) for c in columns]
                )
        print()
        print(_table(rows))
    return EXIT_OK


def _export(store: Any, rid: int, out: Path) -> int:
    from losslab.core.runs import export_run

    written = export_run(store, rid, out)
    print(f"losslab: wrote {', '.join(str(p) for p in written)}", file=sys.stderr)
    return EXIT_OK


# -- recording `losslab run` -----------------------------------------------------------------------
def open_for_recording() -> Any:
    """The user's run history for ``losslab run``, or None (with a warning) when it cannot be opened:
    a damaged or locked history must not stop a training run."""
    try:
        return _store()
    except LossLabError as exc:
        print(f"losslab: not recording this run in the history: {exc}", file=sys.stderr)
        return None


def start_recorder(store: Any, trainer: Any, name: str, group_id: str | None, tags: list[str]) -> Any:
    """A Recorder for ``trainer`` in ``store``, or None (with a warning) when the run cannot be stored."""
    if store is None:
        return None
    from losslab.core.runs import Recorder

    try:
        return Recorder(store, trainer, name=name, group_id=group_id, tags=tags, source="cli")
    except LossLabError as exc:
        print(f"losslab: not recording this run in the history: {exc}", file=sys.stderr)
        return None


def new_group_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def seed_summary(rows: list[tuple[int, dict[str, float]]]) -> str:
    """A table of each seed's final metrics and their mean ± sample standard deviation."""

    def finite(final: dict[str, float], key: str) -> bool:
        value = final.get(key)
        return isinstance(value, float | int) and math.isfinite(value)

    names: list[str] = []
    for _, final in rows:
        names += [k for k in final if k not in names]
    # The losses, then the metrics on validation data (on training data when there is no split).
    split = "val_" if any(finite(f, "val_loss") for _, f in rows) else "train_"
    keys = ["train_loss", "val_loss"] if split == "val_" else ["train_loss"]
    keys += [k for k in names if k.startswith(split) and k not in ("train_loss", "val_loss")]
    table = [["seed", "epochs", *keys]]
    for seed, final in rows:
        table.append([str(seed), str(int(final.get("epoch", 0))), *(_number(final.get(k)) for k in keys)])
    stats = []
    for key in keys:
        values = [f[key] for _, f in rows if finite(f, key)]
        if not values:
            stats.append("-")
        elif len(values) == 1:
            stats.append(_number(values[0]))
        else:
            stats.append(f"{statistics.fmean(values):.4g} ± {statistics.stdev(values):.2g}")
        if values and len(values) < len(rows):
            stats[-1] += f" ({len(values)} of {len(rows)} seeds)"
    table.append(["mean ± std", "", *stats])
    return (
        _table(table)
        + f"\n(final epoch of each seed; ± is the sample standard deviation over {len(rows)} seeds)"
    )
