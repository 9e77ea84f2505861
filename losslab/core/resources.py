"""Finds the files LossLab ships (examples, icons, lessons) in every layout it runs from.

The top-level ``resources/`` folder of the repository is the one source. It is found as

- ``losslab/resources`` inside an installed wheel (pyproject.toml maps the folder into the package),
- ``losslab/resources`` inside a PyInstaller bundle (packaging/losslab.spec puts it there), and
- ``resources/`` next to the ``losslab`` package in a source checkout or an editable install.

Nothing here touches the network or the current working directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from losslab.core.errors import LossLabError

MARKER = "examples"  # a folder every complete resource tree has


def _candidates() -> list[Path]:
    package = Path(__file__).resolve().parent.parent  # the losslab package folder
    candidates = [package / "resources"]  # wheel, and a frozen bundle (__file__ lies in it)
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller's folder, in case __file__ is unusual
    if bundle:
        candidates.append(Path(bundle) / "losslab" / "resources")
    candidates.append(package.parent / "resources")  # source checkout / editable install
    return candidates


def resource_dir() -> Path:
    """The folder that holds ``examples/`` (and ``icons/``, ``lessons/`` when they exist)."""
    candidates = _candidates()
    for candidate in candidates:
        if (candidate / MARKER).is_dir():
            return candidate
    return candidates[-1]


def resource_path(*parts: str) -> Path:
    """The path of one shipped file or folder, e.g. ``resource_path("icons", "losslab.png")``.

    Raises LossLabError naming the file and where it was looked for when it is missing (a broken
    install, not a user mistake, but the message should still say what is wrong).
    """
    path = resource_dir().joinpath(*parts)
    if not path.exists():
        looked = ", ".join(str(c) for c in _candidates())
        name = "/".join(parts)
        raise LossLabError(f"LossLab's file {name} is missing (looked in {looked}); reinstall LossLab")
    return path


def examples_dir() -> Path:
    return resource_dir() / "examples"


def list_examples() -> list[Path]:
    return sorted(examples_dir().glob("*.losslab"))
