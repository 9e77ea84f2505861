"""Trims what PyInstaller's Qt hooks collect to what a desktop LossLab can use (used by losslab.spec).

PySide6's hooks collect every Qt plugin of the modules in use, and binary analysis then copies
the libraries those plugins link to from the build machine. Several plugins are for kiosks and
embedded boards (eglfs, linuxfb, vnc, evdev/tuio input), and the GTK platform theme pulls the
build machine's whole GTK/cairo/pango stack into the bundle, where it can clash with the GTK of the
laptop it runs on. LossLab draws with Qt's raster engine and reads PNG and SVG only.

``prune(binaries, datas)`` drops those plugins, then (Linux only, where it is tested) every
library copied from the build machine that nothing left in the bundle links to.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Callable, Iterable
from pathlib import PurePath

# Qt plugin folders and files a desktop LossLab never loads. Paths are relative to .../plugins/.
DROPPED_PLUGIN_DIRS = (
    "egldeviceintegrations",
    "generic",
    "sqldrivers",
    "tls",
    "networkinformation",
    "qmltooling",
    "designer",
    "printsupport",
)
DROPPED_PLUGINS = (
    # kiosks, embedded, remote: eglfs, linuxfb, minimal EGL, VNC, Vulkan KHR display
    "platforms/*qeglfs*",
    "platforms/*qlinuxfb*",
    "platforms/*qminimalegl*",
    "platforms/*qvnc*",
    "platforms/*qvkkhrdisplay*",
    # the GTK3 theme: needs the build machine's GTK stack; Qt's own Fusion style looks the same
    "platformthemes/*qgtk3*",
    # image formats LossLab never reads (PNG is built into QtGui; SVG and ICO stay)
    "imageformats/*qgif*",
    "imageformats/*qjpeg*",
    "imageformats/*qtiff*",
    "imageformats/*qwebp*",
    "imageformats/*qtga*",
    "imageformats/*qwbmp*",
    "imageformats/*qicns*",
    "imageformats/*qpdf*",
)

Entry = tuple[str, str, str]  # PyInstaller TOC entry: (dest name, source path, type)


def qt_plugin_path(dest: str) -> str | None:
    """The part after ``plugins/`` for a Qt plugin's bundle path, else None."""
    parts = PurePath(dest).parts
    if "plugins" in parts and ("PySide6" in parts or "Qt" in parts):
        i = len(parts) - 1 - parts[::-1].index("plugins")
        return "/".join(parts[i + 1 :])
    return None


def is_dropped_plugin(dest: str) -> bool:
    rel = qt_plugin_path(dest)
    if rel is None:
        return False
    if rel.split("/")[0] in DROPPED_PLUGIN_DIRS:
        return True
    return any(PurePath(rel).match(pattern) for pattern in DROPPED_PLUGINS)


def is_dependency_slot(dest: str) -> bool:
    """Libraries that binary analysis copied in for someone else (not collected for their own sake)."""
    parent = PurePath(dest).parent.as_posix()
    name = PurePath(dest).name
    if name.startswith("libpython"):  # loaded by the bootloader, not linked by anything
        return False
    return parent in (".", "PySide6/Qt/lib")


def prune_unlinked(entries: list[Entry], needed: Callable[[str], Iterable[str]]) -> list[Entry]:
    """Drop dependency-slot libraries that no remaining binary links to, directly or indirectly.

    ``needed(source_path)`` gives the names a binary links to (ELF NEEDED). Binaries collected for
    their own sake (extension modules, plugins, torch's libraries) are the roots.
    """
    files = [e for e in entries if e[2] != "SYMLINK"]
    by_name = {PurePath(e[0]).name: e for e in files if is_dependency_slot(e[0])}
    keep: set[str] = set()
    todo = [src for dest, src, _ in files if not is_dependency_slot(dest)]
    seen: set[str] = set()
    while todo:
        src = todo.pop()
        if src in seen:
            continue
        seen.add(src)
        for name in needed(src):
            hit = by_name.get(PurePath(name).name)
            if hit is not None and hit[0] not in keep:
                keep.add(hit[0])
                todo.append(hit[1])
    kept = [e for e in files if not is_dependency_slot(e[0]) or e[0] in keep]
    return kept + kept_symlinks(entries, {e[0] for e in kept})


def kept_symlinks(entries: list[Entry], kept_files: set[str]) -> list[Entry]:
    """Symlink entries (dest, target relative to dest's folder, "SYMLINK") whose target is kept."""
    out = []
    for dest, target, kind in entries:
        if kind == "SYMLINK":
            folder = posixpath.dirname(PurePath(dest).as_posix())
            resolved = posixpath.normpath(posixpath.join(folder, target))
            if resolved in kept_files:
                out.append((dest, target, kind))
    return out


def pyinstaller_needed(path: str) -> list[str]:
    """The shared libraries a binary links to, as PyInstaller's own analysis sees them (ldd on Linux)."""
    from PyInstaller.depend import bindepend

    return [name for name, _ in bindepend.get_imports(path)]


def prune(
    binaries: list[Entry], datas: list[Entry], needed: Callable[[str], Iterable[str]] | None = None
) -> tuple[list[Entry], list[Entry], list[str]]:
    """(binaries, datas, names of what was dropped). Unlinked libraries are pruned on Linux only."""
    kept_bin = [e for e in binaries if not is_dropped_plugin(e[0])]
    kept_data = [e for e in datas if not is_dropped_plugin(e[0])]
    if sys.platform.startswith("linux"):
        kept_bin = prune_unlinked(kept_bin, needed or pyinstaller_needed)
    # PyInstaller lists the links it makes to libraries (top level -> PySide6/Qt/lib) among the data.
    files = {e[0] for e in [*kept_bin, *kept_data] if e[2] != "SYMLINK"}
    kept_data = [e for e in kept_data if e[2] != "SYMLINK"] + kept_symlinks(kept_data, files)
    kept = {e[0] for e in kept_bin} | {e[0] for e in kept_data}
    dropped = sorted({e[0] for e in [*binaries, *datas]} - kept)
    return kept_bin, kept_data, dropped
