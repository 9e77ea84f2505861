"""Classroom settings an experiment or lesson file may carry: which panels are locked or hidden.

As TensorFlow Playground's page options do, an instructor can freeze the parts of the window that a
lesson is not about (``"lock": ["dataset", "model"]``: shown, not editable) or remove them from view
(``"hide": ["regularization"]``, ``"hide_tabs": ["landscape"]``). The sections are the experiment's
own; tab ids belong to the window, which reports ones it does not know.
"""

from __future__ import annotations

import re
from typing import Any

from losslab.core.errors import LossLabError

SECTIONS = ("dataset", "model", "loss", "optimizer", "training", "regularization")
KEYS = ("lock", "hide", "hide_tabs")
_TAB_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")  # a tab objectName, "View" optional


def empty() -> dict[str, list[str]]:
    return {key: [] for key in KEYS}


def is_empty(section: dict[str, list[str]]) -> bool:
    return not any(section.get(key) for key in KEYS)


def validate_classroom(value: Any, where: str = "classroom") -> dict[str, list[str]]:
    """``{"lock": [...], "hide": [...], "hide_tabs": [...]}`` checked, each list without repeats."""
    if value is None:
        return empty()
    if not isinstance(value, dict):
        raise LossLabError(f"must be an object like {{'lock': ['dataset']}}, got {value!r}", where)
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise LossLabError(
            f"unknown key {unknown[0]!r} (allowed: {', '.join(KEYS)})", f"{where}.{unknown[0]}"
        )
    out = empty()
    for key in KEYS:
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise LossLabError(f"must be a list of names, got {items!r}", f"{where}.{key}")
        for item in items:
            if key == "hide_tabs":
                if not _TAB_ID.match(item):
                    raise LossLabError(
                        f"{item!r} is not a tab id (such as 'landscape' or 'lossInspector')", f"{where}.{key}"
                    )
            elif item not in SECTIONS:
                raise LossLabError(f"unknown panel {item!r}; known: {', '.join(SECTIONS)}", f"{where}.{key}")
            if item not in out[key]:
                out[key].append(item)
    return out
