"""The trainer's class probabilities equal torch's softmax (written out for speed, #19)."""

from __future__ import annotations

import torch

from losslab.core.experiment import load_experiment
from losslab.core.resources import list_examples
from losslab.core.trainer import make_trainer


def test_probabilities_equal_torch_softmax_to_float_rounding():
    path = next(p for p in list_examples() if p.stem.startswith("07_"))
    trainer = make_trainer(load_experiment(path))
    if trainer.loss_spec.output != "logits" or trainer.out_features < 3:
        raise AssertionError(f"{path.stem} is expected to be a multi-class logits example")
    logits = torch.randn(500, trainer.out_features) * 30  # large logits: exp must not overflow
    probs = trainer.probabilities(logits)
    assert torch.allclose(probs, logits.softmax(dim=1), rtol=0, atol=1e-6)
    assert torch.allclose(probs.sum(dim=1), torch.ones(500), atol=1e-6)
    assert torch.equal(logits, logits.clone())  # the logits themselves are left as they were
