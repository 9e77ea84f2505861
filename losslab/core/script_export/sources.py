"""LossLab's own functions as source text, with everything they use, for an exported script.

The script must generate the same data, build the same layers and compute the same loss as LossLab
does; copying LossLab's functions (``inspect.getsource``) instead of writing them a second time means
there is no copy that can drift. ``collect`` follows each function's global names (from its
bytecode, so an attribute such as ``rng.uniform`` is not mistaken for a global ``uniform``) and
brings along the LossLab functions and classes it calls and the constants it reads.
"""

from __future__ import annotations

import ast
import dis
import inspect
import sys
import textwrap
import types
from collections.abc import Iterable, Iterator
from typing import Any

from losslab.core.errors import LossLabError

# Modules the script imports at its top under these names; a LossLab function may use them freely.
SCRIPT_IMPORTS: dict[str, str] = {
    "math": "import math",
    "np": "import numpy as np",
    "torch": "import torch",
    "nn": "from torch import nn",
    "F": "import torch.nn.functional as F",
}
_statements: dict[str, dict[str, str]] = {}  # module name -> {constant name: its assignment's source}


def _global_names(code: types.CodeType) -> Iterator[str]:
    """The global names a code object (and the functions and comprehensions nested in it) loads."""
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str):
            yield ins.argval
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


_HEADER_NAMES = frozenset({"Any", "Tensor"})  # the script's header imports these itself


def _annotation_names(obj: Any) -> Iterator[str]:
    """The names used in the (string) annotations of a function, or of a class's methods."""
    funcs = (
        [obj]
        if isinstance(obj, types.FunctionType)
        else [v for v in vars(obj).values() if isinstance(v, types.FunctionType)]
    )
    for func in funcs:
        for note in inspect.get_annotations(func).values():
            if isinstance(note, str):
                for node in ast.walk(ast.parse(note, mode="eval")):
                    if isinstance(node, ast.Name):
                        yield node.id


def _codes(obj: Any) -> Iterator[types.CodeType]:
    if isinstance(obj, types.FunctionType):
        yield obj.__code__
        return
    for value in vars(obj).values():  # a class: its methods
        func = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if isinstance(func, types.FunctionType):
            yield func.__code__


def _assignment(scope: dict[str, Any], name: str) -> str | None:
    """The source of the module-level statement that assigns ``name`` in the module ``scope`` is."""
    module = scope.get("__name__", "")
    if module not in _statements:
        found: dict[str, str] = {}
        try:
            text = inspect.getsource(sys.modules[module])
        except (KeyError, OSError, TypeError):
            text = ""
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    found[target.id] = ast.get_source_segment(text, node) or ""
        _statements[module] = found
    return _statements[module].get(name) or None


def _home_of(name: str, value: Any, scope: dict[str, Any]) -> dict[str, Any]:
    """The scope of the LossLab module that assigns ``name`` (one module may import another's constant)."""
    if _assignment(scope, name) is not None:
        return scope
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("losslab.") and getattr(module, name, None) is value:
            home = vars(module)
            if _assignment(home, name) is not None:
                return home
    return scope


def _is_ours(obj: Any) -> bool:
    return isinstance(obj, (types.FunctionType, type)) and obj.__module__.startswith("losslab.")


class Collector:
    """Gathers functions, classes and constants in the order a script must define them."""

    def __init__(self, imports: set[str] | None = None) -> None:
        # ``imports``: lines such as "from collections.abc import Iterable" the annotations of the
        # copied code need; shared between collectors, so the script's header can hold them all.
        self.imports: set[str] = imports if imports is not None else set()
        self._sources: list[str] = []
        self._constants: dict[str, str] = {}
        self._seen: dict[str, Any] = {}  # name -> object emitted under it

    def add(self, obj: Any) -> str:
        """Bring ``obj`` (a LossLab function or class) and what it uses; returns the name to call it by."""
        name: str = obj.__name__
        if name in self._seen:
            if self._seen[name] is not obj:
                raise LossLabError(f"two different LossLab functions are both called {name}; cannot export")
            return name
        self._seen[name] = obj
        module = inspect.getmodule(obj)
        scope: dict[str, Any] = vars(module) if module is not None else {}
        for code in _codes(obj):
            for ref in _global_names(code):
                self._need(ref, scope, name)
        for ref in _annotation_names(obj):
            self._need_for_annotation(ref, scope)
        self._sources.append(textwrap.dedent(inspect.getsource(obj)).rstrip() + "\n")
        return name

    def _need(self, ref: str, scope: dict[str, Any], user: str) -> None:
        if ref not in scope:
            return  # a builtin, or a name the function imports itself
        value = scope[ref]
        if isinstance(value, types.ModuleType):
            if ref not in SCRIPT_IMPORTS:
                raise LossLabError(f"{user} uses the module {ref}, which an exported script does not import")
            return
        if _is_ours(value):
            self.add(value)
            return
        home = _home_of(ref, value, scope)
        statement = _assignment(home, ref)
        if statement is not None:  # a module-level constant: its own line, so it reads as LossLab wrote it
            code = compile(statement, f"<{ref}>", "exec")
            for dep in _global_names(code):
                if dep != ref and not dep.startswith("__"):
                    self._need(dep, home, ref)
            self._add_constant(ref, statement)
            return
        if ref in SCRIPT_IMPORTS:
            return
        raise LossLabError(f"{user} uses {ref} ({type(value).__name__}), which cannot be put in a script")

    def _need_for_annotation(self, ref: str, scope: dict[str, Any]) -> None:
        """Annotations are never evaluated (the script starts with ``from __future__ import
        annotations``), but a reader, and a linter, should find every name they use."""
        if ref not in scope or ref in SCRIPT_IMPORTS or ref in _HEADER_NAMES:
            return
        value = scope[ref]
        if isinstance(value, (types.GenericAlias, types.UnionType)):
            self._add_constant(ref, f"{ref} = {value!r}")
        elif isinstance(value, type) and value.__module__.startswith("losslab."):
            return  # a LossLab class named only in an annotation is not needed to run
        elif getattr(value, "__module__", None) and not isinstance(value, types.ModuleType):
            self.imports.add(f"from {value.__module__} import {ref}")

    def _add_constant(self, name: str, text: str) -> None:
        if self._constants.setdefault(name, text) != text:
            raise LossLabError(f"two LossLab constants are both called {name}; cannot export")

    def text(self) -> str:
        """Constants first, then each definition after the ones it uses."""
        parts = []
        if self._constants:
            parts.append("\n".join(self._constants.values()) + "\n")
        parts.extend(self._sources)
        return "\n\n".join(parts)


def sources_of(objs: Iterable[Any]) -> str:
    """The source of ``objs`` and everything they use, ready to paste into a script."""
    collector = Collector()
    for obj in objs:
        collector.add(obj)
    return collector.text()
