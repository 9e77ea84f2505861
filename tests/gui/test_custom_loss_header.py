"""The custom-loss editor's header announces the batch shapes its Check then runs the code on."""

from __future__ import annotations

import re

import pytest

from losslab.core.experiment import Experiment
from losslab.gui.state import ExperimentState

CODE = "def loss(pred, target):\n    return ((pred - target) ** 2).mean()\n"


@pytest.mark.parametrize("batch_size", [16, 0])  # 0: the whole training set in one batch
def test_header_and_check_agree_on_the_batch(qtbot, batch_size: int) -> None:
    import torch  # noqa: F401 - loaded before the timed check, as the window does at start

    from losslab.gui.custom_loss_dialog import CustomLossDialog

    doc = Experiment.default().to_dict()
    doc["dataset"] = {"kind": "house_prices", "n_samples": 120}
    doc["loss"] = {"id": "mse", "params": {}}
    doc["training"]["batch_size"] = batch_size
    state = ExperimentState(Experiment.from_dict(doc))
    dialog = CustomLossDialog(state)
    qtbot.addWidget(dialog)
    dialog.editor.setPlainText(CODE)
    (shown,) = set(re.findall(r"\((\d+),\)", dialog.shapes.text()))  # pred: (n,) ...; target: (n,) ...
    assert dialog.check(), dialog.problem()
    checked = re.search(r"batch of (\d+) samples", dialog.status.text())
    assert checked is not None and checked.group(1) == shown
    assert int(shown) == (batch_size or state.dataset.n_train)
