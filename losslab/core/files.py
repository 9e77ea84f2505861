"""Files in and out: atomic writes (a crash or a full disk never leaves half a file where the old one
was) and one guarded door for the files a user names (regular files of a sane size only)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from losslab.core.errors import LossLabError

MB = 1024 * 1024
EXPERIMENT_MAX_BYTES = 16 * MB  # a .losslab file is a few kB; even one with long custom code is tiny
CSV_MAX_BYTES = 512 * MB


def check_user_file(path: str | bytes | os.PathLike[str], max_bytes: int, what: str) -> Path:
    """``path`` if it is a regular file of at most ``max_bytes``, else a LossLabError saying why.

    Checked before anything is opened: a folder, a pipe (which would block forever), a device such
    as /dev/zero (which never ends) or a huge file is refused with its kind or its size.
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise LossLabError(f"the path of {what} must be text or a Path, got {type(path).__name__}")
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise LossLabError(f"no such file: {path}") from None
    except OSError as exc:
        raise LossLabError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character, which no file name can hold
        raise LossLabError(f"{str(path)!r} is not a path: it holds a NUL character") from None
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


# -- a set of files that belong together (the outputs of a run) ---------------------------------
#
# Each file alone is replaced atomically, but a run's history.csv, weights.pt and experiment.losslab
# must also agree with each other: a kill between two of them would leave a new history beside old
# weights. Folders cannot be swapped atomically and portably (and swapping the output folder itself
# would move whatever else the user keeps there, or the current folder for `--out .`), so a set is
# saved with a journal, which needs nothing but rename:
#   1. every file goes into the staging folder SAVING inside the output folder, each fsynced;
#   2. MANIFEST (the names) is written atomically into it: the commit point;
#   3. each staged file is renamed over its old one; then the staging folder goes.
# A crash before 2 leaves the old set (the staging folder is junk); after 2 the new set is complete
# on disk and ``recover_file_set`` finishes the renames: `losslab run` calls it before it trains, and
# every save calls it first. Only the renames of step 3 (microseconds) can be cut short, and what they
# leave is marked by the manifest, never silently mixed.
SAVING = ".losslab-saving"
MANIFEST = "MANIFEST"


def save_file_set(folder: str | os.PathLike[str], files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> content) into ``folder`` as one set: a crash leaves the old or the new."""
    folder = Path(folder)
    for name in files:
        if Path(name).name != name or name in (SAVING, MANIFEST):
            raise ValueError(f"not a plain file name: {name!r}")  # a programming error, not the user's
    try:
        _save_set(folder, files)
    except OSError as exc:  # a full disk, a read-only folder, a path through a file
        raise LossLabError(f"cannot write into {folder}: {exc.strerror or exc}") from None


def _save_set(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _recover(folder)
    staging = folder / SAVING
    staging.mkdir()
    for name, data in files.items():
        save_bytes_atomic(staging / name, data)
    _sync_folder(staging)
    save_text_atomic(staging / MANIFEST, "\n".join(files) + "\n")
    _sync_folder(staging)
    _recover(folder)


def recover_file_set(folder: str | os.PathLike[str]) -> None:
    """Finish a set save that a crash interrupted after its commit point, or drop one from before it."""
    try:
        _recover(Path(folder))
    except OSError as exc:
        raise LossLabError(f"cannot finish the save interrupted in {folder}: {exc.strerror or exc}") from None


def _recover(folder: Path) -> None:
    staging = folder / SAVING
    if not staging.is_dir():
        return
    manifest = staging / MANIFEST
    if manifest.is_file():
        for name in manifest.read_text(encoding="utf-8").splitlines():
            staged = staging / name
            if staged.exists():  # renamed already when the crash came after this one
                os.replace(staged, folder / name)
        _sync_folder(folder)
    shutil.rmtree(staging)
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (POSIX; Windows cannot open a folder for fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
