"""Which custom-loss code may run without asking: a list of SHA-256 hashes in the user data folder.

An experiment file can carry Python code (a custom loss). Code from elsewhere never runs silently:
the window shows it and asks, and remembers a yes by the code's hash (so the same code in another
file, or the file with other settings changed, is not asked about again, while any change to the code
is); ``losslab run`` refuses it unless given ``--trust-code``. Code written in LossLab's own editor
and the examples shipped with LossLab are trusted.

The folder is ``platformdirs.user_data_dir("LossLab")``, or ``$LOSSLAB_DATA_DIR`` when set (tests).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from losslab.core.custom_loss import code_digest, is_custom
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment
from losslab.core.files import save_text_atomic
from losslab.core.resources import list_examples

DATA_DIR_ENV = "LOSSLAB_DATA_DIR"
TRUST_FILE = "trusted_code.json"


def data_dir() -> Path:
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_data_dir("LossLab", appauthor=False))


def trust_file() -> Path:
    return data_dir() / TRUST_FILE


def _stored() -> set[str]:
    try:
        doc = json.loads(trust_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    hashes = doc.get("sha256") if isinstance(doc, dict) else None
    return {h for h in hashes if isinstance(h, str)} if isinstance(hashes, list) else set()


@lru_cache(maxsize=1)
def shipped_digests() -> frozenset[str]:
    """Hashes of the code in the examples that ship with LossLab."""
    found = set()
    for path in list_examples():
        try:
            loss = json.loads(path.read_text(encoding="utf-8")).get("loss")
        except (OSError, ValueError, AttributeError):
            continue
        if is_custom(loss) and isinstance(loss.get("code"), str):
            found.add(code_digest(loss["code"]))
    return frozenset(found)


def is_trusted(code: str) -> bool:
    digest = code_digest(code)
    return digest in shipped_digests() or digest in _stored()


def trust(code: str) -> bool:
    """Remember ``code`` as trusted (written atomically). False when the list could not be written."""
    digest = code_digest(code)
    hashes = _stored()
    if digest in hashes:
        return True
    hashes.add(digest)
    text = json.dumps({"sha256": sorted(hashes)}, indent=1) + "\n"
    try:
        save_text_atomic(trust_file(), text)
    except OSError:
        return False
    return True


def _loss_section(experiment: Experiment | Mapping[str, Any]) -> Mapping[str, Any] | None:
    loss = experiment.get("loss") if isinstance(experiment, Mapping) else experiment.loss
    return loss if isinstance(loss, Mapping) else None


def experiment_code(experiment: Experiment | Mapping[str, Any]) -> str | None:
    """The code an experiment (an Experiment or its dict) carries, or None."""
    loss = _loss_section(experiment)
    code = loss.get("code") if loss is not None and is_custom(loss) else None
    return code if isinstance(code, str) else None


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
