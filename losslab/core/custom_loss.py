"""Custom losses: a user's ``def loss(pred, target)``, checked on a real batch and wrapped as a LossSpec.

In an experiment a custom loss is a loss section like::

    {"id": "custom", "params": {}, "name": "Asymmetric", "tasks": ["regression"], "output": "raw",
     "code": "def loss(pred, target):\\n    return ((pred - target) ** 2).mean()\\n"}

``tasks`` says which kinds of data the code handles and ``output`` what ``pred`` holds: "raw"
values (regression, or scores for margin losses), "logits", or "probabilities" (LossLab then adds a
sigmoid, or a softmax for several classes, after the last layer). The shapes are those of the
built-in losses: regression and binary ``pred`` (N,) float, ``target`` (N,) float (regression
targets are standardized; binary labels are 0 and 1); multi-class ``pred`` (N, K) float,
``target`` (N,) int64. ``torch``, ``math`` and ``F`` (torch.nn.functional) are in scope.

Safety: loading a section only parses the code (``ast.parse`` runs nothing). The code runs when a
loss is built from it: the front ends ask first for code from elsewhere (see trust.py). Every loop
in the code counts against a time limit per call, so a loop that never ends becomes a clear error,
and ``check_custom_loss`` runs in a short-lived thread, so even a stuck call cannot hang its caller.

Every failure becomes a ``CustomLossError`` with the line of the user's code it happened on and a
message a student can act on.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import html
import math
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from losslab.core.code_trust import allow, check_may_run, code_digest
from losslab.core.errors import LossLabError
from losslab.core.losses import LossSpec, register_loss_kind
from losslab.core.params import shown, validate_params
from losslab.core.tasks import BINARY, MULTICLASS, REGRESSION, TASKS

if TYPE_CHECKING:
    from torch import Tensor

    from losslab.core.data import Dataset

T = TypeVar("T")
CUSTOM_ID = "custom"
CODE_FILENAME = "<your loss>"  # what tracebacks call the user's code; how its frames are found
DEFAULT_NAME = "My loss"
MAX_NAME_CHARS = 60
MAX_CODE_CHARS = 20_000
CUSTOM_TASKS = (REGRESSION, BINARY, MULTICLASS)  # GANs need two losses; not for a custom one
OUTPUTS: dict[str, str] = {
    "raw": "raw values (regression) or scores (margin losses); no activation",
    "logits": "logits: any real number, the loss applies the sigmoid/softmax itself",
    "probabilities": "probabilities: LossLab adds a sigmoid (softmax for several classes) after the "
    "last layer",
}
SECTION_KEYS = ("id", "params", "name", "code", "tasks", "output")
CHECK_SECONDS = 2.0  # time limit of one call while checking
TRAIN_SECONDS = 10.0  # time limit of one call while training
CHECK_BATCH = 64
IN_SCOPE = ("torch", "math", "F")

_TICK = "__losslab_tick__"
_TICKING = "__losslab_ticking__"
_TARGETS = {
    REGRESSION: "real values (standardized: mean 0, standard deviation 1), shape (N,)",
    BINARY: "labels 0 and 1 as floats, shape (N,)",
    MULTICLASS: "integer class labels 0 … K−1 (int64), shape (N,); pred has shape (N, K)",
}


class CustomLossError(LossLabError):
    """A problem with a custom loss's code; ``line`` is the line of that code it belongs to (or None)."""

    def __init__(self, message: str, line: int | None = None, field: str = "loss.code") -> None:
        self.line = line
        self.detail = message  # without the field and line prefixes, for an inline display
        super().__init__(f"line {line}: {message}" if line else message, field)


@dataclass(frozen=True)
class CustomLoss:
    """A validated custom-loss definition (no code has run)."""

    code: str
    name: str = DEFAULT_NAME
    tasks: tuple[str, ...] = (REGRESSION,)
    output: str = "raw"

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> CustomLoss:
        s = validate_custom_section(section)
        return cls(s["code"], s["name"], tuple(s["tasks"]), s["output"])

    def to_section(self) -> dict[str, Any]:
        return {
            "id": CUSTOM_ID,
            "params": {},
            "name": self.name,
            "code": self.code,
            "tasks": list(self.tasks),
            "output": self.output,
        }

    @property
    def digest(self) -> str:
        return code_digest(self.code)


def is_custom(section: Any) -> bool:
    return isinstance(section, Mapping) and section.get("id") == CUSTOM_ID


EXIT_MESSAGE = "the code called exit() or sys.exit(); a loss must return a number, not end the program"
# Unicode's bidirectional overrides and isolates (CVE-2021-42574).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# --- templates --------------------------------------------------------------------------------

TEMPLATES: tuple[CustomLoss, ...] = (
    CustomLoss(
        "def loss(pred, target):\n    error = pred - target\n    return (error ** 2).mean()\n",
        "Squared error",
        (REGRESSION,),
        "raw",
    ),
    CustomLoss(
        "def loss(pred, target):\n"
        "    error = pred - target                        # > 0: predicted too high\n"
        "    weight = torch.where(error < 0, 3.0, 1.0)    # too low costs 3 times more\n"
        "    return (weight * error ** 2).mean()\n",
        "Asymmetric squared error",
        (REGRESSION,),
        "raw",
    ),
    CustomLoss(
        "TAU = 0.9  # which quantile to predict: 0.5 is the median\n"
        "\n"
        "def loss(pred, target):\n"
        "    error = target - pred\n"
        "    return torch.maximum(TAU * error, (TAU - 1) * error).mean()\n",
        "Quantile (pinball) loss",
        (REGRESSION,),
        "raw",
    ),
    CustomLoss(
        "def loss(pred, target):\n"
        "    # pred is a logit; logsigmoid stays finite where log(sigmoid(z)) would give -inf\n"
        "    return -(target * F.logsigmoid(pred) + (1 - target) * F.logsigmoid(-pred)).mean()\n",
        "Cross-entropy by hand",
        (BINARY,),
        "logits",
    ),
    CustomLoss(
        "def loss(pred, target):\n"
        "    t = 2 * target - 1                   # labels 0/1 -> -1/+1\n"
        "    return torch.clamp(1 - t * pred, min=0).mean()\n",
        "Hinge by hand",
        (BINARY,),
        "raw",
    ),
    CustomLoss(
        "def loss(pred, target):\n"
        "    # pred: (N, K) logits, target: (N,) class numbers\n"
        "    log_p = torch.log_softmax(pred, dim=1)\n"
        "    return -log_p[torch.arange(len(target)), target].mean()\n",
        "Multi-class cross-entropy by hand",
        (MULTICLASS,),
        "logits",
    ),
)
for _template in TEMPLATES:  # code that ships with LossLab, like the examples' code
    allow(_template.code)


# --- validation without running anything -------------------------------------------------------


def validate_custom_section(section: Mapping[str, Any]) -> dict[str, Any]:
    """The section with defaults filled in; raises LossLabError naming the bad field. Runs no code."""
    if not isinstance(section, Mapping):
        raise LossLabError(f"must be an object, got {shown(section)}", "loss")
    unknown = sorted(set(section) - set(SECTION_KEYS), key=str)
    if unknown:
        key = shown(unknown[0])
        raise LossLabError(
            f"unknown key {key} (allowed: {', '.join(sorted(SECTION_KEYS))})", f"loss.{key.strip(chr(39))}"
        )
    validate_params((), section.get("params"), "loss.params")
    code = section.get("code")
    if not isinstance(code, str) or not code.strip():
        raise LossLabError(
            f"a custom loss needs Python code defining def loss(pred, target): ...; got {shown(code)}",
            "loss.code",
        )
    if len(code) > MAX_CODE_CHARS:
        raise LossLabError(
            f"the code is {len(code):,} characters long; a loss fits in {MAX_CODE_CHARS:,}", "loss.code"
        )
    parse_code(code)
    name = section.get("name", DEFAULT_NAME)
    if not isinstance(name, str):
        raise LossLabError(f"must be text, got {shown(name)}", "loss.name")
    name = " ".join(name.split()) or DEFAULT_NAME
    if len(name) > MAX_NAME_CHARS:
        raise LossLabError(f"must be at most {MAX_NAME_CHARS} characters, got {len(name)}", "loss.name")
    tasks = section.get("tasks", [REGRESSION])
    if isinstance(tasks, str):
        tasks = [tasks]
    if not isinstance(tasks, (list, tuple)) or not tasks:
        raise LossLabError(
            f"must be a list of tasks such as ['regression'], got {shown(tasks)}", "loss.tasks"
        )
    for task in tasks:
        if task not in CUSTOM_TASKS:
            raise LossLabError(
                f"unknown task {shown(task)}; a custom loss can declare: {', '.join(CUSTOM_TASKS)}",
                "loss.tasks",
            )
    output = section.get("output", "raw")
    if not isinstance(output, str) or output not in OUTPUTS:
        raise LossLabError(f"must be one of {', '.join(OUTPUTS)}; got {shown(output)}", "loss.output")
    if output == "probabilities" and REGRESSION in tasks:
        raise LossLabError(
            "probabilities fit classification only: for regression the model's output is a value, so "
            "choose 'raw', or untick regression",
            "loss.output",
        )
    return {
        "id": CUSTOM_ID,
        "params": {},
        "name": name,
        "code": code,
        "tasks": [t for t in CUSTOM_TASKS if t in tasks],
        "output": output,
    }


def parse_code(code: str) -> ast.Module:
    """Parse (never run) ``code``; raise CustomLossError unless it defines ``loss(pred, target)``."""
    for line_no, line in enumerate(code.splitlines(), 1):
        hidden = next((c for c in line if c in BIDI_CONTROLS), None)
        if hidden is not None:  # "Trojan Source": text that displays other than Python reads it
            raise CustomLossError(
                f"the code holds an invisible text-direction character (U+{ord(hidden):04X}), which can make "
                "code look different from what runs; remove it",
                line_no,
            )
    try:
        tree = ast.parse(code, CODE_FILENAME)
    except SyntaxError as exc:
        raise CustomLossError(_syntax_message(exc), exc.lineno or 1) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        raise CustomLossError(f"Python cannot read this code: {exc}") from None
    fn = _loss_def(tree)
    if fn is None:
        others = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        assigned = any(
            isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "loss" for t in n.targets)
            for n in tree.body
        )
        if assigned:
            return tree  # loss = lambda pred, target: ...; checked when it runs
        hint = f" You defined {others[0]}(): rename it to loss." if others else ""
        raise CustomLossError(f"define a function named loss: def loss(pred, target): ...{hint}", None)
    if isinstance(fn, ast.AsyncFunctionDef):
        raise CustomLossError("loss must be a plain function (def), not async def", fn.lineno)
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    required = len(positional) - len(a.defaults)
    kw_required = any(d is None for d in a.kw_defaults)
    if required > 2 or (len(positional) < 2 and a.vararg is None) or kw_required:
        names = ", ".join(x.arg for x in positional) or "nothing"
        raise CustomLossError(
            f"loss must take exactly two inputs, the predictions and the targets: def loss(pred, target): "
            f"(it takes {names})",
            fn.lineno,
        )
    return tree


def _loss_def(tree: ast.Module) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    found = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "loss":
            found = node  # the last definition wins, as when Python runs it
    return found


def _syntax_message(exc: SyntaxError) -> str:
    msg = exc.msg or "invalid syntax"
    if isinstance(exc, TabError):
        return "tabs and spaces are mixed in the indentation; indent with spaces only"
    if msg == "invalid syntax":
        text = (exc.text or "").strip()
        return f"this line is not valid Python: {text}" if text else "this line is not valid Python"
    if msg.startswith("expected an indented block"):
        return msg + " (the body of def, if, for … must be indented, e.g. by 4 spaces)"
    return msg


# --- running the code with a time limit --------------------------------------------------------


class _OutOfTime(BaseException):
    """Raised inside user code by a loop past its deadline; BaseException so `except Exception` in the
    user's code cannot swallow it."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


_clock = threading.local()  # per thread: deadline of the current call, loop-iteration counter


def _tick(line: int) -> None:
    n = getattr(_clock, "ticks", 0) + 1
    _clock.ticks = n
    if n % 64 == 0 and time.perf_counter() > getattr(_clock, "deadline", math.inf):
        raise _OutOfTime(line)


def _ticking(iterable: Iterable[Any], line: int) -> Iterator[Any]:
    for item in iterable:
        _tick(line)
        yield item


class _LoopBudget(ast.NodeTransformer):
    """Makes every loop and comprehension of the user's code count against the call's deadline."""

    def _loop(self, node: ast.While | ast.For | ast.AsyncFor) -> ast.AST:
        self.generic_visit(node)
        call = ast.Call(ast.Name(_TICK, ast.Load()), [ast.Constant(node.lineno)], [])
        node.body.insert(0, ast.copy_location(ast.Expr(call), node))
        return node

    visit_While = visit_For = visit_AsyncFor = _loop

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        line = getattr(node.iter, "lineno", 1)
        node.iter = ast.copy_location(
            ast.Call(ast.Name(_TICKING, ast.Load()), [node.iter, ast.Constant(line)], []), node.iter
        )
        return node


@dataclass(frozen=True)
class _Compiled:
    fn: Callable[..., Any]
    def_line: int | None
    return_line: int | None  # the line of the one return statement, else the def line
    names: tuple[str, ...]  # names in scope, for "did you mean" hints


_compiled: dict[str, _Compiled] = {}
_compile_lock = threading.Lock()
_loop_mode: set[str] = set()  # digests whose per-sample values need a loop (vmap failed)


def _namespace() -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    return {
        "__name__": "losslab_custom_loss",
        "__builtins__": builtins,
        "torch": torch,
        "math": math,
        "F": F,
        _TICK: _tick,
        _TICKING: _ticking,
    }


def compile_loss(code: str, seconds: float = CHECK_SECONDS) -> _Compiled:
    """Run ``code`` once (cached by its hash) and return its ``loss`` function. Raises CustomLossError.

    The lock guards the cache only, never the user's code: code stuck in a sleep must not block
    every later compile (the GUI thread's among them).
    """
    digest = code_digest(code)
    with _compile_lock:
        done = _compiled.get(digest)
    if done is not None:
        return done
    check_may_run(code)  # the one door every front end's code goes through: never a file's code unasked
    tree = parse_code(code)
    fn_def = _loss_def(tree)
    returns = [n for n in ast.walk(fn_def) if isinstance(n, ast.Return)] if fn_def else []
    def_line = fn_def.lineno if fn_def else None
    return_line = returns[0].lineno if len(returns) == 1 else def_line
    tree = ast.fix_missing_locations(_LoopBudget().visit(tree))
    namespace = _namespace()
    try:
        program = compile(tree, CODE_FILENAME, "exec")
        with _deadline(seconds):
            exec(program, namespace)
    except _OutOfTime as stuck:
        raise CustomLossError(_slow_message(seconds), stuck.line) from None
    except CustomLossError:
        raise
    except SystemExit:
        raise CustomLossError(EXIT_MESSAGE) from None
    except Exception as exc:
        raise _explain(exc, namespace) from None
    fn = namespace.get("loss")
    if not callable(fn):
        raise CustomLossError(f"loss must be a function, got {type(fn).__name__}", def_line)
    done = _Compiled(fn, def_line, return_line, tuple(k for k in namespace if not k.startswith("__")))
    with _compile_lock:
        return _compiled.setdefault(digest, done)


class _deadline:  # used like a function: `with _deadline(2.0):`
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        self.before = getattr(_clock, "deadline", math.inf)
        _clock.deadline = min(self.before, time.perf_counter() + self.seconds)

    def __exit__(self, *exc: Any) -> None:
        _clock.deadline = self.before


def _slow_message(seconds: float) -> str:
    return f"this loop was still running after {seconds:g} s; does it ever stop?"


def call_loss(compiled: _Compiled, pred: Tensor, target: Tensor, seconds: float = TRAIN_SECONDS) -> Tensor:
    """The user's loss on one batch as a scalar tensor; every failure is a CustomLossError."""
    try:
        with _deadline(seconds):
            value = compiled.fn(pred, target)
    except _OutOfTime as stuck:
        raise CustomLossError(_slow_message(seconds), stuck.line) from None
    except CustomLossError:
        raise
    except SystemExit:  # exit() or sys.exit() would end LossLab as if the run had succeeded
        raise CustomLossError(EXIT_MESSAGE) from None
    except Exception as exc:
        raise _explain(exc, None, compiled, pred, target) from None
    return _as_scalar(value, compiled)


def _as_scalar(value: Any, compiled: _Compiled) -> Tensor:
    import torch

    line = compiled.return_line
    if not isinstance(value, torch.Tensor):
        if value is None:
            raise CustomLossError("loss returned nothing (None): end it with return and the loss value", line)
        if isinstance(value, (int, float)):
            raise CustomLossError(
                f"loss returned a plain number ({value!r}), not a tensor: compute it from pred with torch "
                "operations (no .item() or float()), so training can follow its gradient",
                line,
            )
        raise CustomLossError(
            f"loss returned a {type(value).__name__}; it must return a tensor holding one number", line
        )
    if value.numel() != 1:
        raise CustomLossError(
            f"loss returned {value.numel()} values (shape {tuple(value.shape)}: one per sample?); it must "
            "return a single number: average them with .mean()",
            line,
        )
    if not (value.is_floating_point() or value.is_complex()):
        raise CustomLossError(
            f"loss returned a {str(value.dtype).replace('torch.', '')} tensor, which has no gradient: "
            "comparisons (pred > 0) and rounding give no slope to follow",
            line,
        )
    if value.is_complex():
        raise CustomLossError("loss returned a complex number; a loss must be a real number", line)
    return value.reshape(())


def _user_line(tb: Any) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == CODE_FILENAME:
            line = lineno
    return line


def _shape_note(pred: Any, target: Any) -> str:
    try:
        return (
            f" (here pred has shape {tuple(pred.shape)} and target has shape {tuple(target.shape)}, "
            f"{str(target.dtype).replace('torch.', '')})"
        )
    except AttributeError:
        return ""


def _explain(
    exc: BaseException,
    namespace: Mapping[str, Any] | None = None,
    compiled: _Compiled | None = None,
    pred: Any = None,
    target: Any = None,
) -> CustomLossError:
    """A CustomLossError a student can act on, at the line of the user's code where ``exc`` happened."""
    line = _user_line(exc.__traceback__)
    known = list(namespace or {}) if namespace is not None else list(compiled.names if compiled else ())
    known = [k for k in known if not k.startswith("__")] + list(IN_SCOPE)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None) or first
        close = difflib.get_close_matches(str(name), [*known, *dir(builtins)], n=1)
        hint = f" Did you mean {close[0]}?" if close else " (torch, math and F are ready to use)"
        return CustomLossError(f"{name} is not defined.{hint}", line)
    if isinstance(exc, ModuleNotFoundError):
        return CustomLossError(
            f"there is no module named {exc.name!r} here; torch, math and F (torch.nn.functional) are ready",
            line,
        )
    if isinstance(exc, AttributeError):
        obj, name = getattr(exc, "obj", None), getattr(exc, "name", None)
        if obj is not None and name:
            what = getattr(obj, "__name__", None) if isinstance(obj, type(math)) else None
            owner = what or f"a {type(obj).__name__}"
            close = difflib.get_close_matches(name, [n for n in dir(obj) if not n.startswith("_")], n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            return CustomLossError(f"{owner} has no attribute {name!r}.{hint}", line)
        return CustomLossError(first, line)
    if isinstance(exc, RecursionError):
        return CustomLossError("the function keeps calling itself and never ends (endless recursion)", line)
    if isinstance(exc, ZeroDivisionError):
        return CustomLossError("division by zero (a plain Python number divided by 0)", line)
    if isinstance(exc, MemoryError):
        return CustomLossError("ran out of memory; is a tensor much larger than the batch being made?", line)
    if isinstance(exc, RuntimeError) and "leaf Variable that requires grad" in first:
        return CustomLossError(
            "changes pred in place (pred += …, pred[…] = …, pred.clamp_()); make a new tensor instead, "
            "e.g. p = pred + 1, so the gradient can be traced back",
            line,
        )
    if isinstance(exc, RuntimeError) and "converted to Scalar" in first:
        return CustomLossError(
            ".item() and float() need a single number, and a loss must stay a tensor anyway so training can "
            "follow its gradient: leave them out",
            line,
        )
    if isinstance(exc, (RuntimeError, IndexError, ValueError, TypeError)):
        note = _shape_note(pred, target) if pred is not None else ""
        return CustomLossError(f"{first}{note}", line)
    return CustomLossError(f"{type(exc).__name__}: {first}", line)


# --- the LossSpec of a custom loss --------------------------------------------------------------


def output_activation(output: str, task: str) -> str | None:
    """The layer LossLab adds after the last Linear for a loss on ``output`` in ``task``."""
    if output != "probabilities":
        return None
    return "softmax" if task == MULTICLASS else "sigmoid"


_specs: dict[tuple[Any, ...], LossSpec] = {}


def _custom_spec(section: Mapping[str, Any], task: str | None) -> LossSpec:
    """The LossSpec of a custom loss section (cached), built for ``task`` when the loss declares it."""
    custom = CustomLoss.from_section(section)
    task = task if task in custom.tasks else custom.tasks[0]
    key = (custom, task)
    spec = _specs.get(key)
    if spec is None:
        spec = _make_spec(custom, task)
        if len(_specs) > 64:
            _specs.clear()
        _specs[key] = spec
    return spec


def _make_spec(custom: CustomLoss, task: str) -> LossSpec:
    code = custom.code

    def batch_value(pred: Tensor, target: Tensor) -> Tensor:
        return call_loss(compile_loss(code, TRAIN_SECONDS), pred, target, TRAIN_SECONDS)

    def per_sample(pred: Tensor, target: Tensor) -> Tensor:
        return per_sample_values(compile_loss(code, TRAIN_SECONDS), custom.digest, pred, target)

    return LossSpec(
        id=CUSTOM_ID,
        name=custom.name,
        # The code is its formula: monospace, wrapped rather than cut off in a narrow panel.
        formula=f'<pre style="white-space: pre-wrap; font-size: small">{html.escape(code.rstrip())}</pre>',
        tasks=frozenset(custom.tasks),
        target_format=f"as your code expects; LossLab passes {_TARGETS[task]}",
        output=custom.output,
        output_activation=output_activation(custom.output, task),
        params=(),
        convex=False,
        robust_to_outliers=False,
        differentiable=True,
        notes="Your own loss, written in Python. Training minimises the value your function returns "
        "for each batch; the per-sample views call it on one sample at a time.",
        per_sample=per_sample,
        set_value=batch_value,
        custom=True,
    )


def per_sample_values(compiled: _Compiled, digest: str, pred: Tensor, target: Tensor) -> Tensor:
    """The loss of each sample on its own, (N,): the function vectorized over samples with
    torch.func.vmap where it allows, else called once per sample."""
    import torch

    n = pred.shape[0]
    if n == 0:
        return pred.new_zeros(0)
    if digest not in _loop_mode:

        def one(p: Tensor, t: Tensor) -> Tensor:
            with _deadline(TRAIN_SECONDS):
                value = compiled.fn(p.unsqueeze(0), t.unsqueeze(0))
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise TypeError("not a scalar")
            return value.reshape(())

        try:
            return torch.func.vmap(one)(pred, target)
        except _OutOfTime as stuck:
            raise CustomLossError(_slow_message(TRAIN_SECONDS), stuck.line) from None
        except Exception:  # .item(), data-dependent `if`, randomness …: call it sample by sample
            _loop_mode.add(digest)
    return torch.stack([call_loss(compiled, pred[i : i + 1], target[i : i + 1]) for i in range(n)])


# --- checking on a real batch -------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    value: float  # the loss of the checked batch
    batch_size: int
    task: str
    per_sample: str  # "vmap" (vectorized) or "loop" (one call per sample, slower)


def check_batch_size(n_train: int, batch_size: int | None = None) -> int:
    """How many samples the check's real batch holds: the training batch size (0: the whole training
    set), or CHECK_BATCH when none is given; never more than there are. The editor's header shows the
    shapes of this same batch."""
    wanted = CHECK_BATCH if batch_size is None else (batch_size or n_train)
    return max(min(wanted, n_train), 0)


def check_custom_loss(
    section: Mapping[str, Any],
    dataset: Dataset | None = None,
    *,
    seconds: float = CHECK_SECONDS,
    batch_size: int | None = None,
) -> CheckResult:
    """Run the loss on a real batch of ``dataset`` (and on one sample, and on a made-up batch of every
    other task it declares): it must return a finite scalar with a usable gradient with respect to
    ``pred``. Raises CustomLossError (with the line) on the first problem. Never takes much longer than
    1.5 times ``seconds``, whatever the code does. ``batch_size``: see check_batch_size.
    """
    custom = CustomLoss.from_section(section)
    if dataset is not None and dataset.task not in custom.tasks:
        declared = ", ".join(TASKS[t].lower() for t in custom.tasks)
        current = TASKS.get(dataset.task, dataset.task).lower()
        raise CustomLossError(
            f"it is declared for {declared}, but the current data is {current}: tick that task if the "
            "code handles it",
            None,
            "loss.tasks",
        )
    return run_limited(
        lambda: _check(custom, dataset, seconds, batch_size), 1.5 * seconds + 0.5, "checking the loss"
    )


def run_limited(work: Callable[[], T], seconds: float, what: str = "running your loss") -> T:
    """``work()`` in a short-lived thread, waited for ``seconds`` at most: user code stuck in one long
    call (time.sleep, a huge tensor) cannot freeze the caller. Exceptions come back as CustomLossError."""
    box: dict[str, T] = {}
    failed: dict[str, LossLabError] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except LossLabError as exc:
            failed["error"] = exc
        except BaseException as exc:  # anything else is still the code's problem, not a crash
            failed["error"] = _explain(exc)

    thread = threading.Thread(target=run, name="losslab-custom-loss", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():  # leave it behind; it ends when the user's call returns
        raise CustomLossError(f"{what} took longer than {seconds:g} s; is something very slow or waiting?")
    if "error" in failed:
        raise failed["error"]
    return box["result"]


def _check(
    custom: CustomLoss, dataset: Dataset | None, seconds: float, batch_size: int | None
) -> CheckResult:
    import torch

    compiled = compile_loss(custom.code, seconds)
    gen = torch.Generator().manual_seed(0)
    task = dataset.task if dataset is not None else custom.tasks[0]
    if dataset is not None and dataset.n_train:
        n = check_batch_size(dataset.n_train, batch_size)
        target = torch.as_tensor(dataset.y_train[:n])
        classes = max(dataset.n_classes, 2)
    else:
        n, classes = 32, 3
        target = _made_up_targets(task, n, classes, gen)
    pred = _made_up_pred(task, custom.output, target, classes, gen)
    value = _check_batch(compiled, pred, target, seconds, "", need_slope=n > 1)
    _check_batch(
        compiled,
        pred[:1].detach().clone(),
        target[:1],
        seconds,
        "with a batch of one sample (the last batch of an epoch can be that small): ",
        need_slope=False,
    )
    for other in custom.tasks:
        if other == task:
            continue
        t = _made_up_targets(other, 32, 3, gen)
        p = _made_up_pred(other, custom.output, t, 3, gen)
        _check_batch(compiled, p, t, seconds, f"for {TASKS[other].lower()} (it is ticked): ", need_slope=True)
    per_sample_values(compiled, custom.digest, pred.detach(), target)  # vmap, or a loop when it cannot
    return CheckResult(value, n, task, "loop" if custom.digest in _loop_mode else "vmap")


def _made_up_targets(task: str, n: int, classes: int, gen: Any) -> Tensor:
    import torch

    if task == REGRESSION:
        return torch.randn(n, generator=gen)
    if task == BINARY:
        return (torch.rand(n, generator=gen) < 0.5).float()
    return torch.randint(0, classes, (n,), generator=gen)


def _made_up_pred(task: str, output: str, target: Tensor, classes: int, gen: Any) -> Tensor:
    """Predictions an untrained model might make, in the space ``output`` says ``pred`` holds."""
    import torch

    n = target.shape[0]
    if task == REGRESSION:
        return target.float() + 0.8 * torch.randn(n, generator=gen)
    shape = (n, classes) if task == MULTICLASS else (n,)
    z = 2.0 * torch.randn(shape, generator=gen)
    if output == "probabilities":
        return torch.softmax(z, dim=1) if task == MULTICLASS else torch.sigmoid(z)
    return z if output == "logits" else 0.75 * z


def _check_batch(
    compiled: _Compiled, pred: Tensor, target: Tensor, seconds: float, where: str, need_slope: bool
) -> float:
    import torch

    pred = pred.detach().requires_grad_(True)
    try:
        value = call_loss(compiled, pred, target, seconds)
    except CustomLossError as exc:
        raise CustomLossError(where + exc.detail, exc.line) from None
    line = compiled.return_line
    number = float(value.detach())
    if not math.isfinite(number):
        what = "NaN (not a number)" if math.isnan(number) else "infinite"
        raise CustomLossError(
            f"{where}the loss is {what} on a real batch. Usual causes: the log of 0 or of a negative "
            f"number, the square root of a negative number, 0/0.{_output_hint(compiled, pred)}",
            line,
        )
    if not value.requires_grad:
        raise CustomLossError(
            f"{where}the result does not depend on pred, so training has no gradient to follow: use pred "
            "in the formula with torch operations (no .item(), .detach(), .numpy() or float())",
            line,
        )
    try:
        (grad,) = torch.autograd.grad(value, pred, allow_unused=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CustomLossError(f"{where}its gradient cannot be computed: {first}", line) from None
    if grad is None:
        raise CustomLossError(f"{where}the result does not depend on pred, so there is no gradient", line)
    if not torch.isfinite(grad).all():
        raise CustomLossError(
            f"{where}the gradient with respect to pred is NaN or infinite on a real batch, e.g. from "
            "sqrt or a division at exactly 0; add a small number (sqrt(x + 1e-8))",
            line,
        )
    if need_slope and not grad.abs().gt(0).any():
        raise CustomLossError(
            f"{where}the gradient with respect to pred is zero for every sample of a real batch, so "
            "training would not move: rounding, comparisons (pred > 0) and constants have no slope",
            line,
        )
    return number


def _output_hint(compiled: _Compiled, pred: Tensor) -> str:
    if float(pred.detach().min()) < 0:
        return (
            " Here pred holds numbers below 0 (raw values or logits): if the formula needs probabilities, "
            "use torch.sigmoid(pred) or choose the output 'probabilities'."
        )
    return ""


register_loss_kind(CUSTOM_ID, _custom_spec)  # losses.resolve_loss turns custom sections into specs
