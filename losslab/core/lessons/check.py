"""``check_lesson``: train a lesson's preset headless (a race through the race engine) and test its claims.

A lesson whose claim is not checked does not ship: ``losslab lessons --check`` and the test suite
call this on every bundled lesson. The lesson's text is checked against its preset too
(text_check.py): a text that says "plain SGD" over a file with momentum fails like a claim.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from losslab.core.lessons.format import SINGLE_RUN, Claim, Lesson, Measure
from losslab.core.lessons.measures import RunOutcome, evaluate, needs_run
from losslab.core.lessons.text_check import lesson_text_problems


@dataclass
class ClaimResult:
    says: str
    held: bool
    detail: str  # the measured numbers and what was needed


@dataclass
class LessonCheck:
    lesson_id: str
    title: str
    results: list[ClaimResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def held(self) -> bool:
        return all(r.held for r in self.results)


def _num(value: float) -> str:
    if math.isinf(value):
        return "never" if value > 0 else "-inf"
    return "nan" if math.isnan(value) else f"{value:.4g}"


def judge(claim: Claim, left: float, right: float) -> tuple[bool, str]:
    """Whether ``left op right × times`` holds, and the sentence that shows the numbers."""
    target = right * claim.times
    scaled = f"{claim.times:g} × {_num(right)} = {_num(target)}" if claim.times != 1.0 else _num(target)
    measured = f"measured {_num(left)}"
    if math.isnan(left) or math.isnan(target):
        return False, f"{measured}; compared with {scaled}: not a number, so the claim cannot hold"
    op = claim.op
    if op in ("within", "outside"):
        lo, hi = sorted((target * (1 - claim.tolerance), target * (1 + claim.tolerance)))
        inside = lo <= left <= hi
        word = "within" if op == "within" else "outside"
        return inside == (op == "within"), (
            f"{measured}; needed {word} {claim.tolerance * 100:g}% of {scaled} ({_num(lo)} to {_num(hi)})"
        )
    held = {
        "below": left < target,
        "at_most": left <= target,
        "above": left > target,
        "at_least": left >= target,
    }[op]
    return held, f"{measured}; needed {op.replace('_', ' ')} {scaled}"


def _measure(m: Measure, runs: dict[str, RunOutcome]) -> float:
    return evaluate(m.quantity, runs.get(m.run) if m.run else None, m.at, m.options)


def _needs_training(lesson: Lesson) -> bool:
    measures = [c.measure for c in lesson.claims] + [
        c.value for c in lesson.claims if isinstance(c.value, Measure)
    ]
    return any(needs_run(m.quantity) for m in measures)


def run_lesson(lesson: Lesson) -> dict[str, RunOutcome]:
    """Train the preset (or every variant of its race) and return the runs by label."""
    from losslab.core.landscape import flat_from_state  # deferred: torch loads only for a check
    from losslab.core.trainer import make_trainer

    exp = lesson.experiment
    if lesson.race is None:
        trainer = make_trainer(exp, threads=1, diagnostics=False)
        initial = flat_from_state(trainer.model, trainer.initial_state)
        result = trainer.run()
        diverged = None if result.diverged is None else result.diverged.epoch
        return {SINGLE_RUN: RunOutcome(SINGLE_RUN, list(result.history.rows), diverged, trainer, initial)}

    from losslab.core.landscape import load_weights
    from losslab.core.race import plan_race, run_race

    plan = plan_race(exp, {lesson.race[0]: lesson.race[1]}, sequential=lesson.race_sequential)
    race = run_race(plan)
    runs: dict[str, RunOutcome] = {}
    labels = lesson.run_labels()
    for variant, label in zip(race.variants, labels, strict=True):
        trainer = make_trainer(variant.experiment, plan.datasets[variant.index], threads=1, diagnostics=False)
        initial = flat_from_state(trainer.model, trainer.initial_state)
        if variant.state_dict:
            load_weights(trainer, variant.state_dict)
        diverged = None if variant.diverged is None else variant.diverged.epoch
        runs[label] = RunOutcome(label, list(variant.history.rows), diverged, trainer, initial)
    return runs


def check_lesson(lesson: Lesson) -> LessonCheck:
    """Every claim of the lesson, held or failed with its numbers, plus its text against its preset."""
    started = time.perf_counter()
    report = LessonCheck(lesson.id, lesson.title)
    for problem in lesson_text_problems(lesson):
        report.results.append(ClaimResult("the text matches the preset", False, problem))
    runs = run_lesson(lesson) if _needs_training(lesson) else {}
    for claim in lesson.claims:
        left = _measure(claim.measure, runs)
        right = _measure(claim.value, runs) if isinstance(claim.value, Measure) else claim.value
        held, detail = judge(claim, left, right)
        report.results.append(ClaimResult(claim.says, held, detail))
    report.seconds = time.perf_counter() - started
    return report
