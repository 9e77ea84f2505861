"""Does a text say what its experiment file does? Checks the facts a teaching text tends to state.

An example said "trained with plain SGD" over a file with momentum 0.9; nobody notices until a
student asks. These rules read the sentences a description or lesson uses for settings ("plain
SGD", "a learning rate of 10", "momentum 0.9", "six sigmoid layers", "patience 25", "clipping at
1.0", "gamma 2", "delta 0.5", "an L2 penalty") and compare them with the file. They are deliberately
narrow: a rule fires only on a phrase that states a setting, never on a mention in passing, and a
setting that the lesson's race varies is not checked (its text talks about several values), nor is a
sentence that speaks of another experiment ("compare", "example", "version", "twin").
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from losslab.core.experiment import Experiment

if TYPE_CHECKING:
    from losslab.core.lessons.format import Lesson

NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
}
OPTIMIZER_NAMES = {"sgd": "sgd", "adam": "adam", "adamw": "adamw", "rmsprop": "rmsprop", "adagrad": "adagrad"}
_NUM = r"(\d+(?:\.\d+)?(?:e-?\d+)?)"
_COUNTED = re.compile(
    r"\b("
    + "|".join(NUMBER_WORDS)
    + r"|\d+) (sigmoid|tanh|relu|residual|linear|dropout)(?:[- ]\w+)? (?:layers|blocks)\b",
    re.IGNORECASE,
)


# Loss names a text may say a run is trained with, and the loss ids each may mean.
LOSS_NAMES: dict[str, frozenset[str]] = {
    "mean squared error": frozenset({"mse"}),
    "mean absolute error": frozenset({"mae"}),
    "binary cross-entropy": frozenset({"bce", "bce_logits"}),
    "cross-entropy": frozenset({"cross_entropy", "bce", "bce_logits"}),
    "kl divergence": frozenset({"kl_div"}),
    "huber": frozenset({"huber"}),
    "hinge": frozenset({"hinge", "squared_hinge", "multi_hinge"}),
    "dice": frozenset({"dice"}),
    "focal": frozenset({"focal"}),
    "mse": frozenset({"mse"}),
    "mae": frozenset({"mae"}),
}
_TRAINED_WITH_LOSS = re.compile(
    r"\btrained (?:by|with|on) (?:the |plain )?(" + "|".join(re.escape(n) for n in LOSS_NAMES) + r")\b"
)


_OTHER = re.compile(r"\b(compare|example|examples|version|versions|twin)\b")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


def _varied(race: tuple[str, list[Any]] | None) -> str:
    if race is None:
        return ""
    from losslab.core.race.plan import ALIASES  # deferred: the race package loads torch

    return ALIASES.get(race[0], race[0])


def text_problems(text: str, exp: Experiment, varied: str = "") -> list[str]:
    """Each sentence-level mismatch between ``text`` and the experiment, worded for a report."""
    problems: list[str] = []
    opt = exp.optimizer
    momentum = float(opt["params"].get("momentum", 0.0))
    # A sentence about another experiment ("Compare 33: ... trained with cross-entropy") is skipped.
    sentences = re.split(r"(?<=[.!?])\s+", text.lower())
    low = " ".join(x for x in sentences if not _OTHER.search(x))
    if not varied.startswith("optimizer"):
        said = re.search(r"\b(plain|vanilla) (sgd|gradient descent)\b", low)
        if said and (opt["id"] != "sgd" or momentum > 0):
            what = f"{opt['id']}" + (f" with momentum {momentum:g}" if momentum > 0 else "")
            problems.append(f"the text says {said.group(0)!r} but the file trains with {what}")
        for name in re.findall(r"\btrained with (?:an? )?(sgd|adamw|adam|rmsprop|adagrad)\b", low):
            if OPTIMIZER_NAMES[name] != opt["id"]:
                problems.append(
                    f"the text says 'trained with {name}' but the file's optimizer is {opt['id']}"
                )
        for value in re.findall(r"\bmomentum (?:of )?" + _NUM, low):
            if not _close(float(value), momentum):
                problems.append(f"the text says momentum {value} but the file's momentum is {momentum:g}")
    if varied != "optimizer.lr":
        for value in re.findall(r"\blearning rate of " + _NUM, low):
            if not _close(float(value), float(opt["lr"])):
                problems.append(f"the text says a learning rate of {value} but the file's is {opt['lr']:g}")
    if varied != "optimizer.grad_clip":
        for value in re.findall(r"\bclipping at " + _NUM, low):
            if not _close(float(value), float(opt["grad_clip"])):
                problems.append(
                    f"the text says clipping at {value} but the file clips at {opt['grad_clip']:g}"
                )
    if varied != "training.early_stopping":
        for value in re.findall(r"\bpatience (?:of )?" + _NUM, low):
            if not _close(float(value), float(exp.training["early_stopping"])):
                patience = exp.training["early_stopping"]
                problems.append(f"the text says patience {value} but the file's early stopping is {patience}")
    if not varied.startswith("loss"):
        for name in _TRAINED_WITH_LOSS.findall(low):
            if exp.loss.get("id") not in LOSS_NAMES[name]:
                problems.append(
                    f"the text says 'trained with {name}' but the file's loss is {exp.loss.get('id')}"
                )
        params = exp.loss.get("params", {})
        for name in ("gamma", "delta", "margin"):
            for value in re.findall(rf"\b{name} (?:of |= ?)?" + _NUM, low):
                if name in params and not _close(float(value), float(params[name])):
                    problems.append(f"the text says {name} {value} but the file's {name} is {params[name]:g}")
    l2_said = re.search(r"\ban l2 penalty\b", low)
    if varied != "regularization.l2" and l2_said and exp.regularization["l2"] <= 0:
        problems.append("the text speaks of an L2 penalty but the file's L2 strength is 0")
    if not varied.startswith("dataset"):
        from losslab.core.data.dataset import val_count

        data = exp.dataset
        if "n_samples" in data:
            n_train = data["n_samples"] - val_count(data["n_samples"], float(data.get("val_fraction", 0.0)))
            for value in re.findall(r"\b(\d+) training (?:points|samples|houses)\b", low):
                if int(value) != n_train:
                    problems.append(f"the text says {value} training points but the file trains on {n_train}")
    if varied not in ("model", "activation"):
        kinds = [layer["type"] for layer in exp.model["layers"]]
        for count, kind in _COUNTED.findall(text):
            n = int(count) if count.isdigit() else NUMBER_WORDS[count.lower()]
            have = kinds.count(kind.lower())
            if have != n:
                problems.append(f"the text says {count} {kind} layers/blocks but the file has {have}")
    return problems


def lesson_text_problems(lesson: Lesson) -> list[str]:
    varied = _varied(lesson.race)
    text = " ".join([lesson.text["do"], lesson.text["look"]])  # "try this" proposes a change on purpose
    return text_problems(text, lesson.experiment, varied) + [
        f"{lesson.source}'s description: {p}"
        for p in text_problems(lesson.experiment.description, lesson.experiment)
    ]
