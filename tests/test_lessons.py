"""Lessons (#15): every bundled lesson's claims hold when its preset is trained, bad lessons are
refused with the field named, a failed claim fails the check with its numbers, and the examples'
texts say what their files do."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from losslab.cli import main
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.lessons import (
    Claim,
    Measure,
    find_lessons,
    formula_html,
    judge,
    lesson_from_dict,
    load_lesson,
    load_lessons,
    save_lesson,
    text_problems,
)
from losslab.core.resources import list_examples

EXAMPLE = str(
    Path(__file__).resolve().parent.parent / "resources" / "examples" / "01_house_prices_mse.losslab"
)


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "format": "losslab-lesson",
        "schema_version": 1,
        "title": "BCE of a sure mistake",
        "idea": "bce",
        "experiment": EXAMPLE,
        "text": {"do": "Look.", "look": "The curve.", "try": "Another value."},
        "formulas": [r"- \log p"],
        "claims": [
            {
                "says": "BCE of 0.01 for a 1 is above 4.5",
                "measure": {"quantity": "loss_value", "loss": "bce", "pred": [0.01], "target": [1.0]},
                "above": 4.5,
            }
        ],
    }
    doc.update(changes)
    return doc


def test_the_bundled_lessons_cover_the_ideas_and_load() -> None:
    lessons = load_lessons()
    assert len(lessons) >= 20
    assert len({x.number for x in lessons}) == len(lessons)  # one number each: "lessons --check 05"
    for lesson in lessons:
        assert lesson.claims and all(c.says for c in lesson.claims)
        assert lesson.formulas, f"{lesson.id} shows no formula"
        assert all(lesson.text[part].strip() for part in ("do", "look", "try"))


def test_every_claim_of_every_lesson_holds(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's rule: a lesson whose claim is not checked does not ship (~15 s on 2 cores)."""
    assert main(["lessons", "--check"]) == 0
    out = capsys.readouterr().out
    assert "FAILED" not in out
    assert out.count("  held: ") >= 40
    assert "all " in out.splitlines()[-1] and "held" in out.splitlines()[-1]


def test_a_claim_that_does_not_hold_fails_the_check_with_its_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = _doc()
    doc["claims"] = [  # type: ignore[index]
        {
            "says": "BCE of 0.01 for a 1 is below 1",
            "measure": {"quantity": "loss_value", "loss": "bce", "pred": [0.01], "target": [1.0]},
            "below": 1.0,
        }
    ]
    (tmp_path / "01_false.lesson").write_text(json.dumps(doc), encoding="utf-8")
    assert main(["lessons", "--check", "--folder", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: BCE of 0.01 for a 1 is below 1 -- measured 4.605; needed below 1" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"claims": []}, "at least one checked claim"),
        ({"format": "losslab"}, "not a LossLab lesson"),
        ({"text": {"do": "x", "look": "y"}}, "text.try"),
        ({"experiment": "missing.losslab"}, "missing.losslab"),
        ({"claims": [{"says": "x", "measure": {"quantity": "sharpness"}, "above": 1}]}, "unknown quantity"),
        (
            {"claims": [{"says": "x", "measure": {"quantity": "val_loss"}, "above": 1, "below": 2}]},
            "exactly one",
        ),
        (
            {"claims": [{"says": "x", "measure": {"quantity": "val_loss", "run": "mae"}, "above": 1}]},
            "no run 'mae'",
        ),
        ({"claims": [{"says": "x", "measure": {"quantity": "val_loss"}, "within": 1}]}, "tolerance"),
        ({"race": {"vary": "loss", "values": ["mse"]}}, "at least two values"),
        ({"race": {"vary": "loss", "values": ["mse", "mae"], "sequential": "yes"}}, "true or false"),
        ({"classroom": {"lock": ["everything"]}}, "unknown panel"),
    ],
)
def test_a_bad_lesson_is_refused_naming_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    with pytest.raises(LossLabError, match=message):
        lesson_from_dict(_doc(**change), "99_bad")
    (tmp_path / "99_bad.lesson").write_text(json.dumps(_doc(**change)), encoding="utf-8")
    assert main(["lessons", "--folder", str(tmp_path)]) == 2
    assert message.split("'")[0] in capsys.readouterr().err


def test_a_race_names_its_runs_and_a_race_claim_must_name_one() -> None:
    race = {"vary": "loss", "values": ["mse", "mae"], "labels": ["squared", "absolute"]}
    claim = {"says": "x", "measure": {"quantity": "val_loss"}, "above": 0}
    with pytest.raises(LossLabError, match="name one of squared, absolute"):
        lesson_from_dict(_doc(race=race, claims=[claim]), "98_race")
    claim["measure"] = {"quantity": "val_loss", "run": "absolute"}
    lesson = lesson_from_dict(_doc(race=race, claims=[claim]), "98_race")
    assert lesson.run_labels() == ["squared", "absolute"]


def test_find_lessons_by_number_or_prefix() -> None:
    lessons = load_lessons()
    assert find_lessons(lessons, ["5"])[0].id.startswith("05_")
    assert find_lessons(lessons, ["15_learning"])[0].id.startswith("15_")
    with pytest.raises(LossLabError, match="no lesson"):
        find_lessons(lessons, ["99"])


def test_judge_compares_and_shows_the_numbers() -> None:
    m = Measure("val_loss")
    assert judge(Claim("", m, "within", 150.0, tolerance=0.1), 148.0, 150.0) == (
        True,
        "measured 148; needed within 10% of 150 (135 to 165)",
    )
    assert judge(Claim("", m, "outside", 150.0, tolerance=0.1), 148.0, 150.0)[0] is False
    held, detail = judge(Claim("", m, "below", 0.0, times=0.5), 1.0, 4.0)
    assert held and "0.5 × 4 = 2" in detail
    assert judge(Claim("", m, "above", 0.0), math.nan, 1.0)[0] is False  # NaN never holds a claim
    assert judge(Claim("", m, "above", 0.0), math.inf, 1000.0) == (True, "measured never; needed above 1000")


def test_save_lesson_round_trips_with_the_preset_inline(tmp_path: Path) -> None:
    lesson = lesson_from_dict(_doc(classroom={"lock": ["dataset"], "hide_tabs": ["landscape"]}), "07_x")
    save_lesson(lesson, tmp_path / "07_x.lesson")
    again = load_lesson(tmp_path / "07_x.lesson")
    assert again.to_dict(inline=True) == lesson.to_dict(inline=True)
    assert again.source == "inline" and again.preset().classroom["lock"] == ["dataset"]


def test_every_examples_text_says_what_its_file_does() -> None:
    found = {
        p.name: text_problems(load_experiment(p).description, load_experiment(p)) for p in list_examples()
    }
    assert {name: problems for name, problems in found.items() if problems} == {}


def test_the_text_check_catches_the_mismatches_the_issue_found() -> None:
    exp = load_experiment(EXAMPLE).replace("optimizer", params={"momentum": 0.9})
    assert text_problems("Trained with plain SGD.", exp) == [
        "the text says 'plain sgd' but the file trains with sgd with momentum 0.9"
    ]
    assert text_problems("a learning rate of 10 and Adam", exp) == [
        "the text says a learning rate of 10 but the file's is 0.05"
    ]
    deep = Experiment.default()  # two tanh layers
    assert text_problems("Six tanh layers stacked.", deep) == [
        "the text says Six tanh layers/blocks but the file has 2"
    ]
    assert text_problems("trained with adam, two tanh layers", deep) == []
    circles = load_experiment(Path(EXAMPLE).parent / "09_circles_overfitting.losslab")  # 80 of 200 train
    assert text_problems("Only 90 training points, trained with mean squared error.", circles) == [
        "the text says 'trained with mean squared error' but the file's loss is bce_logits",
        "the text says 90 training points but the file trains on 80",
    ]
    assert (
        text_problems("Compare example 10, trained with MSE and plain SGD.", circles) == []
    )  # not this file


def test_formulas_render_as_rich_text_with_unicode_math() -> None:
    html = formula_html(r"\frac{1}{N} \sum_{i=1}^{N} (\hat{y}_i - y_i)^2")
    assert html == (
        "1⁄<i>N</i> ∑<sub><i>i</i>=1</sub><sup><i>N</i></sup> "
        "(<i>y\u0302</i><sub><i>i</i></sub> − <i>y</i><sub><i>i</i></sub>)<sup>2</sup>"
    )
    assert formula_html(r"\lambda < \nosuch") == "λ &lt; \\nosuch"  # unknown commands stay visible
    assert formula_html(r"\frac{a + b}{2}") == "(<i>a</i> + <i>b</i>)⁄2"
    assert formula_html("{" * 50 + "x") == "<i>x</i>"  # unbalanced braces do not fail


def test_an_experiment_file_can_lock_and_hide_panels(tmp_path: Path) -> None:
    doc = Experiment.default().to_dict()
    assert "classroom" not in doc  # only written when set: old files and digests unchanged
    doc["classroom"] = {
        "lock": ["dataset", "dataset"],
        "hide": ["regularization"],
        "hide_tabs": ["landscape"],
    }
    exp = Experiment.from_dict(doc)
    assert exp.classroom == {"lock": ["dataset"], "hide": ["regularization"], "hide_tabs": ["landscape"]}
    exp.save(tmp_path / "x.losslab")
    assert load_experiment(tmp_path / "x.losslab").classroom == exp.classroom
    doc["classroom"] = {"hide": ["layers"]}
    with pytest.raises(LossLabError, match=r"classroom\.hide: unknown panel 'layers'"):
        Experiment.from_dict(doc)


def test_a_lesson_whose_text_contradicts_its_preset_fails_its_check() -> None:
    from losslab.core.lessons import check_lesson

    text = {"do": "Train it with plain SGD.", "look": "The curve.", "try": "Use Adam instead."}
    exp = load_experiment(EXAMPLE).replace("optimizer", id="adam", params={})
    report = check_lesson(lesson_from_dict(_doc(text=text, experiment=exp.to_dict()), "97_text"))
    assert not report.held
    assert [(r.says, r.held) for r in report.results] == [
        ("the text matches the preset", False),
        ("BCE of 0.01 for a 1 is above 4.5", True),
    ]
    assert "'plain sgd' but the file trains with adam" in report.results[0].detail
