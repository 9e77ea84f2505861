"""Segmentation's headline metric is IoU everywhere (pixel accuracy flatters an all-background model),
and the per-sample history of masks is written; races on image data train their variants together."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from losslab.cli import main
from losslab.core.metrics import HEADLINE, MASKS, headline, measured_masks
from losslab.core.tasks import BINARY, MULTICLASS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"
DICE = EXAMPLES / "23_segmentation_dice.losslab"
BCE = EXAMPLES / "24_segmentation_bce.losslab"
SHAPES = EXAMPLES / "22_shapes_cnn_cross_entropy.losslab"


def test_the_mask_case_is_one_entry_of_the_headline_table() -> None:
    assert HEADLINE[MASKS] == "iou"
    assert headline(BINARY, masks=True) == "iou"
    assert headline(BINARY) == "accuracy"
    assert headline(MULTICLASS, masks=True) == "accuracy"  # only binary targets can be masks
    assert headline(None) == ""
    assert measured_masks(BINARY, {"val_iou": 0.5}) and not measured_masks(BINARY, {"val_accuracy": 0.9})


def test_run_on_masks_shows_and_stores_iou(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOSSLAB_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "seg"
    args = ["run", str(DICE), "--epochs", "2", "--out", str(out), "--save-sample-history"]
    # A process of its own: the progress lines go to the stderr the command was started with.
    done = subprocess.run(
        [sys.executable, "-m", "losslab", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "val iou" in done.stderr and "val accuracy" not in done.stderr
    from losslab.core.runs import open_store

    store = open_store()
    (run,) = store.list_runs()
    assert run.headline == "iou"
    assert run.metric() == pytest.approx(run.final["val_iou"])
    assert run.metric() != pytest.approx(run.final["val_accuracy"])
    assert run.to_json()["metric"] == "iou"
    store.close()
    # The per-sample history of masks: one row per training image, its target the foreground share.
    with open(out / "sample_history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 320  # 400 images, 20% for validation
    shares = [float(r["foreground_share"]) for r in rows]
    assert all(0.0 <= s < 0.5 for s in shares) and 0.01 < sum(shares) / len(shares) < 0.15
    assert {"loss_e1", "loss_e2", "soft_iou_e1", "soft_iou_e2", "mean_soft_iou"} <= set(rows[0])
    assert all(0.0 <= float(r["soft_iou_e2"]) <= 1.0 for r in rows)


def test_a_mask_that_is_all_background_is_wrong_per_image() -> None:
    """Per-sample values of masks are overlaps: pixel accuracy would call this model right everywhere."""
    import torch

    from losslab.core.experiment import load_experiment
    from losslab.core.sample_history import epoch_values
    from losslab.core.trainer import Trainer

    exp = load_experiment(DICE).replace("dataset", n_samples=60)
    trainer = Trainer(exp)
    y = trainer.y_train
    assert y.ndim == 4 and bool((y.flatten(1).sum(1) > 0).all())
    assert trainer.loss_spec.output == "probabilities"  # Dice: the network ends in a sigmoid
    loss, value, correct = epoch_values(trainer, torch.full_like(y, 0.01))  # background everywhere
    assert loss.shape == value.shape == correct.shape == (len(y),)
    assert value.max() < 0.05 and not correct.any()
    _, value, correct = epoch_values(trainer, y.clone())  # the true masks
    assert value.min() > 0.99 and correct.all()


def test_race_on_masks_ranks_by_iou(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["race", str(BCE), "--vary", "loss=dice,bce_logits", "--epochs", "1", "--json", "--no-record"]
    )
    cap = capfd.readouterr()
    assert code == 0, cap.err
    variants = json.loads(cap.out)["variants"]
    assert [v["final"]["metric"] for v in variants] == ["iou", "iou"]
    assert all(v["final"]["metric_value"] == v["history"][-1]["val_iou"] for v in variants)


def test_race_on_images_trains_its_variants_together(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["race", str(SHAPES), "--vary", "optimizer.lr=0.001,0.003", "--epochs", "1", "--no-record"])
    cap = capfd.readouterr()
    assert code == 0, cap.err
    lines = [line for line in cap.out.splitlines() if line.startswith("optimizer.lr=")]
    assert len(lines) == 2
    assert all(" batched " in line and "finished" in line for line in lines), lines
    assert "fair: every variant started from weights" in cap.out
