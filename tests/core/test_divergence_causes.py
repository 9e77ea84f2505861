"""Divergence advice names the cause the numbers show: the learning rate only when the loss grew."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import losslab
from losslab.core.events import Finished

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _diverged(doc: dict[str, Any]) -> str:
    events: list[Any] = []
    losslab.train(doc, trust_code=True, record=False, callback=events.append)
    finished = next(e for e in events if isinstance(e, Finished))
    assert finished.diverged is not None, "expected the run to diverge"
    return finished.diverged.message


def _custom(code: str, epochs: int = 3) -> dict[str, Any]:
    doc = json.loads((EXAMPLES / "01_house_prices_mse.losslab").read_text(encoding="utf-8"))
    doc["training"]["epochs"] = epochs
    doc["loss"] = {"id": "custom", "name": "probe", "tasks": ["regression"], "output": "raw", "code": code}
    return doc


def test_nan_on_the_first_batch_is_not_the_learning_rate() -> None:
    message = _diverged(
        _custom("def loss(pred, target):\n    return ((pred - target) ** 2).mean() * float('nan')\n")
    )
    assert "first batch, before any update" in message
    assert "learning rate is not the cause" in message and "custom loss" in message
    assert "lower the learning rate" not in message


def test_a_nan_gradient_under_a_finite_loss_is_named() -> None:
    # torch.where's unused branch has a NaN gradient (sqrt of a negative), the value stays finite.
    code = (
        "import torch\n"
        "def loss(pred, target):\n"
        "    return torch.where(pred > 1e9, torch.sqrt(-pred.abs() - 1), (pred - target) ** 2).mean()\n"
    )
    message = _diverged(_custom(code))
    assert "a gradient was NaN or infinite" in message
    assert "a lower learning rate will not fix it" in message


def test_a_too_high_learning_rate_is_still_called_so() -> None:
    doc = json.loads((EXAMPLES / "11_learning_rate_too_high.losslab").read_text(encoding="utf-8"))
    message = _diverged(doc)
    assert "The updates overshot" in message and "lower the learning rate" in message
