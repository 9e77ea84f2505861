"""Early stopping and overfitting detection, watched once per epoch.

Overfitting shows as a validation loss that turns upward while the training loss keeps falling.
Both curves are smoothed first (the median of the last few epochs, which ignores single noisy
epochs), and the rise must be clear: 10% above the lowest point, more than twice the epoch-to-epoch
noise of the validation loss itself, lasting, and a real upward trend since the lowest point (a
Mann-Kendall test), so mini-batch noise does not raise the alarm.
Early stopping keeps a copy of the weights from the epoch with the lowest validation loss; when
``patience`` epochs pass without beating it, those weights are loaded back and the run ends.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from losslab.core.events import Notice
from losslab.core.probe import Probe
from losslab.core.tasks import GAN
from losslab.core.weights import clone_state

if TYPE_CHECKING:  # annotations only: the trainer imports this module
    from torch import nn

    from losslab.core.base_trainer import Trainer

SMOOTH_EPOCHS = 5  # the median over this many epochs is what gets compared
RISE = 0.10  # the smoothed validation loss must sit this fraction above its best ...
TRAIN_FALL = 0.05  # ... while the smoothed training loss fell by at least this fraction since then
TREND_Z = 2.5  # Mann-Kendall z-score the validation loss must show since its lowest point
MIN_IMPROVEMENT = 1e-4  # relative: a smaller drop in validation loss is not an improvement
NOISE_EPOCHS = 200  # the noise estimate looks this far back (keeps each epoch's cost bounded)
TREND_EPOCHS = 200  # the trend test looks at most this far back (it is quadratic in its length)


@dataclass
class OverfittingStarted:
    """Validation loss bottomed out at ``epoch`` and has risen since, while training loss kept falling."""

    epoch: int
    step: int
    val_loss: float
    notice: str

    @property
    def loss_mark(self) -> tuple[float, str]:
        return float(self.step), f"overfitting from epoch {self.epoch}"


@dataclass
class EarlyStopped:
    """The run ended at ``epoch`` and the weights of ``best_epoch`` were loaded back."""

    epoch: int
    step: int
    best_epoch: int
    best_step: int
    best_val_loss: float
    notice: str
    overfitting_marked: bool = False  # the overfitting mark already sits at best_step

    @property
    def loss_mark(self) -> tuple[float, str] | None:
        if self.overfitting_marked:  # one line, one label: say both
            return float(self.best_step), f"best epoch {self.best_epoch} (restored); overfitting from here"
        return float(self.best_step), f"best epoch {self.best_epoch} (restored)"


@dataclass
class _Epoch:
    epoch: int
    step: int
    train: float
    val: float


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else 0.5 * (ordered[n // 2 - 1] + ordered[n // 2])


def _noise(values: list[float]) -> float:
    """Robust standard deviation of epoch-to-epoch jitter, trend removed: 1.4826 MAD of differences / √2."""
    if len(values) < 3:
        return 0.0
    diffs = [b - a for a, b in itertools.pairwise(values)]
    centre = _median(diffs)
    return 1.4826 * _median([abs(d - centre) for d in diffs]) / math.sqrt(2)


def trend_z(values: list[float]) -> float:
    """Mann-Kendall trend statistic: about N(0, 1) for values in random order, large for a steady rise."""
    n = len(values)
    if n < 4:
        return 0.0
    s = sum((b > a) - (b < a) for i, a in enumerate(values) for b in values[i + 1 :])
    var = n * (n - 1) * (2 * n + 5) / 18
    return (s - (s > 0) + (s < 0)) / math.sqrt(var)


class OverfittingWatch:
    """Finds the epoch where validation loss starts rising while training loss still falls."""

    def __init__(self, window: int = SMOOTH_EPOCHS, rise: float = RISE) -> None:
        self.window, self.rise = window, rise
        self.epochs: list[_Epoch] = []
        # smooth[i] is the median over the window ending at epochs[i + window - 1]; kept as epochs
        # arrive, with the index of its lowest validation value, so each epoch costs O(window).
        self.smooth: list[tuple[float, float]] = []
        self.best = 0
        self.reported = False

    def smoothed(self, i: int) -> tuple[float, float]:
        """Median training and validation loss over the ``window`` epochs ending at index ``i``."""
        part = self.epochs[max(0, i - self.window + 1) : i + 1]
        return _median([e.train for e in part]), _median([e.val for e in part])

    def add(self, epoch: int, step: int, train: float, val: float) -> OverfittingStarted | None:
        if not (math.isfinite(train) and math.isfinite(val)):
            return None
        self.epochs.append(_Epoch(epoch, step, train, val))
        if len(self.epochs) >= self.window:
            self.smooth.append(self.smoothed(len(self.epochs) - 1))
            if self.smooth[-1][1] < self.smooth[self.best][1]:
                self.best = len(self.smooth) - 1
        if self.reported or len(self.epochs) < 2 * self.window:
            return None
        smooth, best = self.smooth, self.best
        now_train = smooth[-1][0]
        best_train, best_val = smooth[best]
        recent = smooth[-self.window :]
        lowest_recent = min(v for _, v in recent)
        rise_line = best_val * (1 + self.rise) + 1e-12
        if len(smooth) - 1 - best < 2 * self.window - 1 or lowest_recent <= rise_line:
            return None  # no sustained rise even before the noise margin: skip the costly estimate
        if now_train >= best_train * (1 - TRAIN_FALL):
            return None
        # Jitter of a median of `window` epochs, from the recent epochs after the first fast descent.
        recent_vals = [e.val for e in self.epochs[max(self.window, len(self.epochs) - NOISE_EPOCHS) :]]
        noise = _noise(recent_vals) / math.sqrt(self.window)
        if lowest_recent <= rise_line + 2 * noise:
            return None
        # The trend after the lowest window: those epochs were picked for being low, which alone
        # would make whatever follows look like a rise.
        if trend_z([e.val for e in self.epochs[best + self.window :]][-TREND_EPOCHS:]) < TREND_Z:
            return None
        # The turning point: the lowest raw validation loss within the best smoothing window.
        first = best  # smooth[i] ends at epochs[i + window - 1]
        window = self.epochs[first : best + self.window]
        turn = min(window, key=lambda e: e.val)
        self.reported = True
        return OverfittingStarted(
            turn.epoch,
            turn.step,
            turn.val,
            f"Overfitting: validation loss was lowest at epoch {turn.epoch} ({turn.val:.4g}) and has "
            f"risen since, while the training loss kept falling. The network is learning the training "
            f"points rather than the pattern: try early stopping, L2 regularization, dropout, a smaller "
            f"network or more data.",
        )


class EarlyStopping(Probe):
    """Watches for overfitting every epoch; with ``patience`` > 0 also stops and restores the best weights."""

    every = 0

    @property
    def acts_at_epoch_end(self) -> bool:  # type: ignore[override]
        return self.patience > 0  # it stops the run there; watching alone only reads the rows

    def __init__(self, patience: int = 0, min_improvement: float = MIN_IMPROVEMENT) -> None:
        self.patience = patience
        self.min_improvement = min_improvement
        self._reset(None)

    def _reset(self, model: nn.Module | None) -> None:
        self._model = model
        self.watch = OverfittingWatch()
        self.best_val = math.inf
        self.best_epoch = 0
        self.best_step = 0
        self.best_state: dict[str, Any] | None = None
        self._last_epoch = 0
        self._warned = False
        self._overfit_step = -1

    def on_epoch(self, trainer: Trainer) -> OverfittingStarted | EarlyStopped | Notice | None:
        if trainer.model is not self._model or trainer.epoch <= self._last_epoch:
            self._reset(trainer.model)  # fresh weights: a new run
        self._last_epoch = trainer.epoch
        if trainer.dataset.task == GAN:
            return None
        row = trainer.history.rows[-1]
        epoch, step, train, val = int(row["epoch"]), int(row["step"]), row["train_loss"], row["val_loss"]
        if not math.isfinite(val):
            if self.patience and not self._warned:
                self._warned = True
                return Notice(
                    "Early stopping needs a validation split (set a validation fraction); it "
                    "is off for this run."
                )
            return None
        event = self.watch.add(epoch, step, train, val)
        if event is not None:
            self._overfit_step = event.step
        if not self.patience:
            return event
        if val < self.best_val * (1 - self.min_improvement) or self.best_state is None:
            self.best_val, self.best_epoch, self.best_step = val, epoch, step
            self.best_state = clone_state(trainer.model)
        elif epoch - self.best_epoch >= self.patience:
            trainer.model.load_state_dict(self.best_state)
            stopped = EarlyStopped(
                epoch,
                step,
                self.best_epoch,
                self.best_step,
                self.best_val,
                f"Early stopping at epoch {epoch}: the validation loss has not improved for "
                f"{self.patience} epoch{'s' if self.patience != 1 else ''}. The weights from epoch "
                f"{self.best_epoch} (validation loss {self.best_val:.4g}) are back in place.",
            )
            stopped.overfitting_marked = self._overfit_step == self.best_step
            trainer.end_run(stopped)
            return stopped
        return event
