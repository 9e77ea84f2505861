"""The LossLab window (PySide6 + pyqtgraph) over losslab.core. ``losslab.gui.MainWindow`` is the window.

Importing this package loads no Qt; ``MainWindow`` is imported when first asked for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MainWindow"]


def __getattr__(name: str) -> Any:
    if name == "MainWindow":
        from losslab.gui.main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module 'losslab.gui' has no attribute {name!r}")
