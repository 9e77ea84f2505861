"""Files in and out: atomic writes (a crash or a full disk never leaves half a file where the old one
was) and one guarded door for the files a user names (regular files of a sane size only)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from losslab.core.errors import LossLabError

MB = 1024 * 1024
EXPERIMENT_MAX_BYTES = 16 * MB  # a .losslab file is a few kB; even one with long custom code is tiny
CSV_MAX_BYTES = 512 * MB


def check_user_file(path: str | os.PathLike[str], max_bytes: int, what: str) -> Path:
    """``path`` if it is a regular file of at most ``max_bytes``, else a LossLabError saying why.

    Checked before anything is opened: a folder, a pipe (which would block forever), a device such
    as /dev/zero (which never ends) or a huge file is refused with its kind or its size.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise LossLabError(f"no such file: {path}") from None
    except OSError as exc:
        raise LossLabError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise LossLabError(f"{path} is a folder, not {what}; give the path of the file inside it")
    if not stat.S_ISREG(info.st_mode):
        kind = "a pipe" if stat.S_ISFIFO(info.st_mode) else "a device or special file"
        raise LossLabError(f"{path} is {kind}, not {what}; give the path of a regular file")
    if info.st_size > max_bytes:
        raise LossLabError(
            f"{path} is {info.st_size / MB:,.0f} MB, more than {what} can be "
            f"(at most {max_bytes // MB} MB); check that it is the right file"
        )
    return path


def save_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_text_atomic(path: Path, text: str) -> None:
    save_bytes_atomic(path, text.encode("utf-8"))
