"""Untrusted custom-loss code never runs, whichever door it comes through; trust_code=True lets it.

The code below writes a sentinel file the moment it runs, so "refused" means it really did not run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import losslab
from losslab.core.errors import LossLabError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """(an experiment file whose code nobody trusted, the file its code would create)."""
    sentinel = tmp_path / "code-ran.txt"
    doc = json.loads((ROOT / "resources/examples/14_house_asymmetric_custom.losslab").read_text("utf-8"))
    doc["training"]["epochs"] = 1
    doc["loss"]["code"] = (
        f"open({str(sentinel)!r}, 'w').write('ran')\n"
        "def loss(pred, target):\n"
        "    return ((pred - target) ** 2).mean()\n"
    )
    path = tmp_path / "hostile.losslab"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path, sentinel


def _doors(path: Path) -> dict[str, Callable[[], Any]]:
    from losslab.core.race import plan_race, run_race
    from losslab.core.trainer import make_trainer

    exp = losslab.load_experiment(path)
    return {
        "train(path)": lambda: losslab.train(path, record=False),
        "train(load_experiment(path))": lambda: losslab.train(exp, record=False),
        "train(dict)": lambda: losslab.train(exp.to_dict(), record=False),
        "loss(exp.loss)": lambda: losslab.loss(exp.loss)(torch.zeros(3), torch.ones(3)),
        "lr_find": lambda: losslab.lr_find(exp, steps=5),
        "landscape": lambda: losslab.landscape(exp, steps=3),
        "make_trainer().run()": lambda: make_trainer(exp).run(),
        "run_race": lambda: run_race(plan_race(exp, {"optimizer.lr": [0.01, 0.1]})),
    }


DOOR_NAMES = [
    "train(path)",
    "train(load_experiment(path))",
    "train(dict)",
    "loss(exp.loss)",
    "lr_find",
    "landscape",
    "make_trainer().run()",
    "run_race",
]


@pytest.mark.parametrize("door", DOOR_NAMES)
def test_every_python_door_refuses_untrusted_code(hostile: tuple[Path, Path], door: str) -> None:
    path, sentinel = hostile
    with pytest.raises(LossLabError, match="trust"):
        _doors(path)[door]()
    assert not sentinel.exists(), f"{door} ran code nobody trusted"


def test_trust_code_true_lets_it_run(hostile: tuple[Path, Path]) -> None:
    path, sentinel = hostile
    losslab.train(path, record=False, trust_code=True)
    assert sentinel.exists()


def test_loss_with_trust_code_runs_a_section_given_in_python(hostile: tuple[Path, Path]) -> None:
    path, sentinel = hostile
    section = losslab.load_experiment(path).loss
    value = losslab.loss(section, trust_code=True)(torch.zeros(3), torch.ones(3))
    assert float(value) == pytest.approx(1.0) and sentinel.exists()


@pytest.mark.parametrize("command", [["run"], ["race", "--vary", "optimizer.lr=0.01,0.1"], ["lr-find"]])
def test_every_command_refuses_untrusted_code(hostile: tuple[Path, Path], command: list[str]) -> None:
    path, sentinel = hostile
    args = [sys.executable, "-m", "losslab", command[0], str(path), *command[1:]]
    done = subprocess.run(
        [*args, "--no-record"] if command[0] != "lr-find" else args,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
    )
    assert done.returncode == 2, done.stderr
    assert "--trust-code" in done.stderr and "Traceback" not in done.stderr
    assert not sentinel.exists()


def test_text_direction_controls_are_refused() -> None:
    from losslab.core.custom_loss import CustomLossError, parse_code

    trojan = "def loss(pred, target):\n    return ((pred - target) ** 2).mean()  # \u202e }\n"
    with pytest.raises(CustomLossError, match="U\\+202E"):
        parse_code(trojan)


@pytest.mark.parametrize("where", ["top", "loss"])
def test_a_loss_that_calls_sys_exit_is_an_error_not_a_quiet_success(tmp_path: Path, where: str) -> None:
    doc = json.loads((ROOT / "resources/examples/14_house_asymmetric_custom.losslab").read_text("utf-8"))
    doc["training"]["epochs"] = 1
    exit_line = "import sys\nsys.exit(0)\n"
    body = "    sys.exit(0)\n" if where == "loss" else "    return ((pred - target) ** 2).mean()\n"
    doc["loss"]["code"] = (
        (exit_line if where == "top" else "import sys\n") + "def loss(pred, target):\n" + body
    )
    path = tmp_path / "exits.losslab"
    path.write_text(json.dumps(doc), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "losslab", "run", str(path), "--trust-code", "--no-record", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "exit() or sys.exit()" in done.stderr and "Traceback" not in done.stderr
