"""Image workloads: the shipped shapes CNN and the Dice-vs-BCE segmentation pair, trained headless.

What the issue asks of them is an outcome in a CI-sized run, not a ratio to a hand-written loop:
the CNN's validation accuracy (target >= 90%) and the seconds it took, and on the ~5% foreground
masks, Dice's validation IoU against pixel-wise BCE's (target: Dice higher), each with its seconds.
The examples' own settings are trained as shipped, one torch thread, on the CPU.
"""

from __future__ import annotations

import time
from typing import Any

from losslab.bench.workloads import example_path

CNN_EXAMPLE = "22_shapes_cnn_cross_entropy"
SEGMENTATION_EXAMPLES = {"dice": "23_segmentation_dice", "bce_logits": "24_segmentation_bce"}
CNN_TARGET_ACCURACY = 0.9


def _train(stem: str) -> dict[str, Any]:
    import torch

    from losslab.core.experiment import load_experiment
    from losslab.core.trainer import make_trainer

    torch.set_num_threads(1)
    exp = load_experiment(example_path(stem))
    exp = exp.replace("training", device="cpu")
    started = time.perf_counter()
    trainer = make_trainer(exp, diagnostics=False)
    trainer.run()
    seconds = time.perf_counter() - started  # data, model and training, as `losslab run` pays them
    history = trainer.history
    return {
        "example": stem,
        "seconds": round(seconds, 2),
        "train_seconds": round(history.last("elapsed_s"), 2),
        "epochs": len(history),
        "steps": trainer.step,
        "n_train": trainer.dataset.n_train,
        "n_val": trainer.dataset.n_val,
        **{m: history.last(m) for m in ("val_accuracy", "val_iou") if m in history.columns},
    }


def measure() -> dict[str, Any]:
    """{"shapes_cnn": ..., "segmentation": {loss id: ...}} with seconds, accuracy and IoU."""
    cnn = _train(CNN_EXAMPLE)
    cnn["title"] = "shapes CNN (example 22): 2 conv + pool stages, 28x28, 4 classes"
    cnn["target_accuracy"] = CNN_TARGET_ACCURACY
    segmentation = {loss: _train(stem) for loss, stem in SEGMENTATION_EXAMPLES.items()}
    return {"shapes_cnn": cnn, "segmentation": segmentation}


def format_lines(images: dict[str, Any]) -> list[str]:
    cnn = images["shapes_cnn"]
    lines = [
        "",
        f"Images: {cnn['title']}: validation accuracy {cnn['val_accuracy']:.3f} after {cnn['epochs']} "
        f"epochs ({cnn['steps']} steps, {cnn['n_train']} training images) in {cnn['seconds']:.1f} s "
        f"({cnn['train_seconds']:.1f} s training)",
    ]
    for loss, row in images["segmentation"].items():
        lines.append(
            f"  segmentation, ~5% foreground, {loss}: validation IoU {row['val_iou']:.3f}, pixel accuracy "
            f"{row['val_accuracy']:.3f}, {row['epochs']} epochs in {row['seconds']:.1f} s"
        )
    return lines
