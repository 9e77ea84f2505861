"""Before Qt starts on Linux: are the system libraries its xcb plugin needs there, and is there a display?

A pip install brings Qt but not these Debian/Ubuntu packages; without them Qt prints a cryptic
"could not load the Qt platform plugin" and aborts the process, so nothing after it can explain.
This checks first (dlopen of each library by its soname, a few milliseconds) and says which
packages to install, in one apt line.
"""

from __future__ import annotations

import ctypes
import os
import sys

# soname -> the Debian/Ubuntu package that ships it (what Qt 6's xcb platform plugin loads).
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}
APT_LINE = "sudo apt install " + " ".join(XCB_LIBRARIES.values())


def _uses_xcb() -> bool:
    """Linux with the default or the xcb platform (not offscreen, not Wayland)."""
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.startswith("xcb")
    return not os.environ.get("WAYLAND_DISPLAY")


def missing_packages() -> list[str]:
    """The packages whose library cannot be loaded, in XCB_LIBRARIES order (empty when all are)."""
    missing = []
    for soname, package in XCB_LIBRARIES.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(package)
    return missing


def display_problem() -> str | None:
    """A message saying what to install or set before the window can open, or None when it can."""
    if not _uses_xcb():
        return None
    if not os.environ.get("DISPLAY"):
        return (
            "there is no display to open the window on (DISPLAY is not set). Run LossLab from a "
            "desktop session; on a server, `losslab run EXP` trains without a window and "
            "`QT_QPA_PLATFORM=offscreen losslab --self-test` checks the window offscreen."
        )
    missing = missing_packages()
    if not missing:
        return None
    return (
        f"the window needs system libraries that pip does not install (missing: {', '.join(missing)}). "
        f"On Debian or Ubuntu install them with:\n  {APT_LINE}\n"
        "(Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-renderutil "
        "xcb-util-image libxkbcommon-x11)"
    )
