"""torch.optim optimizers that never load torch.compile's machinery.

torch.optim marks the methods LossLab calls (add_param_group, zero_grad, state_dict,
load_state_dict, step and the fused update functions) for torch.compile: the first call of each
imports ``torch._dynamo``, and ``step`` imports it on every call. With sympy that is ~80 MB and
~0.5 s, a sixth of the window's memory after a first training (#19), for a compiler LossLab never
uses. ``build_eager`` makes one optimizer skip it: each compile-disabling wrapper is told it is already
disabled (its own cache attribute), and ``step`` calls the undecorated update under ``no_grad``,
which is what the decorator does outside torch.compile; ``zero_grad`` skips its profiler record
too (both were ~10% of a small MLP's step, #19). If torch changes these internals, the
optimizer is left as torch made it: it trains the same, only with the import.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable
from typing import Any

_CACHE = "__dynamo_disable"  # where torch._compile's wrapper caches its disabled function
_prepared = False


def _wrapper_code() -> types.CodeType | None:
    """The code object of torch's lazy compile-disabling wrapper (torch._compile._disable_dynamo)."""
    try:
        from torch._compile import _disable_dynamo
    except ImportError:
        return None
    code: types.CodeType = _disable_dynamo(lambda: None).__code__
    return code


def _functions_in(fn: Any, seen: set[int]) -> list[types.FunctionType]:
    """``fn`` and every function it wraps or closes over, one level of decoration at a time."""
    found: list[types.FunctionType] = []
    stack = [fn]
    while stack:
        f = stack.pop()
        if not isinstance(f, types.FunctionType) or id(f) in seen:
            continue
        seen.add(id(f))
        found.append(f)
        stack.append(getattr(f, "__wrapped__", None))
        for cell in f.__closure__ or ():
            with contextlib.suppress(ValueError):  # an empty cell has no contents
                stack.append(cell.cell_contents)
    return found


def _mark_disabled() -> None:
    """Tell every compile-disabling wrapper in torch.optim that its function needs no disabling."""
    code = _wrapper_code()
    if code is None:
        return
    seen: set[int] = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("torch.optim") or module is None:
            continue
        for value in list(vars(module).values()):
            candidates = list(vars(value).values()) if isinstance(value, type) else [value]
            for candidate in candidates:
                for f in _functions_in(candidate, seen):
                    if f.__code__ is code and "fn" in code.co_freevars:
                        inner = f.__closure__[code.co_freevars.index("fn")].cell_contents  # type: ignore[index]
                        if getattr(inner, _CACHE, None) is None:
                            setattr(inner, _CACHE, inner)


def _undecorated(step: Any) -> Any:
    """An optimizer class's own ``step`` body, under the profiler hook and the no_grad decorator."""
    while hasattr(step, "__wrapped__"):
        step = step.__wrapped__
    return step if getattr(step, "__name__", None) == "step" else None


def _eager_step(self: Any, closure: Any = None) -> Any:
    """``step`` as the decorator runs it outside torch.compile: the update under no_grad."""
    import torch

    with torch.no_grad():
        return _undecorated(type(self).step)(self, closure)


def _eager_zero_grad(self: Any, set_to_none: bool = True) -> None:
    """``zero_grad`` without its profiler record: the gradients set to None (zeroed by torch's own
    code when ``set_to_none`` is False)."""
    if not set_to_none:
        type(self).zero_grad(self, False)
        return
    for group in self.param_groups:
        for p in group["params"]:
            p.grad = None


def build_eager(build: Callable[[], Any]) -> Any:
    """The optimizer ``build()`` makes, made and used without torch._dynamo (see the module doc)."""
    global _prepared
    import torch.optim  # noqa: F401  (all of torch.optim's modules, for _mark_disabled)

    if not _prepared:
        _prepared = True
        _mark_disabled()  # before building: the constructor calls add_param_group
    optimizer = build()
    if _undecorated(type(optimizer).step) is not None and not optimizer.defaults.get("differentiable"):
        # A bound method, not a closure: copy.deepcopy then binds it to the copy.
        optimizer.step = types.MethodType(_eager_step, optimizer)
        optimizer.zero_grad = types.MethodType(_eager_zero_grad, optimizer)
    return optimizer
