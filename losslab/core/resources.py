"""Finds the files LossLab ships (examples, icons) in a source checkout, a wheel or a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resource_dir() -> Path:
    """The folder that holds ``examples/`` and ``icons/``."""
    candidates = []
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if bundle:
        candidates.append(Path(bundle) / "resources")
    package = Path(__file__).resolve().parent.parent
    candidates += [package / "resources", package.parent / "resources"]  # wheel, then checkout
    for candidate in candidates:
        if (candidate / "examples").is_dir():
            return candidate
    return candidates[-1]


def examples_dir() -> Path:
    return resource_dir() / "examples"


def list_examples() -> list[Path]:
    return sorted(examples_dir().glob("*.losslab"))
