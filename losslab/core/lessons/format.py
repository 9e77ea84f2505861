"""The ``.lesson`` format: a preset experiment (or a race of presets), a short text, formulas, claims.

A lesson is JSON, as experiments are (one format for everything a workshop ships)::

    {"format": "losslab-lesson", "schema_version": 1,
     "title": "Outliers: MSE against MAE and Huber", "idea": "robust losses",
     "experiment": "../examples/02_house_outliers_mse.losslab",     # or an inline experiment object
     "race": {"vary": "loss", "values": ["mse", "mae", "huber"]},     # optional
     "text": {"do": "...", "look": "...", "try": "..."},
     "formulas": ["\\\\frac{1}{N}\\\\sum_i (\\\\hat{y}_i - y_i)^2"],
     "claims": [{"says": "MAE's slope is within 10% of the true 150 $/sq ft",
                 "measure": {"run": "mae", "quantity": "slope"}, "within": 150, "tolerance": 0.1}],
     "classroom": {"lock": ["dataset"]}}

A claim compares a measure (claims.py: what can be measured) with a number or with another measure:
exactly one of ``below``, ``at_most``, ``above``, ``at_least``, ``within``, ``outside``; ``times``
scales the right-hand side; ``tolerance`` is the relative width of ``within`` / ``outside``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losslab.core.classroom import validate_classroom
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.files import EXPERIMENT_MAX_BYTES, check_user_file, save_text_atomic
from losslab.core.lessons.measures import check_measure_spec

FORMAT = "losslab-lesson"
SCHEMA_VERSION = 1
SUFFIX = ".lesson"
TEXT_PARTS = ("do", "look", "try")
OPS = ("below", "at_most", "above", "at_least", "within", "outside")
SINGLE_RUN = "run"  # the label of a lesson's only run when it is not a race
_TOP = {
    "format",
    "schema_version",
    "title",
    "idea",
    "experiment",
    "race",
    "text",
    "formulas",
    "claims",
    "classroom",
}
_MEASURE_KEYS = {"run", "quantity", "at", "column", "threshold", "loss", "pred", "target", "params"}


@dataclass(frozen=True)
class Measure:
    """One number a run (or a loss function) gives: ``quantity`` of ``run`` ``at`` an epoch or weights."""

    quantity: str
    run: str = ""
    at: str | int = ""
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        where = f"{self.run}: " if self.run else ""
        at = f" @{self.at}" if self.at != "" else ""
        extra = self.options.get("column", "")
        return f"{where}{self.quantity}{f'({extra})' if extra else ''}{at}"

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"quantity": self.quantity, **self.options}
        if self.run:
            doc["run"] = self.run
        if self.at != "":
            doc["at"] = self.at
        return doc


@dataclass(frozen=True)
class Claim:
    says: str
    measure: Measure
    op: str
    value: Measure | float
    times: float = 1.0
    tolerance: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        value = self.value.to_dict() if isinstance(self.value, Measure) else self.value
        doc: dict[str, Any] = {"says": self.says, "measure": self.measure.to_dict(), self.op: value}
        if self.times != 1.0:
            doc["times"] = self.times
        if self.op in ("within", "outside"):
            doc["tolerance"] = self.tolerance
        return doc


@dataclass
class Lesson:
    id: str  # the file's stem, "05_robust_losses"
    title: str
    idea: str
    experiment: Experiment
    source: str  # the preset's file name, or "inline"
    race: tuple[str, list[Any]] | None
    text: dict[str, str]
    formulas: list[str]
    claims: list[Claim]
    classroom: dict[str, list[str]]
    path: Path | None = None
    race_labels: list[str] = field(default_factory=list)  # names for the race's runs (default: values)
    race_sequential: bool = False  # train the variants one after another (as `losslab race --sequential`)

    @property
    def number(self) -> str:
        head = self.id.split("_", 1)[0]
        return head if head.isdigit() else ""

    def run_labels(self) -> list[str]:
        """The runs a claim may name: the race's values as labelled, or the single run."""
        if self.race is None:
            return [SINGLE_RUN]
        if self.race_labels:
            return list(self.race_labels)
        from losslab.core.race.plan import format_value  # deferred: the race package loads torch

        return [format_value(v) for v in self.race[1]]

    def preset(self) -> Experiment:
        """The experiment the window opens, carrying the lesson's classroom locks."""
        exp = self.experiment.copy()
        if any(self.classroom.values()):
            exp.classroom = {k: list(v) for k, v in self.classroom.items()}
        return exp

    def to_dict(self, inline: bool = False) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "title": self.title,
            "idea": self.idea,
            "experiment": self.experiment.to_dict() if inline or self.source == "inline" else self.source,
        }
        if self.race is not None:
            doc["race"] = {"vary": self.race[0], "values": list(self.race[1])}
            if self.race_labels:
                doc["race"]["labels"] = list(self.race_labels)
            if self.race_sequential:
                doc["race"]["sequential"] = True
        doc["text"] = dict(self.text)
        doc["formulas"] = list(self.formulas)
        doc["claims"] = [c.to_dict() for c in self.claims]
        if any(self.classroom.values()):
            doc["classroom"] = {k: list(v) for k, v in self.classroom.items() if v}
        return doc


def _text(value: Any, where: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise LossLabError(f"must be a non-empty text, got {value!r}", where)
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LossLabError(f"must be a finite number, got {value!r}", where)
    return float(value)


def parse_measure(value: Any, where: str) -> Measure:
    if not isinstance(value, dict):
        raise LossLabError(f"must be an object like {{'quantity': 'val_loss'}}, got {value!r}", where)
    unknown = sorted(set(value) - _MEASURE_KEYS)
    if unknown:
        raise LossLabError(
            f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_MEASURE_KEYS))})",
            f"{where}.{unknown[0]}",
        )
    quantity = _text(value.get("quantity"), f"{where}.quantity")
    run = _text(value.get("run", ""), f"{where}.run", required=False)
    at = value.get("at", "")
    if isinstance(at, bool) or not isinstance(at, (str, int)):
        raise LossLabError(f"must be an epoch number or a word such as 'last', got {at!r}", f"{where}.at")
    options = {k: v for k, v in value.items() if k not in ("quantity", "run", "at")}
    measure = Measure(quantity, run, at, options)
    check_measure_spec(measure.quantity, measure.at, measure.options, where)
    return measure


def parse_claim(value: Any, where: str, runs: list[str]) -> Claim:
    if not isinstance(value, dict):
        raise LossLabError(f"must be an object with 'says', 'measure' and a comparison, got {value!r}", where)
    allowed = {"says", "measure", "times", "tolerance", *OPS}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise LossLabError(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})", where)
    says = _text(value.get("says"), f"{where}.says")
    measure = _run_checked(parse_measure(value.get("measure"), f"{where}.measure"), runs, f"{where}.measure")
    ops = [op for op in OPS if op in value]
    if len(ops) != 1:
        raise LossLabError(f"needs exactly one comparison of {', '.join(OPS)}, got {ops or 'none'}", where)
    op = ops[0]
    raw = value[op]
    right: Measure | float
    if isinstance(raw, dict):
        right = _run_checked(parse_measure(raw, f"{where}.{op}"), runs, f"{where}.{op}")
    else:
        right = _number(raw, f"{where}.{op}")
    times = _number(value.get("times", 1.0), f"{where}.times")
    tolerance = 0.0
    if op in ("within", "outside"):
        tolerance = _number(value.get("tolerance"), f"{where}.tolerance")
        if not 0 < tolerance < 10:
            raise LossLabError(
                f"must be a fraction such as 0.1 (10%), got {tolerance!r}", f"{where}.tolerance"
            )
    elif "tolerance" in value:
        raise LossLabError(f"only 'within' and 'outside' take a tolerance, not {op!r}", f"{where}.tolerance")
    return Claim(says, measure, op, right, times, tolerance)


def _run_checked(measure: Measure, runs: list[str], where: str) -> Measure:
    from losslab.core.lessons.measures import needs_run

    if not needs_run(measure.quantity):
        return measure
    if not measure.run:
        if len(runs) > 1:
            raise LossLabError(f"a race has several runs; name one of {', '.join(runs)}", f"{where}.run")
        return Measure(measure.quantity, runs[0], measure.at, measure.options)
    if measure.run not in runs:
        raise LossLabError(
            f"no run {measure.run!r} in this lesson; its runs: {', '.join(runs)}", f"{where}.run"
        )
    return measure


def lesson_from_dict(doc: Any, lesson_id: str, base: Path | None = None) -> Lesson:
    """A validated Lesson; ``base`` is the folder a preset's relative path is read from."""
    if not isinstance(doc, dict):
        raise LossLabError("a lesson must be a JSON object")
    if doc.get("format") != FORMAT:
        raise LossLabError(
            f"must be {FORMAT!r} (this is not a LossLab lesson), got {doc.get('format')!r}", "format"
        )
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise LossLabError(
            f"this LossLab reads lesson schema {SCHEMA_VERSION}, got {doc.get('schema_version')!r}",
            "schema_version",
        )
    unknown = sorted(set(doc) - _TOP)
    if unknown:
        raise LossLabError(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_TOP))})", unknown[0])
    title = _text(doc.get("title"), "title")
    idea = _text(doc.get("idea"), "idea")
    source, experiment = _preset(doc.get("experiment"), base)
    race, labels, sequential = _race(doc.get("race"))
    text_doc = doc.get("text")
    if not isinstance(text_doc, dict):
        raise LossLabError(f"must be an object with {', '.join(TEXT_PARTS)}, got {text_doc!r}", "text")
    extra = sorted(set(text_doc) - set(TEXT_PARTS))
    if extra:
        raise LossLabError(f"unknown part {extra[0]!r} (allowed: {', '.join(TEXT_PARTS)})", "text")
    text = {part: _text(text_doc.get(part), f"text.{part}") for part in TEXT_PARTS}
    formulas = doc.get("formulas", [])
    if not isinstance(formulas, list) or not all(isinstance(f, str) and f.strip() for f in formulas):
        raise LossLabError(f"must be a list of formulas (text), got {formulas!r}", "formulas")
    lesson = Lesson(
        lesson_id,
        title,
        idea,
        experiment,
        source,
        race,
        text,
        list(formulas),
        [],
        validate_classroom(doc.get("classroom")),
        race_labels=labels,
        race_sequential=sequential,
    )
    claims = doc.get("claims")
    if not isinstance(claims, list) or not claims:
        raise LossLabError(
            "a lesson ships only with at least one checked claim; add one to 'claims'", "claims"
        )
    runs = lesson.run_labels()
    lesson.claims = [parse_claim(c, f"claims[{i}]", runs) for i, c in enumerate(claims)]
    return lesson


def _preset(value: Any, base: Path | None) -> tuple[str, Experiment]:
    if isinstance(value, dict):
        try:
            return "inline", Experiment.from_dict(value)
        except LossLabError as exc:
            raise LossLabError(str(exc), "experiment") from None
    if not isinstance(value, str) or not value.strip():
        raise LossLabError(
            f"must be a path to a .losslab file or an experiment object, got {value!r}", "experiment"
        )
    path = Path(value)
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return value, load_experiment(path)


def _race(value: Any) -> tuple[tuple[str, list[Any]] | None, list[str], bool]:
    if value is None:
        return None, [], False
    keys = {"vary", "values", "labels", "sequential"}
    if not isinstance(value, dict) or not {"vary", "values"} <= set(value) <= keys:
        raise LossLabError(
            f"must be {{'vary': SETTING, 'values': [...], 'labels': [...]}}, got {value!r}", "race"
        )
    vary, values = value["vary"], value["values"]
    if not isinstance(vary, str) or not vary.strip():
        raise LossLabError(f"must be a setting such as 'loss' or 'optimizer.lr', got {vary!r}", "race.vary")
    if not isinstance(values, list) or len(values) < 2:
        raise LossLabError(f"a race needs at least two values, got {values!r}", "race.values")
    labels = value.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
        raise LossLabError(f"must be a list of names, got {labels!r}", "race.labels")
    if labels and (len(labels) != len(values) or len(set(labels)) != len(labels)):
        raise LossLabError(
            f"needs one distinct name per value ({len(values)}), got {labels!r}", "race.labels"
        )
    sequential = value.get("sequential", False)
    if not isinstance(sequential, bool):
        raise LossLabError(f"must be true or false, got {sequential!r}", "race.sequential")
    return (vary, list(values)), list(labels), sequential


def parse_lesson(text: str, lesson_id: str, base: Path | None = None, source: str = "the lesson") -> Lesson:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LossLabError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise LossLabError(f"{source} nests lists or objects too deeply to be a lesson") from None
    return lesson_from_dict(doc, lesson_id, base)


def load_lesson(path: str | os.PathLike[str]) -> Lesson:
    path = check_user_file(path, EXPERIMENT_MAX_BYTES, "a LossLab lesson")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LossLabError(f"{path.name} is not a text file (not UTF-8), so not a lesson") from None
    except OSError as exc:
        raise LossLabError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        lesson = parse_lesson(text, path.stem, path.parent, "the file")
    except LossLabError as exc:
        located = LossLabError(f"{path.name}: {exc}")
        located.field = exc.field
        raise located from None
    lesson.path = path
    return lesson


def save_lesson(lesson: Lesson, path: str | os.PathLike[str]) -> None:
    """Written atomically, with the preset inline so the file stands on its own."""
    save_text_atomic(Path(path), json.dumps(lesson.to_dict(inline=True), indent=2, ensure_ascii=False) + "\n")


def lessons_dir() -> Path:
    from losslab.core.resources import resource_dir

    return resource_dir() / "lessons"


def list_lessons(folder: Path | None = None) -> list[Path]:
    return sorted((folder or lessons_dir()).glob(f"*{SUFFIX}"))


def load_lessons(folder: Path | None = None) -> list[Lesson]:
    return [load_lesson(p) for p in list_lessons(folder)]


def find_lessons(lessons: list[Lesson], ids: list[str]) -> list[Lesson]:
    """Lessons by id, by number ("05") or by a unique prefix; an unknown one is a clear error."""
    chosen: list[Lesson] = []
    for wanted in ids:
        hits = [
            x for x in lessons if x.id == wanted or x.number == wanted.zfill(2) or x.id.startswith(wanted)
        ]
        if not hits:
            known = ", ".join(x.id for x in lessons)
            raise LossLabError(f"no lesson {wanted!r}; the lessons are: {known}", "lesson")
        if len(hits) > 1 and not any(x.id == wanted for x in hits):
            raise LossLabError(f"{wanted!r} names several lessons: {', '.join(x.id for x in hits)}", "lesson")
        chosen.append(next((x for x in hits if x.id == wanted), hits[0]))
    return chosen
