"""The pairing advisor: each warning fires on the set-up it is about, and its one-click fix removes it."""

from __future__ import annotations

import pytest

from losslab.core.advisor import Advice, advise, apply_fix, count_outliers
from losslab.core.data import make_dataset
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.losses import losses_for_task
from losslab.core.resources import list_examples
from losslab.core.tasks import BINARY
from losslab.core.trainer import make_trainer

pytestmark = pytest.mark.usefixtures("any_code_runs")  # these test what code does


def experiment(dataset: dict, loss: dict) -> Experiment:
    return Experiment.from_dict(
        {
            "format": "losslab",
            "schema_version": 1,
            "dataset": dataset,
            "model": {"layers": [{"type": "linear", "units": 8}, {"type": "tanh"}]},
            "loss": loss,
            "optimizer": {"id": "adam", "lr": 0.02},
            "training": {"epochs": 2},
        }
    )


def custom(code: str, output: str, tasks=("binary",)) -> dict:
    return {"id": "custom", "code": code, "output": output, "tasks": list(tasks)}


MOONS = {"kind": "moons", "n_samples": 300}
SQUARED = "def loss(pred, target):\n    return ((pred - target) ** 2).mean()\n"


def ids(exp: Experiment) -> list[str]:
    return [a.id for a in advise(exp, make_dataset(exp.dataset))]


def only(exp: Experiment, advice_id: str) -> Advice:
    found = advise(exp, make_dataset(exp.dataset))
    assert [a.id for a in found][:1] == [advice_id], [a.id for a in found]
    advice = found[0]
    assert advice.title and advice.message.endswith(".") and advice.fix_label and advice.fix
    return advice


def fixed(exp: Experiment, advice: Advice) -> Experiment:
    new = apply_fix(exp, advice)
    assert advice.id not in ids(new)
    make_trainer(new).run(epochs=1)  # the fixed experiment is valid and trains
    return new


def test_sigmoid_output_with_squared_error_stalls_when_confidently_wrong():
    exp = experiment(MOONS, custom(SQUARED, "probabilities"))
    advice = only(exp, "slow_when_wrong")
    assert "sigmoid" in advice.message and "%" in advice.message
    new = fixed(exp, advice)
    assert new.loss == {"id": "bce_logits", "params": {"pos_weight": 1.0}}


def test_softmax_output_with_squared_error_on_several_classes():
    code = (
        "def loss(pred, target):\n"
        "    onehot = F.one_hot(target, pred.shape[1]).float()\n"
        "    return ((pred - onehot) ** 2).sum(1).mean()\n"
    )
    exp = experiment({"kind": "blobs", "n_samples": 300}, custom(code, "probabilities", ("multiclass",)))
    advice = only(exp, "slow_when_wrong")
    assert "softmax" in advice.message
    assert fixed(exp, advice).loss["id"] == "cross_entropy"


def test_mse_on_data_with_outliers_suggests_huber():
    exp = experiment({"kind": "house_prices", "outlier_fraction": 0.05}, {"id": "mse"})
    advice = only(exp, "outliers")
    assert "Huber" in advice.message and "MAE" in advice.message
    assert fixed(exp, advice).loss["id"] == "huber"


def test_outliers_are_found_without_the_datasets_own_marks():
    ds = make_dataset({"kind": "plane", "outlier_fraction": 0.03, "n_samples": 400})
    ds.outliers_train[:] = False  # as if it came from a CSV: nothing marked
    assert count_outliers(ds) >= 5
    clean = make_dataset({"kind": "plane", "outlier_fraction": 0.0, "n_samples": 400})
    assert count_outliers(clean) == 0
    assert count_outliers(make_dataset({"kind": "sine", "n_samples": 400})) == 0  # curved, not outlying


def test_robust_losses_and_clean_data_get_no_outlier_warning():
    outlying, clean = {"kind": "house_prices", "outlier_fraction": 0.05}, {"kind": "house_prices"}
    assert "outliers" not in ids(experiment(outlying, {"id": "huber"}))
    assert "outliers" not in ids(experiment({**clean, "outlier_fraction": 0.0}, {"id": "mse"}))


def test_probabilities_fed_to_a_formula_for_logits():
    code = "def loss(pred, target):\n    return F.binary_cross_entropy_with_logits(pred, target)\n"
    exp = experiment(MOONS, custom(code, "probabilities"))
    advice = only(exp, "output_mismatch")
    assert "logits" in advice.title
    new = fixed(exp, advice)
    assert new.loss["output"] == "logits" and new.loss["code"] == code
    assert ids(new) == []


def test_logits_fed_to_a_formula_for_probabilities():
    exp = experiment(MOONS, custom(SQUARED, "logits"))
    advice = only(exp, "output_mismatch")
    assert "probabilities" in advice.title
    new = fixed(exp, advice)
    assert new.loss["output"] == "probabilities"
    assert ids(new) == ["slow_when_wrong"]  # the next problem shows up, with its own fix
    assert ids(apply_fix(new, advise(new, make_dataset(new.dataset))[0])) == []


def test_hinge_with_0_1_labels_not_adapted():
    code = "def loss(pred, target):\n    return torch.clamp(1 - target * pred, min=0).mean()\n"
    exp = experiment(MOONS, custom(code, "raw"))
    advice = only(exp, "labels_not_signed")
    assert "−1" in advice.message
    new = fixed(exp, advice)
    assert "target = 2 * target - 1" in new.loss["code"]
    assert ids(new) == []


def test_hinge_fix_falls_back_to_the_built_in_when_the_code_cannot_take_it():
    code = "def loss(pred, target): return torch.clamp(1 - target * pred, min=0).mean()\n"  # one line
    exp = experiment(MOONS, custom(code, "raw"))
    advice = only(exp, "labels_not_signed")
    assert fixed(exp, advice).loss["id"] == "hinge"


def test_cross_entropy_on_a_single_output_unit():
    code = "def loss(pred, target):\n    return F.cross_entropy(pred, target)\n"
    exp = experiment(MOONS, custom(code, "logits"))
    advice = only(exp, "single_output")
    assert "softmax" in advice.message
    assert fixed(exp, advice).loss["id"] == "bce_logits"


def test_good_set_ups_get_no_advice():
    good = "def loss(pred, target):\n    return F.binary_cross_entropy_with_logits(pred, target)\n"
    assert ids(experiment(MOONS, custom(good, "logits"))) == []
    for loss_id in [s.id for s in losses_for_task(BINARY)]:
        assert ids(experiment(MOONS, {"id": loss_id})) == [], loss_id
    assert ids(experiment({"kind": "spiral_k", "n_samples": 300}, {"id": "cross_entropy"})) == []


def test_of_the_examples_only_the_outlier_lesson_gets_a_warning():
    flagged = {}
    for path in list_examples():
        exp = load_experiment(path)
        if exp.dataset["kind"].startswith("gan"):
            continue
        found = ids(exp)
        if found:
            flagged[path.stem] = found
    assert flagged == {"02_house_outliers_mse": ["outliers"]}


def test_a_broken_custom_loss_gets_no_advice_rather_than_an_error():
    exp = experiment(MOONS, custom("def loss(pred, target):\n    return pred.mean() / nothing\n", "logits"))
    assert ids(exp) == []


@pytest.mark.parametrize("section", ["dataset", "loss"])
def test_apply_fix_validates(section):
    exp = experiment(MOONS, {"id": "bce"})
    bad = Advice("x", "x", "x.", "x", {section: {"id": "nope"} if section == "loss" else {"kind": "nope"}})
    with pytest.raises(Exception, match="nope"):
        apply_fix(exp, bad)
