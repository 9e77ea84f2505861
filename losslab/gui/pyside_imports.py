"""PySide6 reads every module imported after it, to see whether it uses PySide6: keep that cheap.

PySide6's ``__feature__`` support checks each newly imported module with ``inspect.getsource``,
which keeps the whole source of every module in ``linecache`` for the life of the process. For
torch's ~1,100 modules that was 44 MB of the window's memory and ~0.1 s of the engine's import
(#19). The same check without the cache reads the source from the module's loader and lets it go.
If PySide6's internals change, its own check stays: only the saving is lost.
"""

from __future__ import annotations

import sys
from types import ModuleType

FEATURE_MODULE = "PySide6.support.feature"  # where PySide6 keeps the check (_mod_uses_pyside)


def _uses_pyside(module: ModuleType) -> bool:
    """PySide6's own test, "the module's source mentions PySide6", without keeping the source."""
    loader = getattr(module, "__loader__", None)
    try:
        source = loader.get_source(module.__name__)  # type: ignore[union-attr]
    except Exception:  # no loader, no source, or not decodable: PySide6's check says False then too
        return False
    return bool(source) and "PySide6" in source


def lighten_import_check() -> None:
    """Replace PySide6's per-import check with ``_uses_pyside`` (call once PySide6 is imported)."""
    feature = sys.modules.get(FEATURE_MODULE)
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = _uses_pyside
