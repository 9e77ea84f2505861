"""A trained network as files other programs load: a state_dict, TorchScript or ONNX.

Each export needs trained weights, so the front ends decide where they come from: ``train_for_export``
trains the experiment as ``losslab run`` does; ``network_with_weights`` puts stored weights (a run
from the history) into the network the experiment builds. The exported model is in evaluation mode
(dropout off, batch norm on its running statistics) and takes what LossLab's network takes: the
standardized inputs, flattened for images.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.files import save_bytes_atomic
from losslab.core.runs.weights import state_to_bytes
from losslab.core.script_export.script import refuse_gan
from losslab.core.trainer import Trainer, make_trainer

ONNX_MISSING = (
    "ONNX export needs the onnx package, which is not installed: pip install 'losslab[onnx]' "
    "(or pip install onnx)"
)
EXAMPLE_ROWS = 4  # samples in the example batch that traces the network


def train_for_export(
    experiment: Experiment, epochs: int | None = None, device: str | None = None, callback: Any = None
) -> Trainer:
    """Train ``experiment`` as ``losslab run`` does (one thread, no diagnostics); returns the trainer.

    A run that diverged is exported with its last good weights, as ``losslab run`` saves them.
    """
    trainer = _trainer(experiment, device)
    finished = trainer.run(callback, epochs)
    if finished.diverged is not None:
        trainer.restore_last_good(halve_lr=False)
    return trainer


def network_with_weights(experiment: Experiment, state: Mapping[str, Any]) -> Trainer:
    """A trainer for ``experiment`` (on the CPU) whose network holds ``state`` (a run's stored weights)."""
    trainer = _trainer(experiment, "cpu")
    try:
        trainer.model.load_state_dict(dict(state))
    except RuntimeError as exc:
        raise LossLabError(
            f"the stored weights do not fit the experiment's network ({str(exc).splitlines()[0]})"
        ) from None
    return trainer


def _trainer(experiment: Experiment, device: str | None) -> Trainer:
    trainer = make_trainer(experiment, device=device, threads=1, diagnostics=False)
    refuse_gan(trainer.dataset.task)
    return trainer


def example_input(trainer: Trainer) -> torch.Tensor:
    """A few real (standardized) inputs: validation samples where there are some."""
    x = trainer.x_val if len(trainer.x_val) else trainer.x_train
    return x[:EXAMPLE_ROWS].detach().to("cpu")


def frozen_network(trainer: Trainer) -> nn.Module:
    """The trained network on the CPU in evaluation mode, a copy: the trainer's own is left as it was."""
    import copy

    refuse_gan(trainer.dataset.task)
    net = copy.deepcopy(trainer.model).to("cpu")
    net.eval()
    return net


def save_weights(trainer: Trainer, path: str | os.PathLike[str]) -> Path:
    """The network's state_dict, as ``torch.save`` writes it; load with the script's build_model()."""
    refuse_gan(trainer.dataset.task)
    out = Path(path)
    _write(out, state_to_bytes(trainer.model.state_dict()))
    return out


def save_torchscript(trainer: Trainer, path: str | os.PathLike[str]) -> Path:
    """The network traced to TorchScript: ``torch.jit.load(path)`` runs it without LossLab's code."""
    net = frozen_network(trainer)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that TorchScript is in maintenance; it still works
        traced = torch.jit.trace(net, example_input(trainer))  # type: ignore[no-untyped-call]
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
    out = Path(path)
    _write(out, buffer.getvalue())
    return out


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def save_onnx(trainer: Trainer, path: str | os.PathLike[str]) -> Path:
    """The network as ONNX (opset 17) with a variable batch size: input "input", output "output"."""
    if not onnx_available():
        raise LossLabError(ONNX_MISSING)
    net = frozen_network(trainer)
    with tempfile.TemporaryDirectory() as folder, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        staged = Path(folder) / "model.onnx"  # then copied atomically to where it belongs
        torch.onnx.export(
            net,
            (example_input(trainer),),
            staged,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
        data = staged.read_bytes()
    out = Path(path)
    _write(out, data)
    return out


def _write(out: Path, data: bytes) -> None:
    try:
        save_bytes_atomic(out, data)
    except OSError as exc:
        raise LossLabError(f"cannot write {out}: {exc.strerror or exc}") from None
