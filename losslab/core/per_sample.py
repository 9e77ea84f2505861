"""Per-sample losses while training: every training sample's loss, prediction and gradient, a few times
a second, plus where the batch just trained on sits.

``PerSampleProbe`` runs on the training thread (see probe.py). At most ``interval`` seconds apart
(5 Hz) and never more than ``budget`` of the training time (it measures its own cost and waits
longer when one measurement is expensive, e.g. a custom loss that must be called sample by sample),
it runs the model once over the training set without gradients, takes the per-sample losses, and gets
every sample's gradient with respect to its own output from one autograd call on their sum. The
result is a ``PerSampleLosses`` of plain numpy arrays.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from losslab.core.probe import Probe
from losslab.core.tasks import GAN, MULTICLASS, REGRESSION

if TYPE_CHECKING:  # torch loads with the trainer; the window imports this module before that
    import torch

    from losslab.core.base_trainer import Trainer

INTERVAL_SECONDS = 0.2  # at most 5 measurements a second: live to the eye, cheap for training
BUDGET = 0.05  # and at most ~5% of the training time


@dataclass
class PerSampleLosses:
    """Every training sample's loss now, and the last batch's (output, loss) pairs. Plain numpy."""

    epoch: int  # completed epochs when measured
    step: int
    loss: np.ndarray  # (N,) each training sample's loss on its own (the term it adds to the batch loss)
    grad: np.ndarray  # (N,) |∂loss/∂output| of each sample (the norm over the K outputs for K classes)
    output: np.ndarray  # (N,) or (N, K): the model's output as the loss sees it (model units)
    prediction: np.ndarray  # regression: ŷ in display units; classification: P(class 1) or (N, K) probs
    cost: float  # the training loss of the whole training set: what training minimises (without L1/L2)
    batch_output: np.ndarray  # (B,) or (B, K): outputs for the batch just trained on, after its step
    batch_target: np.ndarray  # (B,)
    batch_loss: np.ndarray  # (B,)
    batch_grad: np.ndarray  # (B,) or (B, K): signed ∂loss/∂output of each batch sample


class PerSampleProbe(Probe):
    every = 1  # asked every step while watched (see watch); measures only when its time has come

    def __init__(self, interval: float = INTERVAL_SECONDS, budget: float = BUDGET) -> None:
        self.interval = interval
        self.budget = budget
        self._due = 0.0
        self._last_batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._measured = (-1, -1)  # (step, epoch) of the last measurement
        self.measurements = 0
        self.seconds = 0.0  # time spent measuring, for reports
        self._pace: tuple[int, float] | None = None  # (step, perf_counter) of the run's first step here
        # Who shows the measurements now (see watch()); None: nobody said, so always measure.
        self._watchers: set[int] | None = None

    def watch(self, who: object, on: bool) -> None:
        """A view says whether it shows the measurements now (call from one thread). Once any view
        has said, measurements stop while none watches, except at the end of the planned training:
        a hidden tab then costs the training nothing."""
        if self._watchers is None:
            self._watchers = set()
        if on:
            self._watchers.add(id(who))
        else:
            self._watchers.discard(id(who))
        self.every = 1 if self._watchers else 0  # unwatched: not even asked each step

    @property
    def watched(self) -> bool:
        return self._watchers is None or bool(self._watchers)

    def on_step(self, trainer: Trainer, xb: torch.Tensor, yb: torch.Tensor) -> PerSampleLosses | None:
        self._last_batch = (xb, yb)
        now = time.perf_counter()
        if self._pace is None or self._pace[0] > trainer.step:
            self._pace = (trainer.step, now)  # a (new) run: its step time is measured from here
        if now < self._due or not self.watched or self._epoch_end_soon(trainer, now):
            return None
        return self._timed(trainer, xb, yb)

    def _epoch_end_soon(self, trainer: Trainer, now: float) -> bool:
        """Whether the epoch end comes within ``interval``: it measures then, reusing the outputs of
        its evaluation, where a step's measurement costs a forward pass over the training set (6.6%
        of a wide network's short run)."""
        assert self._pace is not None
        step0, time0 = self._pace
        if trainer.step <= step0:
            return self.interval > 0  # the run's first step: its pace is not known yet
        per_step = (now - time0) / (trainer.step - step0)
        per_epoch = max(int(trainer.steps_per_epoch), 1)
        return (per_epoch - trainer.step % per_epoch) * per_step < self.interval

    def on_epoch(self, trainer: Trainer) -> PerSampleLosses | None:
        # The end of the planned training always gets a fresh picture; other epoch ends only when due.
        last = trainer.epoch >= trainer.experiment.training["epochs"]
        # A step measured by on_step is measured again at the last epoch: that picture was taken
        # before the epoch count moved on, and the final one must carry the final epoch.
        batch = getattr(trainer, "last_batch", None) or self._last_batch
        if batch is None or self._measured == (trainer.step, trainer.epoch):
            return None
        if trainer.step == self._measured[0] and not last:
            return None
        if last or (self.watched and time.perf_counter() >= self._due):
            return self._timed(trainer, *batch)
        return None

    def _timed(self, trainer: Trainer, xb: torch.Tensor, yb: torch.Tensor) -> PerSampleLosses:
        start = time.perf_counter()
        event = measure(trainer, xb, yb)
        spent = time.perf_counter() - start
        self.seconds += spent
        self.measurements += 1
        self._measured = (trainer.step, trainer.epoch)
        self._due = start + max(self.interval, spent / self.budget)
        return event


def measure(trainer: Trainer, xb: torch.Tensor, yb: torch.Tensor) -> PerSampleLosses:
    """Per-sample losses of the training set and of the batch (xb, yb), with the model in eval mode."""
    import torch

    model = trainer.model
    spec = trainer.loss_spec
    params = trainer.experiment.loss["params"]
    x_all, y_all = trainer.x_train, trainer.y_train
    out_all = trainer.outputs_now(x_all)  # at an epoch end, its evaluation's outputs
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out_b = model(xb)
            cost = float(spec.compute(out_all, y_all, **params)) if len(out_all) else float("nan")
    finally:
        model.train(was_training)
    n = out_all.shape[0]
    with torch.enable_grad():
        out = torch.cat([out_all, out_b]).detach().requires_grad_(True)
        values = spec.per_sample(out, torch.cat([y_all, yb]), **params)
        (grad,) = torch.autograd.grad(values.sum(), out)
    values = values.detach()
    if values.ndim > 1:  # pixel-wise losses of masks: a sample's loss is the mean over its pixels
        values = values.flatten(1).mean(1)
    g_all = grad[:n]
    grad_norm = g_all.abs() if g_all.ndim == 1 else g_all.flatten(1).norm(dim=1)
    ds = trainer.dataset
    with torch.no_grad():
        if ds.task == REGRESSION:
            prediction = ds.y_to_display(out_all.cpu().numpy().astype(np.float64))
        else:
            prediction = trainer.probabilities(out_all).cpu().numpy().astype(np.float64)

    def host(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float64)

    return PerSampleLosses(
        epoch=trainer.epoch,
        step=trainer.step,
        loss=host(values[:n]),
        grad=host(grad_norm),
        output=host(out_all),
        prediction=np.asarray(prediction),
        cost=cost,
        batch_output=host(out_b),
        batch_target=_labels(yb, ds.task).detach().cpu().numpy().copy(),
        batch_loss=host(values[n:]),
        batch_grad=host(grad[n:]),
    )


def _labels(target: torch.Tensor, task: str) -> torch.Tensor:
    """Class labels of a batch: soft labels (a distribution per sample, shape (B, K)) become their most
    likely class, which is where the views place and colour a sample."""
    return target.argmax(dim=1) if task == MULTICLASS and target.ndim == 2 else target


_GIVEN: weakref.WeakKeyDictionary[Trainer, PerSampleProbe] = weakref.WeakKeyDictionary()


def per_sample_probes(trainer: Trainer) -> list[Probe]:
    """[a PerSampleProbe] for a trainer that has none yet (views share one), [] for GAN training.
    The window collects every view's probes before it attaches them: the trainers given one are
    remembered, or the Loss inspector and the Samples view would each get one (the second, never
    told who watches, measuring all the time)."""
    if (
        trainer.dataset.task == GAN
        or trainer in _GIVEN
        or any(isinstance(p, PerSampleProbe) for p in trainer.probes)
    ):
        return []
    probe = _GIVEN[trainer] = PerSampleProbe()
    return [probe]


def latest_probe(trainer: object) -> PerSampleProbe | None:
    return next((p for p in getattr(trainer, "probes", ()) if isinstance(p, PerSampleProbe)), None)
