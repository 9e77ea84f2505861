"""Soft targets (#14): annotators' shares, KL divergence on them, and calibration (ECE).

The claim of examples 32 and 33 is checked at their fixed seed: on the same points and network,
KL divergence on the shares ends far better calibrated than cross-entropy on one annotator's label,
both by the per-epoch ECE and against the same truth (the validation shares).
"""

from __future__ import annotations

import numpy as np
import pytest

from losslab.core.data import make_dataset
from losslab.core.data.soft_labels import hard_and_soft
from losslab.core.experiment import load_experiment
from losslab.core.metrics import expected_calibration_error, reliability
from losslab.core.resources import examples_dir
from losslab.core.trainer import make_trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_annotators_give_a_hard_and_a_soft_label_per_point():
    ds = make_dataset({"kind": "annotators", "n_samples": 400, "annotators": 4, "seed": 3})
    assert ds.soft_train is not None and ds.soft_val is not None
    assert ds.soft_train.shape == (ds.n_train, 3) and ds.soft_val.shape == (ds.n_val, 3)
    assert np.allclose(ds.soft_train.sum(axis=1), 1.0)
    assert set(np.unique(ds.soft_train * 4)) <= {0.0, 1.0, 2.0, 3.0, 4.0}  # shares of four votes
    assert 0.05 < np.mean(ds.soft_train.max(axis=1) < 1.0) < 0.95  # some points split the annotators
    votes = np.array([[2, 0, 2, 1], [1, 1, 1, 1]])
    hard, soft = hard_and_soft(votes, 3)
    assert hard.tolist() == [2, 1]
    assert soft.tolist() == [[0.25, 0.25, 0.5], [0.0, 1.0, 0.0]]


def test_ece_and_the_reliability_diagram():
    probs = np.array([[0.85, 0.15], [0.85, 0.15], [0.65, 0.35], [0.65, 0.35]])
    hard = np.array([0, 1, 0, 0])
    conf, acc, counts = reliability(probs, hard, bins=10)
    assert counts.tolist() == [0, 0, 0, 0, 0, 0, 2, 0, 2, 0]  # confidences 0.65 and 0.85
    assert acc[8] == 0.5 and acc[6] == 1.0 and conf[8] == pytest.approx(0.85)
    assert np.isnan(acc[0]) and np.isnan(conf[0])  # an empty bin
    assert expected_calibration_error(probs, hard) == pytest.approx(0.5 * 0.35 + 0.5 * 0.35)
    # A soft target counts the probability it gives the predicted class: calibrated exactly here.
    assert expected_calibration_error(probs, probs) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([0.8, 0.2]), np.array([0.8, 0.2])) == pytest.approx(0.0)
    assert np.isnan(expected_calibration_error(np.array([[np.nan, 1.0]]), np.array([0])))


def _train(name: str):
    trainer = make_trainer(load_experiment(examples_dir() / f"{name}.losslab"), diagnostics=False)
    return trainer, trainer.run().history


def test_kl_on_soft_labels_is_better_calibrated_than_cross_entropy_on_hard_labels():
    kl, kl_h = _train("32_soft_labels_kl")
    ce, ce_h = _train("33_hard_labels_cross_entropy")
    assert kl.dataset.name == ce.dataset.name and np.array_equal(kl.dataset.x_val, ce.dataset.x_val)
    assert tuple(kl.y_train.shape) == (kl.dataset.n_train, 3)  # KL trains on the shares
    assert tuple(ce.y_train.shape) == (ce.dataset.n_train,)  # cross-entropy on the hard labels
    assert kl_h["val_ece"][-1] < 0.06 and ce_h["val_ece"][-1] > 0.15
    # The same truth for both: the validation points' annotator shares.
    shares = kl.dataset.soft_val
    x_val = kl.dataset.x_to_display(kl.dataset.x_val)
    kl_ece = expected_calibration_error(kl.predict(x_val), shares)
    ce_ece = expected_calibration_error(ce.predict(x_val), shares)
    assert ce_ece > 3 * kl_ece
    assert ce.predict(x_val).max(axis=1).mean() > kl.predict(x_val).max(axis=1).mean() + 0.1  # overconfident


def test_a_race_trains_kl_on_the_soft_labels_too():
    from losslab.core.race import plan_race

    exp = load_experiment(examples_dir() / "33_hard_labels_cross_entropy.losslab")
    modes = plan_race(exp, {"loss": ["cross_entropy", "kl_div", "focal"]}).modes
    assert modes[1].startswith("sequential (soft labels")  # on its own through the trainer
    assert not modes[0].startswith("sequential (soft") and not modes[2].startswith("sequential (soft")
