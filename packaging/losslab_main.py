"""Entry point of the frozen (PyInstaller) LossLab: the same `losslab` command line as the wheel's.

`LossLab` opens the window, `LossLab --self-test` checks the install, `LossLab run EXP` trains
headless. The windowed-mode pitfalls are handled here, before LossLab itself starts:

- multiprocessing.freeze_support(), so a spawned child (none today; DataLoader workers are never
  used: the trainer indexes tensors itself) runs its task instead of a second LossLab;
- a windowed app on Windows has no console: when started from a terminal it attaches to that
  terminal's console so `--self-test` and `run` print there; with no terminal at all, stdout and
  stderr go to os.devnull (writes to None would raise) and the self-test shows its result in a
  dialog and a report file instead.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def _attach_parent_console() -> None:
    """Windows only: print to the console of the terminal that started this windowed exe, if any."""
    if sys.platform != "win32" or (sys.stdout is not None and sys.stderr is not None):
        return
    import ctypes

    attach_parent_process = -1
    if not ctypes.windll.kernel32.AttachConsole(attach_parent_process):
        return  # started from Explorer or a shortcut: there is no console
    try:
        sys.stdout = open("CONOUT$", "w", encoding="utf-8", errors="replace")  # noqa: SIM115
        sys.stderr = sys.stdout
    except OSError:
        pass


def _ensure_streams() -> None:
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def main() -> int:
    multiprocessing.freeze_support()
    _attach_parent_console()
    _ensure_streams()  # the self-test sees os.devnull as "no console" and reports in a dialog
    from losslab.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
