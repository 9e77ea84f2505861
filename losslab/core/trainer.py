"""The training loop as plain Python: no Qt, no DataLoader.

Tensors live on the device, batches come from one permutation per epoch, and every batch checks
a single ``controls.pending`` flag for pause/step/stop/learning-rate requests. Progress is reported
through a callback with coalesced events (see events.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from losslab.core.controls import Controls
from losslab.core.data import Dataset, make_dataset
from losslab.core.device import resolve_device
from losslab.core.errors import LossLabError
from losslab.core.events import Diverged, EpochEnd, Finished, Notice, StepBatch
from losslab.core.experiment import Experiment
from losslab.core.history import History
from losslab.core.losses import check_pairing, get_loss
from losslab.core.metrics import classification_metrics, regression_metrics
from losslab.core.model import build_model
from losslab.core.optim import LRController, get_optimizer_spec
from losslab.core.tasks import GAN, MULTICLASS, REGRESSION

Callback = Callable[[Any], None]
FLUSH_SECONDS = 0.05


def divergence_advice(lr: float, loss_id: str) -> str:
    tips = [f"lower the learning rate (try {lr / 10:g})", "turn on gradient clipping"]
    if loss_id == "mse":
        tips.append("use a loss less sensitive to outliers (Huber or MAE)")
    tips.append("check the data for extreme values")
    return "Try to " + ", ".join(tips[:-1]) + " or " + tips[-1] + "."


class Trainer:
    """Owns the data tensors, the model and the optimizer for one experiment."""

    def __init__(
        self,
        experiment: Experiment,
        dataset: Dataset | None = None,
        *,
        device: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.experiment = experiment
        self.dataset = dataset if dataset is not None else make_dataset(experiment.dataset)
        if self.dataset.task == GAN:
            raise LossLabError("GAN datasets are trained by losslab.core.gan.GanTrainer", "dataset.kind")
        self.loss_spec = get_loss(experiment.loss["id"])
        check_pairing(self.loss_spec.id, self.dataset.task, self.dataset.name)
        if threads is not None:
            torch.set_num_threads(threads)
        self.device, self.device_notice = resolve_device(device or experiment.training["device"])
        self.controls = Controls()
        self.history = History()
        self.epoch = 0  # completed epochs
        self.step = 0  # completed optimizer steps
        self.elapsed = 0.0

        dev = self.device
        ds = self.dataset
        self.x_train = torch.as_tensor(ds.x_train, device=dev)
        self.y_train = torch.as_tensor(ds.y_train, device=dev)
        self.x_val = torch.as_tensor(ds.x_val, device=dev)
        self.y_val = torch.as_tensor(ds.y_val, device=dev)
        self.out_features = ds.n_classes if ds.task == MULTICLASS else 1
        self._loss_params = dict(experiment.loss["params"])
        self.reset_weights()

    # -- set-up -------------------------------------------------------------------------------
    def reset_weights(self) -> None:
        """Fresh weights and optimizer state from the experiment's seed; the history starts over."""
        exp = self.experiment
        seed = exp.training["seed"]
        torch.manual_seed(seed)
        self.model = build_model(
            exp.model["layers"],
            self.dataset.n_features,
            self.out_features,
            self.loss_spec.output_activation,
            exp.model["init"],
        ).to(self.device)
        opt = exp.optimizer
        self.optimizer = get_optimizer_spec(opt["id"]).build(
            self.model.parameters(), opt["lr"], opt["params"], self.device
        )
        self.lr = LRController(
            self.optimizer, opt["lr"], opt["schedule"], exp.training["epochs"], self.steps_per_epoch
        )
        self._perm_gen = torch.Generator().manual_seed(seed)
        # Regularize weight matrices only: penalising biases would just shift the outputs.
        self._reg_weights = [p for p in self.model.parameters() if p.ndim > 1]
        self.history = History()
        self.epoch = self.step = 0
        self.elapsed = 0.0

    @property
    def batch_size(self) -> int:
        bs = self.experiment.training["batch_size"]
        n = len(self.x_train)
        return n if bs == 0 or bs >= n else bs

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x_train) / self.batch_size)

    def set_learning_rate(self, lr: float) -> None:
        """Change the base learning rate now (the schedule keeps applying on top)."""
        self.lr.set_base_lr(lr)

    # -- the loss -----------------------------------------------------------------------------
    def regularization(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        reg = self.experiment.regularization
        l1 = reg["l1"] * sum(w.abs().sum() for w in self._reg_weights) if reg["l1"] else None
        l2 = reg["l2"] * sum(w.pow(2).sum() for w in self._reg_weights) if reg["l2"] else None
        return l1, l2

    def data_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_spec.compute(out, target, **self._loss_params)

    # -- evaluation ---------------------------------------------------------------------------
    @torch.no_grad()
    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        was_training = self.model.training
        self.model.eval()
        try:
            return self.model(x)
        finally:
            self.model.train(was_training)

    def labels(self, out: torch.Tensor) -> torch.Tensor:
        """Class decisions from model outputs."""
        if out.ndim == 2:
            return out.argmax(dim=1)
        threshold = 0.5 if self.loss_spec.output == "probabilities" else 0.0
        return (out > threshold).long()

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """P(class 1) for binary tasks (a score squashed for margin losses), class probabilities otherwise."""
        if out.ndim == 2:
            return out if self.loss_spec.output == "probabilities" else out.softmax(dim=1)
        return out if self.loss_spec.output == "probabilities" else torch.sigmoid(out)

    @torch.no_grad()
    def predict(self, x_display: np.ndarray) -> np.ndarray:
        """Predictions for points in display units: regression values, P(class 1), or class probabilities."""
        x = torch.as_tensor(
            self.dataset.x_from_display(np.asarray(x_display)), dtype=torch.float32, device=self.device
        )
        out = self.outputs(x)
        if self.dataset.task == REGRESSION:
            return self.dataset.y_to_display(out.cpu().numpy())
        return self.probabilities(out).cpu().numpy()

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, dict[str, float]]:
        if len(x) == 0:
            return math.nan, {}
        out = self.outputs(x)
        loss = float(self.data_loss(out, y))
        if self.dataset.task == REGRESSION:
            return loss, regression_metrics(out.cpu().numpy(), y.cpu().numpy(), self.dataset.y_std)
        return loss, classification_metrics(
            self.labels(out).cpu().numpy(), y.cpu().numpy(), self.dataset.n_classes
        )

    # -- the loop -----------------------------------------------------------------------------
    def run(self, callback: Callback | None = None, epochs: int | None = None) -> Finished:
        """Train until ``epochs`` epochs are complete (default: the experiment's), or stop/diverge."""
        emit = callback or (lambda event: None)
        if self.device_notice:
            emit(Notice(self.device_notice))
            self.device_notice = None
        total_epochs = epochs if epochs is not None else self.experiment.training["epochs"]
        controls = self.controls
        model, optimizer, lr = self.model, self.optimizer, self.lr
        x_all, y_all = self.x_train, self.y_train
        n, bs = len(x_all), self.batch_size
        full_batch = bs >= n
        clip = self.experiment.optimizer["grad_clip"]
        reg = self.experiment.regularization
        has_reg = bool(reg["l1"] or reg["l2"])
        params = list(model.parameters())

        steps: list[int] = []
        totals: list[float] = []
        data_losses: list[float] = []
        l1s: list[float] = []
        l2s: list[float] = []
        started = time.perf_counter() - self.elapsed
        last_flush = time.perf_counter()
        flushed_at_step = self.step

        def flush() -> None:
            nonlocal last_flush, flushed_at_step
            now = time.perf_counter()
            if steps:
                rate = (self.step - flushed_at_step) / max(now - last_flush, 1e-9)
                emit(
                    StepBatch(
                        self.epoch,
                        np.array(steps),
                        np.array(totals),
                        np.array(data_losses),
                        np.array(l1s) if l1s else None,
                        np.array(l2s) if l2s else None,
                        lr.lr,
                        now - started,
                        rate,
                    )
                )
                for buf in (steps, totals, data_losses, l1s, l2s):
                    buf.clear()
            last_flush, flushed_at_step = now, self.step

        model.train()
        stopped = False
        diverged: Diverged | None = None
        while self.epoch < total_epochs and not stopped and diverged is None:
            lr.begin_epoch(self.epoch)
            perm = None if full_batch else torch.randperm(n, generator=self._perm_gen).to(self.device)
            for start in range(0, n, bs):
                if controls.pending:
                    flush()
                    if not controls.wait_for_batch():
                        stopped = True
                        break
                    new_lr = controls.take_lr()
                    if new_lr is not None:
                        lr.set_base_lr(new_lr)
                if full_batch:
                    xb, yb = x_all, y_all
                else:
                    idx = perm[start : start + bs]
                    xb, yb = x_all[idx], y_all[idx]
                lr.step(self.step)
                data_loss = self.data_loss(model(xb), yb)
                loss = data_loss
                if has_reg:
                    l1, l2 = self.regularization()
                    if l1 is not None:
                        loss = loss + l1
                        l1s.append(l1.item())
                    if l2 is not None:
                        loss = loss + l2
                        l2s.append(l2.item())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip:
                    torch.nn.utils.clip_grad_norm_(params, clip)
                optimizer.step()
                self.step += 1
                value = loss.item()
                steps.append(self.step)
                totals.append(value)
                data_losses.append(data_loss.item() if has_reg else value)
                if not math.isfinite(value):
                    diverged = Diverged(self.epoch + 1, self.step, value, self._divergence_message(value))
                    break
                if time.perf_counter() - last_flush >= FLUSH_SECONDS:
                    flush()
            else:
                self.epoch += 1
                self.elapsed = time.perf_counter() - started
                flush()
                self._end_epoch(emit)
        self.elapsed = time.perf_counter() - started
        flush()
        if diverged is not None:
            emit(diverged)
        finished = Finished(self.history, stopped, diverged)
        emit(finished)
        return finished

    def _end_epoch(self, emit: Callback) -> None:
        train_loss, train_metrics = self.evaluate(self.x_train, self.y_train)
        val_loss, val_metrics = self.evaluate(self.x_val, self.y_val)
        with torch.no_grad():
            l1, l2 = self.regularization()
        event = EpochEnd(
            self.epoch,
            self.step,
            train_loss,
            val_loss,
            train_metrics,
            val_metrics,
            self.lr.lr,
            float(l1) if l1 is not None else 0.0,
            float(l2) if l2 is not None else 0.0,
            self.elapsed,
        )
        self.history.add(event)
        self.lr.end_epoch(val_loss if math.isfinite(val_loss) else train_loss)
        emit(event)

    def _divergence_message(self, value: float) -> str:
        what = "NaN (not a number)" if math.isnan(value) else "infinite"
        return (
            f"Training diverged: the loss became {what} at epoch {self.epoch + 1}, step {self.step} "
            f"(learning rate {self.lr.lr:g}). The updates overshot and the weights blew up. "
            + divergence_advice(self.lr.lr, self.loss_spec.id)
        )
