"""Every training sample's history across epochs, and its dataset cartography (Swayamdipta et al. 2020).

At each epoch end the trainer has just evaluated the training set (base_trainer.evaluate keeps those
outputs as ``train_outputs``); :class:`SampleHistoryProbe` turns them into each sample's loss, the
model's probability of its true class (classification) or its error in units of the target's spread
(regression), and whether it is predicted right, without another forward pass.

Memory is bounded: float32 loss and value plus a bool per sample and recorded epoch, at most
``MAX_COLUMNS`` (256) epochs and at most ``MAX_BYTES`` (64 MiB) in all. When the columns are full,
every other one is dropped and from then on only every 2nd (4th, ...) epoch is recorded, so a long run
keeps evenly spread epochs from its whole length.

Cartography: per sample, ``confidence`` is the mean over the recorded epochs of P(true class),
``variability`` its standard deviation and ``correctness`` the share of epochs it was right. Samples
the model learns early and keeps are *easy* (high confidence, low variability), those it keeps getting
wrong are *hard* (low confidence, low variability: mislabelled samples gather there), the ones it
flips between are *ambiguous* (high variability). For regression the value is |error| / std(y), so a
low mean is easy. For segmentation masks a sample is an image: its value is the soft IoU of its
predicted and true mask and it is right when the hard IoU reaches 0.5 (not the share of pixels right,
which a model that predicts background everywhere wins on every image), its loss the mean over its
pixels.
"""

from __future__ import annotations

import csv
import io
import math
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from losslab.core.files import save_text_atomic
from losslab.core.probe import Probe
from losslab.core.tasks import GAN, REGRESSION

if TYPE_CHECKING:  # torch loads with the trainer
    import torch

    from losslab.core.base_trainer import Trainer
    from losslab.core.data import Dataset
    from losslab.core.history import History

MAX_COLUMNS = 256  # recorded epochs per sample at most (then every other one is dropped)
MAX_BYTES = 64 * 2**20  # and never more than this for the whole history
MIN_COLUMNS = 8
BYTES_PER_CELL = 9  # float32 loss + float32 value + bool correct
# Region borders. Classification: a standard deviation of P(true) of 0.2 or more is ambiguous (the
# largest possible is 0.5); below it, a mean P(true) of 0.5 separates easy from hard.
AMBIGUOUS_VARIABILITY = 0.2
EASY_CONFIDENCE = 0.5
# Regression (|error| in units of std(y)): ambiguous from a spread of 0.25, easy up to a mean of 0.5.
AMBIGUOUS_ERROR_SPREAD = 0.25
EASY_ERROR = 0.5
REGIONS = ("easy", "ambiguous", "hard")
INTERVAL_SECONDS = 0.25  # a copy for the window at most 4 times a second ...
BUDGET = 0.02  # ... and at most 2% of the training time
# In the window, recording may take this share of the training time: beyond it (epochs of one step,
# full-batch training) it records every 2nd (4th, ...) epoch, so training keeps its pace.
RECORD_BUDGET = 0.03


def columns_for(n: int) -> int:
    """How many epochs a history of ``n`` samples keeps (MAX_COLUMNS, fewer for huge sets)."""
    fit = MAX_BYTES // max(1, n * BYTES_PER_CELL)
    return int(max(MIN_COLUMNS, min(MAX_COLUMNS, fit)))


@dataclass
class Cartography:
    """Per-sample statistics over the recorded epochs (all (N,) float64; region: indexes of REGIONS)."""

    confidence: np.ndarray  # classification: mean P(true class); regression: mean |error| / std(y)
    variability: np.ndarray  # its standard deviation across epochs
    correctness: np.ndarray  # share of recorded epochs predicted right
    region: np.ndarray  # int: 0 easy, 1 ambiguous, 2 hard
    regression: bool

    def counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.region == i)) for i, name in enumerate(REGIONS)}


class SampleHistory:
    """An (N, epochs) record of each training sample's loss, value and correctness. See the module doc."""

    def __init__(self, n: int, task: str, capacity: int | None = None, masks: bool = False) -> None:
        self.n = n
        self.task = task
        self.masks = masks  # segmentation: values are per-image IoUs (see the module doc)
        self.capacity = capacity if capacity is not None else columns_for(n)
        # Stored epoch-major, so that recording an epoch writes one contiguous row.
        self._loss = np.empty((self.capacity, n), dtype=np.float32)
        self._value = np.empty((self.capacity, n), dtype=np.float32)
        self._correct = np.empty((self.capacity, n), dtype=bool)
        self._epochs = np.empty(self.capacity, dtype=np.int64)
        self.count = 0
        self.stride = 1  # epochs between recorded columns
        self.run_history: History | None = None  # the run's per-epoch record, when api.sample_history made it

    @property
    def regression(self) -> bool:
        return self.task == REGRESSION

    @property
    def value_name(self) -> str:
        return "error" if self.regression else "soft_iou" if self.masks else "p_true"

    @property
    def nbytes(self) -> int:
        return self._loss.nbytes + self._value.nbytes + self._correct.nbytes + self._epochs.nbytes

    # -- recording ----------------------------------------------------------------------------
    def wants(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (1-based) gets a column."""
        return epoch % self.stride == 0 and (self.count == 0 or epoch > self._epochs[self.count - 1])

    def takes(self, epoch: int) -> bool:
        """Whether ``add`` would record this epoch (a full history first halves, doubling the stride)."""
        full = self.count == self.capacity
        return self.wants(epoch) and (not full or epoch % (2 * self.stride) == 0)

    def add(self, epoch: int, loss: np.ndarray, value: np.ndarray, correct: np.ndarray) -> bool:
        """Record one epoch (arrays of N). Returns False when the stride skips it."""
        if not self.takes(epoch):
            return False
        if self.count == self.capacity:
            self._halve()
        c = self.count
        self._loss[c] = loss
        self._value[c] = value
        self._correct[c] = correct
        self._epochs[c] = epoch
        self.count += 1
        return True

    def halve(self) -> None:
        """Record half as often from now on (the columns kept stay evenly spread)."""
        self._halve()

    def _halve(self) -> None:
        """Keep the columns of epochs that are multiples of twice the stride; record half as often."""
        self.stride *= 2
        keep = np.flatnonzero(self._epochs[: self.count] % self.stride == 0)
        k = len(keep)
        for a in (self._loss, self._value, self._correct):
            a[:k] = a[keep]
        self._epochs[:k] = self._epochs[keep]
        self.count = k

    def copy(self) -> SampleHistory:
        """A snapshot that shares nothing with this one (only the recorded columns)."""
        out = SampleHistory(self.n, self.task, max(self.count, 1), self.masks)
        c = self.count
        out._loss[:c] = self._loss[:c]
        out._value[:c] = self._value[:c]
        out._correct[:c] = self._correct[:c]
        out._epochs[:c] = self._epochs[:c]
        out.count, out.stride = c, self.stride
        return out

    # -- reading ------------------------------------------------------------------------------
    @property
    def epochs(self) -> np.ndarray:
        return self._epochs[: self.count]

    @property
    def loss(self) -> np.ndarray:
        """(N, recorded epochs) float32."""
        return self._loss[: self.count].T

    @property
    def value(self) -> np.ndarray:
        """(N, recorded epochs): P(true class), the signed error / std(y) for regression, the soft IoU
        for masks."""
        return self._value[: self.count].T

    @property
    def correct(self) -> np.ndarray:
        return self._correct[: self.count].T

    def cartography(self) -> Cartography:
        """The statistics of the map; all NaN (region hard) before any epoch is recorded."""
        n = self.n
        if self.count == 0:
            nan = np.full(n, math.nan)
            return Cartography(nan, nan.copy(), nan.copy(), np.full(n, 2), self.regression)
        v = self.value.astype(np.float64)
        if self.regression:
            v = np.abs(v)
        with np.errstate(invalid="ignore"):
            conf = np.nanmean(v, axis=1) if np.isnan(v).any() else v.mean(axis=1)
            var = np.nanstd(v, axis=1) if np.isnan(v).any() else v.std(axis=1)
        correctness = self.correct.mean(axis=1)
        if self.regression:
            ambiguous = var >= AMBIGUOUS_ERROR_SPREAD
            easy = conf <= EASY_ERROR
        else:
            ambiguous = var >= AMBIGUOUS_VARIABILITY
            easy = conf >= EASY_CONFIDENCE
        region = np.where(ambiguous, 1, np.where(easy, 0, 2)).astype(np.int64)
        return Cartography(conf, var, correctness, region, self.regression)

    # -- files --------------------------------------------------------------------------------
    def to_csv(self, dataset: Dataset | None = None) -> str:
        """One row per training sample: its cartography, then loss and value at each recorded epoch.
        With the ``dataset`` it was recorded on, its target (display units) and whether the dataset
        made it unusual on purpose (a flipped label, an outlier: column ``noted``). A mask's target
        is its share of foreground pixels (column ``foreground_share``): its loss and value are means
        over its pixels, and it is right when most of its pixels are."""
        target = noted = None
        target_name = "target"
        if dataset is not None and dataset.n_train == self.n:
            target = dataset.y_to_display(dataset.y_train) if self.regression else dataset.y_train
            if target.ndim > 1:
                target = np.asarray(target, dtype=np.float64).reshape(self.n, -1).mean(axis=1)
                target_name = "foreground_share"
            noted = dataset.outliers_train
        carto = self.cartography()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        conf_name = "mean_abs_error" if self.regression else "mean_soft_iou" if self.masks else "confidence"
        head = ["sample", target_name, "noted", conf_name, "variability", "correctness", "region"]
        epochs = [int(e) for e in self.epochs]
        head += [f"loss_e{e}" for e in epochs] + [f"{self.value_name}_e{e}" for e in epochs]
        writer.writerow(head)
        loss, value = self.loss, self.value
        for i in range(self.n):
            row: list[object] = [
                i,
                _num(float(target[i])) if target is not None else "",
                int(bool(noted[i])) if noted is not None else "",
                _num(carto.confidence[i]),
                _num(carto.variability[i]),
                _num(carto.correctness[i]),
                REGIONS[int(carto.region[i])],
            ]
            row += [_num(float(x)) for x in loss[i]] + [_num(float(x)) for x in value[i]]
            writer.writerow(row)
        return out.getvalue()

    def save_csv(self, path: str | Path, dataset: Dataset | None = None) -> None:
        save_text_atomic(Path(path), self.to_csv(dataset))


def _num(v: float) -> str:
    return f"{v:.6g}"


@dataclass
class SampleHistoryUpdate:
    """A probe event: a snapshot of the history (shares nothing with the training thread)."""

    epoch: int
    step: int
    history: SampleHistory


def epoch_values(trainer: Trainer, out: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loss, value, correct) of every training sample from the model's outputs ``out`` on them."""
    import torch

    y = trainer.y_train
    with torch.no_grad():
        loss = trainer.loss_spec.per_sample(out, y, **trainer.experiment.loss["params"])
        right = None
        if trainer.dataset.masks:
            p, yf = trainer.probabilities(out).flatten(1), y.flatten(1).to(out.dtype)
            loss = loss.flatten(1).mean(1) if loss.ndim > 1 else loss
            value = _overlap(p * yf, p + yf - p * yf)
            hard = (p > 0.5).to(out.dtype)
            right = (_overlap(hard * yf, torch.clamp(hard + yf, max=1.0)) >= 0.5).float()
            host = torch.stack([loss.float(), value.float(), right]).cpu().numpy()
            return host[0], host[1], host[2] >= 0.5
        if trainer.dataset.task == REGRESSION:
            value = out.reshape(y.shape) - y  # targets are standardized: the error is in units of std(y)
        else:
            probs = trainer.probabilities(out)
            if probs.ndim == y.ndim + 1:  # class probabilities along dim 1
                yl = y.long()
                value = probs.gather(1, yl.unsqueeze(1)).squeeze(1)
                right = (probs.argmax(1) == yl).float()
            else:  # y is 0 or 1: P(true) = y p + (1 - y)(1 - p), cheaper than a where on a comparison
                yf = y.to(probs.dtype)
                value = (1 - yf) + probs * (2 * yf - 1)
        if y.ndim > 1:  # soft labels (N, K): a sample's figures are the means over its values
            if right is None and trainer.dataset.task != REGRESSION:
                right = (value > 0.5).float()
            loss, value = (t.flatten(1).mean(1) if t.ndim > 1 else t for t in (loss, value))
            right = right.flatten(1).mean(1) if right is not None else None
        parts = [loss.float(), value.float()] + ([right] if right is not None else [])
        host = torch.stack(parts).cpu().numpy()  # one transfer for all of them
    if right is not None:
        correct = host[2] >= 0.5  # multi-class: the true class has the largest probability
    elif trainer.dataset.task == REGRESSION:
        correct = np.abs(host[1]) <= EASY_ERROR
    else:  # binary: predicted class 1 exactly when P(class 1) > 0.5 (a logit > 0)
        correct = host[1] > 0.5
    return host[0], host[1], correct


def _overlap(inter: torch.Tensor, union: torch.Tensor) -> torch.Tensor:
    """Per image: sum(inter) / sum(union) over its pixels, 1 where both masks are empty (as mask_iou)."""
    i, u = inter.sum(1), union.sum(1)
    return (i / u.clamp(min=1e-12)).where(u > 0, 1.0)


class SampleHistoryProbe(Probe):
    """Records the history at every epoch end; hands the window a copy now and then (``events``)."""

    every = 0  # epoch ends only

    def __init__(
        self, events: bool = True, interval: float = INTERVAL_SECONDS, budget: float = BUDGET
    ) -> None:
        """``events``: the window's probe (copies for the views, and a recording budget: see
        RECORD_BUDGET); without, every epoch is recorded whatever it costs (losslab run, the API)."""
        self.events = events
        self.interval = interval
        self.budget = budget
        self.history: SampleHistory | None = None
        self._due = 0.0
        self.seconds = 0.0  # time spent recording and copying, for reports
        self._recorded = 0.0  # time spent recording the columns kept now

    def on_epoch(self, trainer: Trainer) -> SampleHistoryUpdate | None:
        start = time.perf_counter()
        n = len(trainer.x_train)
        h = self.history
        if h is None or h.n != n or (h.count and trainer.epoch <= int(h.epochs[-1])):
            h = self.history = SampleHistory(
                n, trainer.dataset.task, masks=trainer.dataset.masks
            )  # new weights
            self._recorded = 0.0
        if n == 0 or not h.takes(trainer.epoch):
            return None
        out = trainer.outputs_now(trainer.x_train)
        h.add(trainer.epoch, *epoch_values(trainer, out))
        self._recorded += time.perf_counter() - start
        if self.events and h.count >= 2 * MIN_COLUMNS and self._recorded > RECORD_BUDGET * trainer.elapsed:
            h.halve()  # recording every epoch costs too much here: every other one from now on
            self._recorded /= 2
        last = trainer.epoch >= trainer.experiment.training["epochs"]
        event = None
        if self.events and (last or time.perf_counter() >= self._due):
            event = SampleHistoryUpdate(trainer.epoch, trainer.step, h.copy())
        spent = time.perf_counter() - start
        self.seconds += spent
        if event is not None:
            self._due = start + max(self.interval, spent / self.budget)
        return event

    def snapshot(self) -> SampleHistory | None:
        """A copy of the history (call when the run's thread is not training)."""
        return None if self.history is None else self.history.copy()


_GIVEN: weakref.WeakKeyDictionary[Trainer, SampleHistoryProbe] = weakref.WeakKeyDictionary()


def sample_history_probes(trainer: Trainer) -> list[Probe]:
    """[a SampleHistoryProbe] for a trainer that has none yet, [] for GAN training. Views share one:
    the window collects every view's probes before it attaches them, so trainers given one are kept."""
    if (
        trainer.dataset.task == GAN
        or trainer in _GIVEN
        or any(isinstance(p, SampleHistoryProbe) for p in trainer.probes)
    ):
        return []
    probe = _GIVEN[trainer] = SampleHistoryProbe()
    return [probe]


def history_probe(trainer: object) -> SampleHistoryProbe | None:
    return next((p for p in getattr(trainer, "probes", ()) if isinstance(p, SampleHistoryProbe)), None)
