"""Trust at the level of experiments: the code an experiment carries, and the refusal to run a file's
code that is not trusted, worded for the door it came through (``--trust-code``, ``trust_code=True``).

The check itself, and the list of trusted hashes, are in code_trust.py: custom_loss compiles no
code that check refuses, whichever door it came through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from losslab.core.code_trust import (
    DATA_DIR_ENV,
    TRUST_FILE,
    allow,
    code_digest,
    data_dir,
    is_trusted,
    shipped_digests,
    trust,
    trust_file,
)
from losslab.core.custom_loss import is_custom
from losslab.core.errors import LossLabError

if TYPE_CHECKING:
    from losslab.core.experiment import Experiment

__all__ = [
    "DATA_DIR_ENV",
    "TRUST_FILE",
    "allow",
    "allow_experiment_code",
    "code_digest",
    "data_dir",
    "experiment_code",
    "is_trusted",
    "require_trusted",
    "shipped_digests",
    "trust",
    "trust_file",
    "untrusted_code",
]


def _loss_section(experiment: Experiment | Mapping[str, Any]) -> Mapping[str, Any] | None:
    loss = experiment.get("loss") if isinstance(experiment, Mapping) else experiment.loss
    return loss if isinstance(loss, Mapping) else None


def experiment_code(experiment: Experiment | Mapping[str, Any]) -> str | None:
    """The code an experiment (an Experiment or its dict) carries, or None."""
    loss = _loss_section(experiment)
    code = loss.get("code") if loss is not None and is_custom(loss) else None
    return code if isinstance(code, str) else None


def allow_experiment_code(experiment: Experiment | Mapping[str, Any]) -> None:
    """Let the experiment's code (if any) run in this process: ``--trust-code``, ``trust_code=True``."""
    code = experiment_code(experiment)
    if code is not None:
        allow(code)


def untrusted_code(experiment: Experiment | Mapping[str, Any]) -> str | None:
    """The experiment's code when it has some that is not trusted yet, else None."""
    code = experiment_code(experiment)
    return code if code is not None and not is_trusted(code) else None


def require_trusted(
    experiment: Experiment | Mapping[str, Any], source: str, how_to_trust: str = "--trust-code"
) -> None:
    """Raise LossLabError unless the experiment's code (if any) is trusted: how ``losslab run`` and the
    API refuse a file's code. ``source`` names the file; ``how_to_trust`` is how the caller's user
    runs it anyway (``--trust-code``, ``trust_code=True``)."""
    if untrusted_code(experiment) is None:
        return
    loss = _loss_section(experiment) or {}
    raise LossLabError(
        f"{source} contains Python code (the custom loss {loss.get('name', '')!r}, in loss.code), and "
        "LossLab does not run code from a file it has not been told to trust. Read the code first "
        f"(opening the file in the LossLab window shows it), then run again with {how_to_trust}."
    )
