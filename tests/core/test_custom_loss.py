"""Custom losses: bad code gives a clear, line-numbered message; good code trains; files and trust."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import losslab
from losslab.core import custom_loss as cl
from losslab.core.custom_loss import (
    TEMPLATES,
    CustomLossError,
    check_custom_loss,
    validate_custom_section,
)
from losslab.core.data import make_dataset
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.losses import resolve_loss
from losslab.core.trainer import make_trainer
from losslab.core.trust import is_trusted, shipped_digests, trust, trust_file, untrusted_code

pytestmark = pytest.mark.usefixtures("any_code_runs")  # these test what code does

ROOT = Path(__file__).resolve().parents[2]
ASYMMETRIC = (
    "def loss(pred, target):\n"
    "    error = pred - target\n"
    "    weight = torch.where(error < 0, 3.0, 1.0)\n"
    "    return (weight * error ** 2).mean()\n"
)


def section(code: str, **extra) -> dict:
    return {"id": "custom", "code": code, **extra}


def experiment(loss: dict, kind: str = "house_prices", **training) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": {"kind": kind, "n_samples": 200},
            "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
            "loss": loss,
            "optimizer": {"id": "adam", "lr": 0.02},
            "training": {"epochs": 3, "batch_size": 32, **training},
        }
    )


@pytest.fixture(scope="module")
def houses():
    return make_dataset({"kind": "house_prices", "n_samples": 200})


@pytest.fixture(scope="module")
def moons():
    return make_dataset({"kind": "moons", "n_samples": 200})


# --- bad code: at least ten kinds, each with its line and a message a student can act on -----------

BAD_CODE = [
    ("syntax", "def loss(pred, target)\n    return pred.mean()\n", 1, "expected ':'"),
    ("indentation", "def loss(pred, target):\nreturn pred.mean()\n", 2, "indented"),
    ("unclosed bracket", "def loss(pred, target):\n    return (pred - target.mean()\n", 2, "never closed"),
    ("no loss function", "def my_loss(pred, target):\n    return pred.mean()\n", None, "rename it to loss"),
    ("wrong arguments", "def loss(pred):\n    return pred.mean()\n", 1, "two inputs"),
    (
        "typo in a name",
        "def loss(pred, target):\n    e = pred - target\n    return troch.mean(e ** 2)\n",
        3,
        "Did you mean torch",
    ),
    (
        "no such function",
        "def loss(pred, target):\n    return torch.sqaure(pred - target).mean()\n",
        2,
        "Did you mean square",
    ),
    ("missing module", "import sklearn\ndef loss(pred, target):\n    return pred.mean()\n", 1, "no module"),
    ("one value per sample", "def loss(pred, target):\n    return (pred - target) ** 2\n", 2, ".mean()"),
    (
        "plain number",
        "def loss(pred, target):\n    return float(((pred - target) ** 2).mean())\n",
        2,
        "plain number",
    ),
    ("returns nothing", "def loss(pred, target):\n    (pred - target).abs().mean()\n", 1, "returned nothing"),
    ("NaN", "def loss(pred, target):\n    return torch.log(pred - target).mean()\n", 2, "NaN"),
    (
        "no gradient",
        "def loss(pred, target):\n    return (target ** 2).mean()\n",
        2,
        "does not depend on pred",
    ),
    (
        "detached",
        "def loss(pred, target):\n    return ((pred.detach() - target) ** 2).mean()\n",
        2,
        "does not depend on pred",
    ),
    (
        "zero gradient",
        "def loss(pred, target):\n    return (torch.round(pred) - target).abs().mean()\n",
        2,
        "zero",
    ),
    ("integer result", "def loss(pred, target):\n    return (pred > target).sum()\n", 2, "no gradient"),
    (
        "in place",
        "def loss(pred, target):\n    pred -= target\n    return (pred ** 2).mean()\n",
        2,
        "in place",
    ),
    (
        "shape mismatch",
        "def loss(pred, target):\n    return (pred - target[:3]).abs().mean()\n",
        2,
        "shape (64,)",
    ),
    (
        "endless loop",
        "def loss(pred, target):\n    total = 0\n    while True:\n        total += 1\n",
        3,
        "still running",
    ),
    (
        "endless comprehension",
        "import itertools\ndef loss(pred, target):\n    return sum(pred.mean() for _ in itertools.count())\n",
        3,
        "still running",
    ),
    ("recursion", "def loss(pred, target):\n    return loss(pred, target)\n", 2, "calling itself"),
    (
        "division by zero",
        "def loss(pred, target):\n    n = 0\n    return ((pred - target) ** 2).sum() / (1 / n)\n",
        3,
        "division by zero",
    ),
    ("item", "def loss(pred, target):\n    return (pred - target).item()\n", 2, ".item()"),
    (
        "NaN gradient",
        "def loss(pred, target):\n    return torch.sqrt((pred - pred) ** 2).mean()\n",
        2,
        "gradient",
    ),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's own warnings about the bad code itself
@pytest.mark.parametrize(("kind", "code", "line", "fragment"), BAD_CODE, ids=[b[0] for b in BAD_CODE])
def test_bad_code_gives_a_clear_message_with_its_line(kind, code, line, fragment, houses):
    start = time.perf_counter()
    with pytest.raises(CustomLossError) as err:
        check_custom_loss(section(code), houses, seconds=0.5)
    assert time.perf_counter() - start < 3.0  # never hangs, even on an endless loop
    exc = err.value
    assert exc.line == line, str(exc)
    assert fragment in exc.detail, exc.detail
    assert exc.field == "loss.code"
    assert "Traceback" not in str(exc) and "File " not in str(exc)
    if line is not None:
        assert str(exc).startswith(f"loss.code: line {line}: ")


def test_there_are_at_least_ten_kinds_of_bad_code():
    assert len({kind for kind, *_ in BAD_CODE}) >= 10


def test_a_stuck_call_is_abandoned_not_waited_for(houses):
    code = "import time\ndef loss(pred, target):\n    time.sleep(5)\n    return pred.mean()\n"
    start = time.perf_counter()
    with pytest.raises(CustomLossError, match="took longer"):
        check_custom_loss(section(code), houses, seconds=0.3)
    assert time.perf_counter() - start < 2.0


def test_code_stuck_while_loading_does_not_block_the_next_check(houses):
    stuck = "import time\ntime.sleep(5)\ndef loss(pred, target):\n    return pred.mean()\n"
    with pytest.raises(CustomLossError, match="took longer"):
        check_custom_loss(section(stuck), houses, seconds=0.3)
    start = time.perf_counter()
    check_custom_loss(section(ASYMMETRIC + "# another\n"), houses)
    assert time.perf_counter() - start < 2.0


def test_code_that_fails_only_on_one_sample_says_so(houses):
    code = "def loss(pred, target):\n    return ((pred - target) ** 2).mean() / (len(pred) - 1)\n"
    with pytest.raises(CustomLossError, match="batch of one sample"):
        check_custom_loss(section(code), houses)


def test_code_must_handle_every_task_it_declares(moons):
    code = "def loss(pred, target):\n    return F.binary_cross_entropy_with_logits(pred, target)\n"
    check_custom_loss(section(code, tasks=["binary"], output="logits"), moons)
    with pytest.raises(CustomLossError, match="multi-class") as err:
        check_custom_loss(section(code, tasks=["binary", "multiclass"], output="logits"), moons)
    assert err.value.line == 2


def test_declared_tasks_must_include_the_data(houses):
    with pytest.raises(CustomLossError) as err:
        check_custom_loss(section(ASYMMETRIC, tasks=["binary"]), houses)
    assert err.value.field == "loss.tasks"
    assert "regression" in str(err.value)


def test_probabilities_that_need_a_sigmoid_are_hinted(moons):
    code = "def loss(pred, target):\n    return -(target * torch.log(pred)).mean()\n"
    with pytest.raises(CustomLossError, match=r"torch\.sigmoid"):
        check_custom_loss(section(code, tasks=["binary"], output="logits"), moons)
    check_custom_loss(section(code, tasks=["binary"], output="probabilities"), moons)


# --- the section in a file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "field"),
    [
        (section(ASYMMETRIC, weight=2), "loss.weight"),
        (section(ASYMMETRIC, params={"delta": 1}), "loss.params.delta"),
        (section(""), "loss.code"),
        (section(42), "loss.code"),
        (section("x" * (cl.MAX_CODE_CHARS + 1)), "loss.code"),
        (section("def loss(pred, target):\n    return (pred\n"), "loss.code"),
        (section(ASYMMETRIC, tasks=["ranking"]), "loss.tasks"),
        (section(ASYMMETRIC, tasks=[]), "loss.tasks"),
        (section(ASYMMETRIC, tasks=["gan"]), "loss.tasks"),
        (section(ASYMMETRIC, output="odds"), "loss.output"),
        (section(ASYMMETRIC, output="probabilities"), "loss.output"),
        (section(ASYMMETRIC, name=3), "loss.name"),
        (section(ASYMMETRIC, tasks=["binary"]), "loss.tasks"),  # does not fit house prices
    ],
)
def test_bad_sections_name_the_field(loss, field):
    with pytest.raises(LossLabError) as err:
        experiment(loss)
    assert err.value.field == field, str(err.value)


def test_defaults_are_filled_in_and_the_file_round_trips(tmp_path):
    exp = experiment(section(ASYMMETRIC, name="  Asymmetric   houses "))
    assert exp.loss == {
        "id": "custom",
        "params": {},
        "name": "Asymmetric houses",
        "code": ASYMMETRIC,
        "tasks": ["regression"],
        "output": "raw",
    }
    path = tmp_path / "asym.losslab"
    exp.save(path)
    assert json.loads(path.read_text())["loss"]["code"] == ASYMMETRIC
    again = load_experiment(path)
    assert again.to_dict() == exp.to_dict()


def test_loading_a_file_runs_none_of_its_code(tmp_path):
    marker = tmp_path / "ran.txt"
    code = f"open({str(marker)!r}, 'w').write('ran')\n" + ASYMMETRIC
    path = tmp_path / "sneaky.losslab"
    experiment(section(code)).save(path)
    exp = load_experiment(path)
    resolve_loss(exp.loss, "regression")  # building its LossSpec does not run it either
    assert not marker.exists()
    make_trainer(exp).run(epochs=1)  # training runs it (the front ends ask for trust first)
    assert marker.exists()


# --- good code trains like a built-in loss --------------------------------------------------------


def test_an_asymmetric_loss_trains_and_predicts_above_the_middle():
    exp = experiment(section(ASYMMETRIC), epochs=40)
    trainer = make_trainer(exp)
    trainer.run()
    losses = trainer.history["train_loss"]
    assert losses[-1] < losses[0], losses
    # Under-predicting costs 3x: most targets end up below the prediction.
    with torch.no_grad():
        pred = trainer.outputs(trainer.x_train)
    assert float((pred > trainer.y_train).float().mean()) > 0.6


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.name for t in TEMPLATES])
def test_every_template_passes_its_check_and_trains(template):
    kind = {"regression": "house_prices", "binary": "moons", "multiclass": "blobs"}[template.tasks[0]]
    exp = experiment(template.to_section(), kind=kind, epochs=2)
    result = check_custom_loss(exp.loss, make_dataset(exp.dataset))
    assert math.isfinite(result.value)
    trainer = make_trainer(exp)
    trainer.run()
    losses = trainer.history["train_loss"]
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0] * 1.5


def test_probabilities_output_gets_the_activation_for_the_task():
    code = "def loss(pred, target):\n    return -torch.log(pred[torch.arange(len(target)), target]).mean()\n"
    loss = section(code, tasks=["multiclass"], output="probabilities")
    trainer = make_trainer(experiment(loss, kind="blobs"))
    assert type(trainer.model.out_act).__name__ == "Softmax"
    with torch.no_grad():
        out = trainer.outputs(trainer.x_train[:5])
    assert torch.allclose(out.sum(1), torch.ones(5, device=out.device))  # auto picks CUDA where there is one
    binary = make_trainer(
        experiment(
            section(
                "def loss(p, t):\n    return F.binary_cross_entropy(p, t)\n",
                tasks=["binary"],
                output="probabilities",
            ),
            kind="moons",
        )
    )
    assert type(binary.model.out_act).__name__ == "Sigmoid"


def test_a_loop_that_never_ends_in_training_stops_it_with_the_line(monkeypatch):
    monkeypatch.setattr(cl, "TRAIN_SECONDS", 0.2)
    code = (
        "def loss(pred, target):\n"
        "    while pred.shape[0] < 10:\n"
        "        pass\n"
        "    return (pred - target).abs().mean()\n"
    )
    exp = experiment(section(code), epochs=1, batch_size=7)
    with pytest.raises(CustomLossError) as err:
        make_trainer(exp).run()
    assert err.value.line == 2


# --- per-sample values ----------------------------------------------------------------------------


def test_per_sample_values_match_single_calls_vectorized_or_not():
    vectorized = resolve_loss(section(ASYMMETRIC), "regression")
    looped_code = (
        "def loss(pred, target):\n"
        "    if float(pred.mean()) > 1e9:\n"  # data-dependent Python: vmap cannot, a loop can
        "        return pred.sum()\n"
        "    error = pred - target\n"
        "    return (torch.where(error < 0, 3.0, 1.0) * error ** 2).mean()\n"
    )
    looped = resolve_loss(section(looped_code), "regression")
    pred = torch.randn(50, dtype=torch.float64)
    target = torch.randn(50, dtype=torch.float64)
    a = vectorized.per_sample(pred, target)
    b = looped.per_sample(pred, target)
    single = torch.stack([vectorized.compute(pred[i : i + 1], target[i : i + 1]) for i in range(50)])
    torch.testing.assert_close(a, single)
    torch.testing.assert_close(b, single)
    assert cl.code_digest(looped_code) in cl._loop_mode
    assert cl.code_digest(ASYMMETRIC) not in cl._loop_mode
    assert vectorized.compute(pred, target) == pytest.approx(float(a.mean()))


# --- losslab.loss ---------------------------------------------------------------------------------


def test_losslab_loss_accepts_a_custom_loss():
    pred, target = torch.tensor([1.0, 3.0]), torch.tensor([2.0, 2.0])
    by_code = losslab.loss("custom", code=ASYMMETRIC)
    assert float(by_code(pred, target)) == pytest.approx((3 * 1 + 1) / 2)
    by_section = losslab.loss(experiment(section(ASYMMETRIC)).loss)
    assert float(by_section(pred[:, None], target)) == pytest.approx(2.0)  # (N, 1) works like (N,)
    with pytest.raises(LossLabError, match=r"loss\.params\.delta"):
        losslab.loss("custom", code=ASYMMETRIC, delta=1.0)
    with pytest.raises(CustomLossError, match="line 2"):
        losslab.loss("custom", code="def loss(p, t):\n    return nope(p)\n")(pred, target)


# --- trust ----------------------------------------------------------------------------------------


def test_trust_is_remembered_by_the_code_hash():
    code = ASYMMETRIC + "# trust test\n"
    assert not is_trusted(code)
    assert trust(code)
    assert is_trusted(code)
    assert not is_trusted(code + " ")  # any change to the code asks again
    assert str(trust_file()).startswith(os.environ["LOSSLAB_DATA_DIR"])


def test_shipped_examples_with_code_are_trusted():
    from losslab.core.resources import list_examples

    with_code = [p for p in list_examples() if "code" in json.loads(p.read_text())["loss"]]
    assert len(with_code) >= 2
    assert len(shipped_digests()) >= 2
    for path in with_code:
        assert untrusted_code(load_experiment(path)) is None


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "losslab", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_refuses_code_from_elsewhere_unless_trusted(tmp_path):
    code = ASYMMETRIC + "# from a stranger\n"
    path = tmp_path / "stranger.losslab"
    experiment(section(code), epochs=1).save(path)
    refused = _cli("run", str(path), "--out", str(tmp_path / "out"), "--quiet")
    assert refused.returncode == 2, refused.stderr
    assert "--trust-code" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "out").exists()
    ran = _cli("run", str(path), "--out", str(tmp_path / "out"), "--quiet", "--trust-code")
    assert ran.returncode == 0, ran.stderr


def test_api_train_refuses_a_file_with_untrusted_code(tmp_path):
    path = tmp_path / "stranger.losslab"
    experiment(section(ASYMMETRIC + "# api\n"), epochs=1).save(path)
    with pytest.raises(LossLabError, match="trust_code=True"):
        losslab.train(path)
    history = losslab.train(path, trust_code=True)
    assert len(history) == 1


def test_validate_keeps_the_tasks_in_a_fixed_order():
    out = validate_custom_section(section(ASYMMETRIC, tasks=["multiclass", "regression"]))
    assert out["tasks"] == ["regression", "multiclass"]
    assert np.all([t in cl.CUSTOM_TASKS for t in out["tasks"]])
