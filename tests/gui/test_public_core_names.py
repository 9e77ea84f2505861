"""The window uses the core only through its public names.

Every module under losslab/gui is read with ``ast`` (nothing is imported): importing a private name
from losslab.core (``from losslab.core.x import _helper``, a private module ``losslab.core._x``) or
reading a private attribute of something imported from the core (``landscape._flat``,
``Trainer._step``) fails. Dunders (``__name__``) are public.
"""

from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "losslab" / "gui"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_core(module: str | None) -> bool:
    return module is not None and (module == "losslab.core" or module.startswith("losslab.core."))


def private_core_uses(source: str, filename: str = "<source>") -> list[str]:
    """Each use of a private core name in ``source``, as 'line: what'."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    core_names: set[str] = set()  # local names bound to core modules or to things imported from them
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_core(node.module):
            assert node.module is not None
            if any(_private(part) for part in node.module.split(".")):
                found.append(f"{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                core_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_core(alias.name):
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"{node.lineno}: import {alias.name}")
                    core_names.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in core_names:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_checker_finds_private_names():
    source = (
        "from losslab.core.landscape import _flat, grid\n"
        "from losslab.core import trainer as t\n"
        "import losslab.core.losses\n"
        "from losslab.core._hidden import x\n"
        "t._step\n"
        "losslab.core.losses._REGISTRY\n"
        "grid.__name__\n"
        "self._private_of_the_gui\n"
    )
    found = private_core_uses(source)
    assert [f.split(":")[0] for f in found] == ["1", "4", "5", "6"], found


def test_gui_uses_only_public_core_names():
    files = sorted(GUI.rglob("*.py"))
    assert len(files) > 20
    problems = [
        f"{path.relative_to(GUI.parent.parent)}:{use}"
        for path in files
        for use in private_core_uses(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not problems, "private core names used by the window:\n" + "\n".join(problems)
