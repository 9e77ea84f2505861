"""Which custom-loss code may run: the one check, made where code is compiled (custom_loss.compile_loss).

Code runs only when it is trusted: it ships with LossLab (the examples), the user said yes to it
once (its SHA-256 is kept in ``trusted_code.json`` in the data folder; the window asks), or the
caller allowed it for this process (``allow``: ``trust_code=True`` in the API, ``--trust-code`` on
the command line, code typed in LossLab's own editor). Every door (window, CLI, API, races)
compiles through custom_loss, so none can run a file's code silently. trust.py holds the
experiment-level helpers built on this.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

from losslab.core.errors import LossLabError
from losslab.core.files import save_text_atomic
from losslab.core.resources import list_examples

DATA_DIR_ENV = "LOSSLAB_DATA_DIR"
TRUST_FILE = "trusted_code.json"
HOW_TO_TRUST = (
    "Read the code first, then open the file in the LossLab window and answer Trust, run "
    "`losslab run` with --trust-code, or pass trust_code=True in Python."
)

_allowed: set[str] = set()  # digests allowed for this process only
_lock = threading.Lock()


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


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
    """Hashes of the code in the examples that ship with LossLab (only a custom loss carries code)."""
    found = set()
    for path in list_examples():
        try:
            loss = json.loads(path.read_text(encoding="utf-8")).get("loss")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(loss, dict) and isinstance(loss.get("code"), str):
            found.add(code_digest(loss["code"]))
    return frozenset(found)


def is_trusted(code: str) -> bool:
    digest = code_digest(code)
    with _lock:
        if digest in _allowed:
            return True
    return digest in shipped_digests() or digest in _stored()


def allow(code: str) -> None:
    """Let ``code`` run in this process without remembering it (trust_code=True, --trust-code)."""
    with _lock:
        _allowed.add(code_digest(code))


def trust(code: str) -> bool:
    """Remember ``code`` as trusted (written atomically). False when the list could not be written;
    the code is then still allowed for this process."""
    allow(code)
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


def check_may_run(code: str, name: str = "") -> None:
    """Raise LossLabError unless ``code`` is trusted (see the module docstring)."""
    if is_trusted(code):
        return
    what = f"the custom loss {name!r}" if name else "this custom-loss code"
    raise LossLabError(
        f"LossLab did not run {what}: it came from outside LossLab and has not been trusted. " + HOW_TO_TRUST,
        "loss.code",
    )
