"""`losslab` command line: open the window, train headless, list losses, benchmark.

Exit codes: 0 done, 2 bad input (one clear message on stderr), 3 training diverged, 130 interrupted
(Ctrl-C or SIGTERM: a run stops after its current step and saves what was done).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from losslab.core.errors import LossLabError
from losslab.core.files import recover_file_set, save_file_set
from losslab.core.params import shown

EXIT_OK, EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 2, 3, 130
LR_FIND_MAX_STEPS = 100_000  # a sweep of 100 to 1,000 steps is the usual; more is a typo
MAX_SEEDS = 1_000  # repeats for a mean ± std; more is a typo (and the list of them would not fit)
MAX_TAG = 64  # characters: a tag is a word or two in a table column


@contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[list[int]]:
    """While training: the first Ctrl-C or SIGTERM asks the run to stop after the current step (what
    was done is then saved); a second one interrupts at once. Yields the signals caught."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # signals go to the main thread only
        yield caught
        return

    def handler(signum: int, frame: Any) -> None:
        if caught:
            raise KeyboardInterrupt
        caught.append(signum)
        stop()
        print("\nlosslab: stopping after this step (press Ctrl-C again to quit at once)", file=sys.stderr)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield caught
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM outside training (start-up, saving): exit 130 at once, without a traceback. Nothing is
    half-written: every file LossLab writes is replaced atomically. (Raising KeyboardInterrupt here
    could surface inside an import and end the process by SIGINT instead of the exit code.)"""
    print("\nlosslab: interrupted", file=sys.stderr, flush=True)
    os._exit(EXIT_INTERRUPTED)


def state_bytes(state: Any) -> bytes:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code 2 is ours for bad input too
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"losslab: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from losslab import __version__

    parser = _Parser(
        prog="losslab",
        usage="%(prog)s [-h] [--version] [--self-test] "
        "[FILE | {run,race,runs,lessons,lr-find,losses,bench,new,export} ...]",
        description="LossLab: see how a loss function shapes training. "
        "With no command, opens the window (on FILE, an experiment, when given).",
    )
    parser.add_argument("--version", action="version", version=f"LossLab {__version__}")
    parser.add_argument(
        "--self-test", action="store_true", help="check that LossLab works here (window, training, exports)"
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="train an experiment without a window")
    run.add_argument("experiment", help="path to a .losslab file")
    run.add_argument("--epochs", type=int, help="override the number of epochs")
    run.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override the device")
    run.add_argument(
        "--out", help="folder for history.csv, weights.pt and the experiment (default: <name>-run)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--no-record", action="store_true", help="do not store the run in the run history (losslab runs)"
    )
    run.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="K",
        help="train K times with seeds seed, seed+1, ... as one group and print mean ± std of the final "
        "metrics (files go to <out>/seed-<seed>/)",
    )
    run.add_argument("--tag", action="append", default=[], help="tag the stored run (repeatable)")
    run.add_argument(
        "--save-sample-history",
        action="store_true",
        help="also write sample_history.csv: each training sample's loss and P(true class) (regression: "
        "error) per epoch, with its dataset-cartography region",
    )
    run.add_argument(
        "--trust-code",
        action="store_true",
        help="run the Python code (a custom loss) in the experiment file; read it first",
    )

    find = sub.add_parser(
        "lr-find", help="learning-rate range test: sweep the rate, print the loss curve and a suggestion"
    )
    find.add_argument("experiment", help="path to a .losslab file")
    find.add_argument("--start", type=float, default=1e-6, help="smallest learning rate (default 1e-6)")
    find.add_argument("--end", type=float, default=10.0, help="largest learning rate (default 10)")
    find.add_argument("--steps", type=int, default=100, help="training steps in the sweep (default 100)")
    find.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="override the device")
    find.add_argument(
        "--trust-code",
        action="store_true",
        help="run the Python code (a custom loss) in the experiment file; read it first",
    )

    from losslab.cli_race import add_parser as add_race_parser

    add_race_parser(sub)

    from losslab.cli_runs import add_parser as add_runs_parser

    add_runs_parser(sub)

    from losslab.cli_lessons import add_parser as add_lessons_parser

    add_lessons_parser(sub)

    from losslab.cli_new import add_parser as add_new_parser

    add_new_parser(sub)

    from losslab.cli_export import add_parser as add_export_parser

    add_export_parser(sub)

    sub.add_parser("losses", help="print the loss registry as a table")

    bench = sub.add_parser("bench", help="measure training speed, plot redraw, start-up (see losslab/bench)")
    bench.add_argument("--quick", action="store_true", help="fewer, shorter repeats (under a minute)")
    bench.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    return parser


COMMANDS = ("run", "race", "runs", "lessons", "lr-find", "losses", "bench", "new", "export")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `losslab FILE` opens FILE in the window. FILE is not an argparse positional: an optional
    # positional before the subcommands would swallow "run" and make `losslab run EXP` fail.
    file = None
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        file, extra = argv[0], argv[1:]
        if extra:
            parser.error(f"unexpected arguments after {file}: {' '.join(extra)}")
        argv = []
    args = parser.parse_args(argv)
    headless = args.command is not None and threading.current_thread() is threading.main_thread()
    previous_term = signal.signal(signal.SIGTERM, _interrupt) if headless else None
    try:
        if args.self_test:
            from losslab.selftest import run_self_test

            return run_self_test()
        if args.command == "run":
            return cmd_run(args)
        if args.command == "lr-find":
            return cmd_lr_find(args)
        if args.command == "race":
            from losslab.cli_race import cmd_race

            return cmd_race(args)
        if args.command == "runs":
            from losslab.cli_runs import cmd_runs

            return cmd_runs(args)
        if args.command == "export":
            from losslab.cli_export import cmd_export

            return cmd_export(args)
        if args.command == "lessons":
            from losslab.cli_lessons import cmd_lessons

            return cmd_lessons(args)
        if args.command == "new":
            from losslab.cli_new import cmd_new

            return cmd_new(args)
        if args.command == "losses":
            return cmd_losses()
        if args.command == "bench":
            from losslab.bench.runner import main as bench_main

            if args.json is not None:  # checked now: a benchmark takes minutes before it writes
                check_writable_folder(Path(args.json).absolute().parent, "--json")
                if Path(args.json).is_dir():
                    raise LossLabError(f"{args.json} is a folder; give the path of a .json file", "--json")
            return bench_main(args.quick, args.json)
        from losslab.gui.app import main as gui_main

        return gui_main([file] if file else [])
    except LossLabError as exc:
        print(f"losslab: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a path a command was given that the system refuses: one line, not a traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(f"losslab: cannot read or write{where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\nlosslab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def cmd_losses() -> int:
    from losslab.core.losses import LOSSES

    rows = [("id", "name", "tasks", "model output", "convex", "robust", "smooth")]
    for s in LOSSES.values():
        yes = {True: "yes", False: "no"}
        rows.append(
            (
                s.id,
                s.name,
                ", ".join(sorted(s.tasks)),
                s.output,
                yes[s.convex],
                yes[s.robust_to_outliers],
                yes[s.differentiable],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return EXIT_OK


class Progress:
    """A one-line progress bar on a terminal; a line per few seconds otherwise (logs, CI)."""

    def __init__(self, total: int, stream: Any = sys.stderr, quiet: bool = False, metric: str = "") -> None:
        """``metric``: the headline metric to show (metrics.headline_of); else accuracy or R²."""
        self.total, self.stream, self.quiet = total, stream, quiet
        self.metric = metric
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last = 0.0
        self.rate = 0.0

    def __call__(self, event: Any) -> None:
        from losslab.core.events import EpochEnd, Notice, StepBatch

        if isinstance(event, Notice):
            print(f"losslab: {event.message}", file=self.stream)
        elif getattr(event, "notice", ""):  # probe findings: gradient warnings, overfitting, early stop
            print(("\n" if self.tty else "") + f"losslab: {event.notice}", file=self.stream)
        elif isinstance(event, StepBatch):
            self.rate = event.steps_per_second
        elif isinstance(event, EpochEnd) and not self.quiet:
            now = time.monotonic()
            done = event.epoch >= self.total
            if not (self.tty or done or now - self.last >= 2.0):
                return
            self.last = now
            metric = ""
            for key in (self.metric,) if self.metric else ("accuracy", "r2"):
                if key in event.val_metrics:
                    metric = f"  val {key} {event.val_metrics[key]:.3f}"
            filled = int(30 * event.epoch / self.total)
            bar = "#" * filled + "." * (30 - filled)
            val = f"  val {event.val_loss:.4g}" if math.isfinite(event.val_loss) else ""
            line = (
                f"epoch {event.epoch:>{len(str(self.total))}}/{self.total} [{bar}] "
                f"loss {event.train_loss:.4g}{val}{metric}  {self.rate:,.0f} steps/s"
            )
            if self.tty:
                print("\r" + line, end="\n" if done else "", file=self.stream, flush=True)
            else:
                print(line, file=self.stream, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    path, exp = load_for_training(args)
    if args.seeds < 1:
        raise LossLabError(f"must be at least 1, got {args.seeds}", "--seeds")
    if args.seeds > MAX_SEEDS:
        raise LossLabError(f"must be at most {MAX_SEEDS:,}, got {args.seeds:,}", "--seeds")
    for tag in args.tag:
        if not tag.strip() or len(tag) > MAX_TAG or not tag.isprintable():
            raise LossLabError(
                f"a tag is a word or two of at most {MAX_TAG} printable characters, got {shown(tag)}", "--tag"
            )
    first_seed = exp.training["seed"]
    seeds = list(range(first_seed, first_seed + args.seeds))
    if seeds[-1] > 2**31 - 1:
        raise LossLabError(
            f"the seeds would pass 2147483647 (from {first_seed}, {args.seeds} seeds)", "--seeds"
        )
    if args.out is not None and not args.out.strip():
        raise LossLabError("give a folder name, or leave --out out for <name>-run", "--out")
    out = Path(args.out) if args.out else Path(f"{path.stem}-run")
    check_writable_folder(out, "--out")  # before training, not after it
    from losslab import cli_runs

    store = None if args.no_record else cli_runs.open_for_recording()
    group = cli_runs.new_group_id("seeds") if len(seeds) > 1 and store is not None else None
    name = exp.name or path.stem
    code, finals = EXIT_OK, []
    try:
        for seed in seeds:
            if getattr(args, "interrupted", False):
                break
            one = exp if len(seeds) == 1 else exp.replace("training", seed=seed)
            if len(seeds) > 1:
                print(f"losslab: seed {seed} ({seed - first_seed + 1} of {len(seeds)})", file=sys.stderr)
            result, final = _train_one(
                one,
                path,
                args,
                out if len(seeds) == 1 else out / f"seed-{seed}",
                store,
                name if len(seeds) == 1 else f"{name} seed {seed}",
                group,
            )
            finals.append((seed, final))
            if result.diverged is not None:
                code = EXIT_DIVERGED
    finally:
        if store is not None:
            store.close()
    if len(seeds) > 1:
        print(cli_runs.seed_summary(finals))
        if group is not None:
            print(f"losslab: stored as group {group} (losslab runs list --group {group})", file=sys.stderr)
    if getattr(args, "interrupted", False):
        print("losslab: interrupted; what was done is saved (marked stopped)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def check_writable_folder(folder: Path, flag: str) -> None:
    """``folder`` is, or can be made, a folder this process may write into; else say why, naming ``flag``."""
    if folder.exists() and not folder.is_dir():
        raise LossLabError(f"{folder} exists and is not a folder", flag)
    existing = folder
    while not existing.exists():  # the nearest part of the path that is there already
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise LossLabError(f"{folder} cannot be made: {existing} is a file, not a folder", flag)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LossLabError(f"{folder} cannot be written: no permission to write in {existing}", flag)


def _train_one(
    exp: Any, path: Path, args: argparse.Namespace, out: Path, store: Any, name: str, group: str | None
) -> tuple[Any, dict[str, float]]:
    """Train one experiment as `losslab run` does: progress, the files in ``out``, the run recorded."""
    from losslab import cli_runs
    from losslab.core.trainer import make_trainer

    # One intra-op thread: small nets are dispatch-bound and extra threads only add sync cost.
    # Nothing draws gradient statistics here, so the probe that collects them stays off ...
    if out.is_dir():
        recover_file_set(out)  # a save that a crash cut short is finished (or dropped) first
    trainer = make_trainer(exp, device=args.device, threads=1, diagnostics=False)
    every = exp.training["diagnostics_every"]
    if every:  # ... but vanishing/exploding gradients are still worth a line: norms only, rarely
        from losslab.core.diagnostics import GradientHealthProbe

        trainer.probes.append(GradientHealthProbe(max(every, 50), details=False))
    print(
        f"losslab: training {path.name} on {trainer.device} "
        f"({trainer.steps_per_epoch} steps/epoch, {exp.training['epochs']} epochs)",
        file=sys.stderr,
    )
    samples = None
    if getattr(args, "save_sample_history", False):
        from losslab.core.sample_history import SampleHistoryProbe

        if trainer.dataset.task == "gan":
            raise LossLabError(
                "a GAN has no per-sample history: its samples are new every step", "--save-sample-history"
            )
        samples = SampleHistoryProbe(events=False)
        trainer.probes.append(samples)
    from losslab.core.metrics import headline_of

    progress = Progress(exp.training["epochs"], quiet=args.quiet, metric=headline_of(trainer.dataset))
    recorder = cli_runs.start_recorder(store, trainer, name, group, args.tag)
    with stop_on_signals(trainer.controls.stop) as caught:
        if recorder is None:
            result = trainer.run(progress)
        else:
            with recorder:  # an error still closes the stored run, keeping every completed epoch
                result = trainer.run(recorder.wrap(progress))
    if caught:
        args.interrupted = True

    weights = trainer.model.state_dict()
    if result.diverged is not None and trainer.last_good is not None:
        weights = trainer.last_good.states["model"]  # the last finite weights, not the blown-up ones
    outputs = {
        "history.csv": result.history.to_csv().encode("utf-8"),
        "weights.pt": state_bytes(weights),
        "experiment.losslab": exp.to_json().encode("utf-8"),
    }
    if samples is not None and samples.history is not None:
        outputs["sample_history.csv"] = samples.history.to_csv(trainer.dataset).encode("utf-8")
    save_file_set(out, outputs)  # one set: a kill leaves the old three files or the new three
    steps_per_s = trainer.step / trainer.elapsed if trainer.elapsed else 0.0
    print(
        f"losslab: {trainer.step} steps in {trainer.elapsed:.2f} s ({steps_per_s:,.0f} steps/s); "
        f"wrote {out}/{', '.join(outputs)}",
        file=sys.stderr,
    )
    if recorder is not None:
        if recorder.error is None:
            print(
                f"losslab: stored as run {recorder.run_id} (losslab runs show {recorder.run_id})",
                file=sys.stderr,
            )
        else:
            print(f"losslab: the run history stopped recording this run: {recorder.error}", file=sys.stderr)
    if result.diverged is not None:
        print(f"losslab: {result.diverged.message}", file=sys.stderr)
        good = trainer.last_good
        kept = "the initial weights" if good is None or good.epoch == 0 else f"those after epoch {good.epoch}"
        print(
            f"losslab: diverged at epoch {result.diverged.epoch}, step {result.diverged.step} (history.csv "
            f"says so in its last row); weights.pt holds the last finite weights, {kept}",
            file=sys.stderr,
        )
    final = dict(result.history.rows[-1]) if result.history.rows else {}
    return result, final


def load_for_training(args: argparse.Namespace) -> tuple[Path, Any]:
    """The experiment a training command names, trust-checked, with ``--epochs`` applied.

    Torch-free, so a bad file (or code not trusted) is reported without waiting for torch to load."""
    path = Path(args.experiment)
    exp = _load_trusted(path, args.trust_code)
    warn_about_csv_source(exp)
    if args.epochs is not None:
        if args.epochs < 1:
            raise LossLabError(f"must be at least 1, got {args.epochs}", "--epochs")
        try:
            exp = exp.replace("training", epochs=args.epochs)
        except LossLabError as exc:  # the flag's name, not the file's field (it is not in the file)
            raise LossLabError(str(exc).removeprefix("training.epochs: "), "--epochs") from None
    return path, exp


def warn_about_csv_source(exp: Any) -> None:
    """A missing CSV is an error (nothing to train on); a changed one is a warning line: editing one's
    data and running again is ordinary work, but results may then differ from the recorded runs."""
    from losslab.core.data.csv_source import csv_source_problem

    problem = csv_source_problem(exp.dataset)
    if problem is not None and problem.missing:
        raise LossLabError(problem.message)
    if problem is not None:
        print(f"losslab: warning: {problem.message}", file=sys.stderr)


def _load_trusted(path: Path, trust_code: bool) -> Any:
    from losslab.core.experiment import load_experiment
    from losslab.core.trust import require_trusted

    exp = load_experiment(path)
    if not trust_code:
        require_trusted(exp, path.name, "--trust-code")
    else:
        from losslab.core.trust import allow_experiment_code

        allow_experiment_code(exp)  # for this process only: --trust-code is asked for each time
    return exp


def cmd_lr_find(args: argparse.Namespace) -> int:
    path = Path(args.experiment)
    exp = _load_trusted(path, args.trust_code)
    if not (math.isfinite(args.start) and math.isfinite(args.end)) or not 0 < args.start < args.end:
        raise LossLabError(f"need 0 < --start < --end, got {args.start:g} and {args.end:g}", "--start")
    if args.steps < 5:
        raise LossLabError(f"must be at least 5, got {args.steps}", "--steps")
    if args.steps > LR_FIND_MAX_STEPS:
        raise LossLabError(f"must be at most {LR_FIND_MAX_STEPS:,}, got {args.steps:,}", "--steps")
    print(
        f"losslab: learning-rate range test on {path.name}: {args.steps} steps from {args.start:g} "
        f"to {args.end:g}, starting from the initial weights",
        file=sys.stderr,
    )
    import torch

    from losslab.core.lr_finder import lr_find

    torch.set_num_threads(1)  # small nets are dispatch-bound, as in `losslab run`
    result = lr_find(exp, args.start, args.end, args.steps, device=args.device)
    rows = result.summary(15)
    finite = [loss for _, loss in rows if math.isfinite(loss)]
    top = max(finite) if finite else 1.0
    near = -1
    if result.suggestion is not None:
        near = min(range(len(rows)), key=lambda i: abs(math.log10(rows[i][0] / result.suggestion)))
    print(f"{'learning rate':>13}  {'loss':>10}")
    for i, (lr, loss) in enumerate(rows):
        bar = "#" * max(0, round(40 * loss / top)) if math.isfinite(loss) and top > 0 else ""
        print(f"{lr:>13.3g}  {loss:>10.4g}  {bar}{'  <- near the suggestion' if i == near else ''}")
    if result.stopped_early:
        print(f"(the loss blew up at {result.lrs[-1]:.3g}, so the sweep stopped there)")
    print(result.message)
    if result.suggestion is not None:
        print(f"suggested learning rate: {result.suggestion:g}")
    return EXIT_OK
