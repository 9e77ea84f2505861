"""`losslab export EXP ...` and the same outputs for `losslab runs export ID ...`.

    losslab export EXP --script out.py      a standalone PyTorch script (torch and numpy only)
    losslab export EXP --weights w.pt       the trained network's state_dict
    losslab export EXP --torchscript m.pt   the trained network as TorchScript
    losslab export EXP --onnx m.onnx        the trained network as ONNX (needs `pip install losslab[onnx]`)

Any of them together. A script needs no training. Weights, TorchScript and ONNX need a trained
network: `losslab export` trains the experiment first, exactly as `losslab run` would (same seed,
same result), and `losslab runs export ID` uses the weights the run stored. Bad input: exit 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from losslab.core.errors import LossLabError

EXIT_OK = 0
MODEL_OUTPUTS = ("weights", "torchscript", "onnx")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """The --script, --weights, --torchscript and --onnx options (shared with `losslab runs export`)."""
    parser.add_argument("--script", metavar="OUT.py", help="write a standalone PyTorch training script")
    parser.add_argument("--weights", metavar="W.pt", help="write the trained network's state_dict")
    parser.add_argument("--torchscript", metavar="M.pt", help="write the trained network as TorchScript")
    parser.add_argument(
        "--onnx", metavar="M.onnx", help="write the trained network as ONNX (needs: pip install onnx)"
    )


def add_parser(sub: Any) -> None:
    export = sub.add_parser(
        "export",
        help="take an experiment elsewhere: a PyTorch script, weights, TorchScript or ONNX",
        description="Write a standalone PyTorch script of the experiment, and/or the trained network as "
        "a state_dict, TorchScript or ONNX. A script needs no training. For weights, TorchScript and "
        "ONNX the experiment is trained first, as `losslab run` would train it (same seed, same "
        "weights); to export a run you already trained, use `losslab runs export ID --weights ...`.",
    )
    export.add_argument("experiment", help="path to a .losslab file")
    add_output_options(export)
    export.add_argument("--epochs", type=int, help="override the number of epochs (script and training)")
    export.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="train on this device")
    export.add_argument(
        "--trust-code",
        action="store_true",
        help="run the Python code (a custom loss) in the experiment file to train it; read it first",
    )


SUFFIXES = {"script": "py", "weights": "pt", "torchscript": "pt", "onnx": "onnx"}


def _wanted(args: argparse.Namespace) -> list[str]:
    return [name for name in ("script", *MODEL_OUTPUTS) if getattr(args, name, None)]


def cmd_export(args: argparse.Namespace) -> int:
    wanted = _wanted(args)
    if not wanted:
        raise LossLabError("nothing to export: give --script, --weights, --torchscript or --onnx")
    _check_outputs(args)
    path = Path(args.experiment)
    needs_training = any(getattr(args, name) for name in MODEL_OUTPUTS)
    if needs_training:
        from losslab.cli import load_for_training

        path, exp = load_for_training(args)  # trust-checked: training runs the custom loss's code
    else:
        from losslab.core.experiment import load_experiment

        exp = load_experiment(path)  # writing a script runs none of the experiment's code
        if args.epochs is not None:
            if args.epochs < 1:
                raise LossLabError(f"must be at least 1, got {args.epochs}", "--epochs")
            exp = exp.replace("training", epochs=args.epochs)
    if args.script:
        _write_script(exp, args.script, str(path))
    if needs_training:
        from losslab.cli import Progress
        from losslab.core.script_export.models import train_for_export

        print(
            f"losslab: training {path.name} for {exp.training['epochs']} epochs to export it", file=sys.stderr
        )
        trainer = train_for_export(exp, device=args.device, callback=Progress(exp.training["epochs"]))
        _write_models(trainer, args)
    return EXIT_OK


def export_from_run(store: Any, run_id: int, args: argparse.Namespace) -> bool:
    """`losslab runs export ID` with --script/--weights/--torchscript/--onnx: write those from the
    run's stored experiment and final weights. Returns whether any was asked for."""
    if not _wanted(args):
        return False
    _check_outputs(args)
    exp = store.experiment_of(run_id)
    if args.script:
        _write_script(exp, args.script, f"run {run_id} of the run history ({store.path})")
    if any(getattr(args, name) for name in MODEL_OUTPUTS):
        from losslab.core.script_export.models import network_with_weights

        state = store.load_weights(run_id)
        _write_models(network_with_weights(exp, state), args)
    return True


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output can be written, said before any training (not after minutes of it); and ONNX
    is installed when asked for."""
    from losslab.cli import check_writable_folder

    for name in _wanted(args):
        target = Path(getattr(args, name))
        if target.is_dir():
            raise LossLabError(
                f"{target} is a folder; give a file name, such as {target / ('model.' + SUFFIXES[name])}",
                f"--{name}",
            )
        check_writable_folder(target.parent, f"--{name}")
    if getattr(args, "onnx", None):
        from losslab.core.script_export.models import ONNX_MISSING, onnx_available

        if not onnx_available():
            raise LossLabError(ONNX_MISSING, "--onnx")


def _write_script(exp: Any, out: str, source: str) -> None:
    from losslab.core.script_export import write_script

    written = write_script(exp, out, source)
    print(f"losslab: wrote {written} (run it with: python {written})", file=sys.stderr)
    if exp.loss.get("id") == "custom":  # the script runs that code when it is run: say so
        print(
            f"losslab: {written} holds the experiment's custom-loss code; read it before running",
            file=sys.stderr,
        )


def _write_models(trainer: Any, args: argparse.Namespace) -> None:
    from losslab.core.script_export import models

    writers = {
        "weights": models.save_weights,
        "torchscript": models.save_torchscript,
        "onnx": models.save_onnx,
    }
    for name, write in writers.items():
        target = getattr(args, name, None)
        if target:
            print(f"losslab: wrote {write(trainer, target)}", file=sys.stderr)
