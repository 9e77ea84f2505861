"""PySide6's per-import check keeps no module source in memory once lightened (#19's peak memory)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import linecache, sys
import PySide6.QtWidgets
from losslab.gui.pyside_imports import FEATURE_MODULE, _uses_pyside, lighten_import_check
feature = sys.modules[FEATURE_MODULE]
theirs = feature._mod_uses_pyside
import json, losslab.gui.app
for module in (json, losslab.gui.app, sys.modules[FEATURE_MODULE]):  # plain, PySide6, zipped
    assert _uses_pyside(module) == theirs(module), module.__name__
lighten_import_check()
assert feature._mod_uses_pyside is _uses_pyside
linecache.clearcache()
import colorsys, wave  # imported only now: PySide6 checks them on import
kept = [name for name in linecache.cache if name.endswith(("colorsys.py", "wave.py"))]
assert not kept, kept
print("ok")
"""


def test_lightened_check_agrees_and_keeps_no_source():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
