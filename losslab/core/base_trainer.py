"""The training loop as plain Python: no Qt, no DataLoader. Callers get it through trainer.py.

Tensors live on the device, batches come from one permutation per epoch, and every batch checks
a single ``controls.pending`` flag for pause/step/stop/learning-rate requests. Progress is reported
through a callback with coalesced events (see events.py).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from losslab.core.controls import Controls
from losslab.core.data import Dataset, make_dataset
from losslab.core.device import resolve_device
from losslab.core.diagnostics import GradientHealthProbe
from losslab.core.early_stopping import EarlyStopped, EarlyStopping
from losslab.core.epoch_overlap import MIN_WORK, EpochOverlap, EpochResult, spare_core
from losslab.core.errors import LossLabError
from losslab.core.events import Diverged, EpochEnd, Finished, Notice, StepBatch
from losslab.core.experiment import Experiment
from losslab.core.history import History
from losslab.core.layers import check_network_size, network_io, uses_batch_statistics
from losslab.core.losses import LossSpec, check_class_lists, check_pairing, resolve_loss
from losslab.core.metrics import classification_metrics, regression_metrics
from losslab.core.model import build_model
from losslab.core.optim import LRController, get_optimizer_spec
from losslab.core.probe import Probe
from losslab.core.tasks import GAN, REGRESSION
from losslab.core.weights import clone, clone_state

Callback = Callable[[object], None]  # receives every event of a run (events.py, and what probes return)
FLUSH_SECONDS = 0.05
# A step loss above this many times the starting loss counts as divergence even while still finite.
EXPLOSION_FACTOR = 1e3
# Epoch-end weights are kept as "last good" while their training loss is within this factor of the best.
GOOD_FACTOR = 10.0
SNAPSHOT_SECONDS = 0.25  # at most this often a "last good weights" copy at an epoch end
# A full-batch epoch is one step, and evaluating both sets with their metrics cost more than the
# step (measured: a third of the run's speed). So a full-batch run longer than LONG_FULL_BATCH epochs
# evaluates its first TRIAL_EPOCHS; if evaluating took more than EVAL_BUDGET of their time, it goes
# on with every k-th epoch (k the smallest of 1, 2, 5, 10, 20, ... that leaves at most MAX_ROWS
# rows), and its last. k depends on the epoch count only, so a run's history has the same rows on
# every machine; the curves keep enough points to show where validation turns up. Its step losses
# still give every epoch's training loss.
LONG_FULL_BATCH = 200
TRIAL_EPOCHS = 5
EVAL_BUDGET = 0.03
MAX_ROWS = 200


@dataclass
class GoodWeights:
    """A copy of the weights (and optimizer state) from an epoch end where the loss was still sane."""

    epoch: int  # completed epochs at the time (0: the initial weights)
    step: int
    states: dict[str, dict[str, Any]]  # attribute name -> state_dict copy


def describe_divergence(value: float) -> str:
    """What a diverged loss did, for a message: "became NaN (not a number)", "exploded to 3e+04, ..."."""
    if math.isnan(value):
        return "became NaN (not a number)"
    if math.isinf(value):
        return "became infinite"
    return f"exploded to {value:.3g}, over {EXPLOSION_FACTOR:g} times its starting value,"


def divergence_advice(lr: float, loss: LossSpec) -> str:
    """What to try after a divergence at learning rate ``lr``, the loss's own tip among them."""
    tips = [f"lower the learning rate (try {lr / 10:g})", "turn on gradient clipping"]
    if loss.divergence_tip:
        tips.append(loss.divergence_tip)
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
        diagnostics: bool = True,
        diagnostics_budget: float | None = None,
    ) -> None:
        """``diagnostics=False`` leaves out the gradient-health probe: headless runs whose events
        nobody draws (``losslab run``) should not pay for it. ``diagnostics_budget``: the largest
        share of the training time its reports may take (None: every interval, whatever it costs)."""
        self.experiment = experiment
        self.dataset = dataset if dataset is not None else make_dataset(experiment.dataset)
        self.loss_spec = resolve_loss(experiment.loss, self.dataset.task)  # built-in or custom
        check_pairing(self.loss_spec, self.dataset.task, self.dataset.name)
        if threads is not None:
            torch.set_num_threads(threads)
        self.device, self.device_notice = resolve_device(device or experiment.training["device"])
        self.controls = Controls()
        self.probes: list[Probe] = default_probes(experiment, diagnostics, diagnostics_budget)  # see probe.py
        self.history = History()
        self.epoch = 0  # completed epochs
        self.step = 0  # completed optimizer steps
        self.elapsed = 0.0
        self.last_batch: tuple[torch.Tensor, torch.Tensor] | None = None  # (x, y) of the last step
        # (step, outputs) of the last evaluation of the training and validation sets: probes that
        # look at the epoch end reuse them (outputs_now)
        self.train_outputs: tuple[int, torch.Tensor] | None = None
        self.val_outputs: tuple[int, torch.Tensor] | None = None
        self.eval_every = 1  # every k-th epoch is evaluated (long full-batch runs, see LONG_FULL_BATCH)
        self._trial: list[float] | None = None  # [step seconds, evaluation seconds, epochs] while measured
        # The training set's data loss, with its graph, from the evaluation at an epoch end that the
        # next full-batch step reuses: (step, parameter versions, loss). See _evaluate_train.
        self._next_forward: tuple[int, tuple[tuple[int, int], ...], torch.Tensor] | None = None

        dev = self.device
        ds = self.dataset
        self.x_train = torch.as_tensor(ds.x_train, device=dev)
        # A loss that takes target distributions trains on a dataset's soft labels where it has them.
        soft = self.loss_spec.soft_targets and ds.soft_train is not None
        self.y_train = torch.as_tensor(ds.soft_train if soft else ds.y_train, device=dev)
        self.x_val = torch.as_tensor(ds.x_val, device=dev)
        self.y_val = torch.as_tensor(ds.soft_val if soft else ds.y_val, device=dev)
        self.in_features, self.out_features, self.output_activation = network_io(
            ds.task, ds.n_features, ds.n_classes, self.loss_spec.output_activation
        )
        self.in_shape = ds.image_shape or self.in_features  # images: (channels, height, width)
        check_network_size(
            experiment.model["layers"],
            self.in_shape,
            self.out_features,
            max(1, self.batch_size),
            per_pixel=ds.masks,
        )
        self._loss_params = dict(experiment.loss["params"])
        check_class_lists(self.loss_spec, self._loss_params, max(ds.n_classes, 2))  # per-class weights
        if self._has_batchnorm() and len(self.x_train) < 2:
            raise LossLabError(
                "BatchNorm needs at least 2 training samples; use more samples or a smaller "
                "validation fraction, or remove the BatchNorm layer",
                "model.layers",
            )
        self.reset_weights()

    # -- set-up -------------------------------------------------------------------------------
    def reset_weights(self) -> None:
        """Fresh weights and optimizer state from the experiment's seed; the history starts over."""
        exp = self.experiment
        seed = exp.training["seed"]
        torch.manual_seed(seed)
        self.model = build_model(
            exp.model["layers"],
            self.in_shape,
            self.out_features,
            self.output_activation,
            exp.model["init"],
            per_pixel=self.dataset.masks,
        ).to(self.device)
        opt = exp.optimizer
        self.optimizer = get_optimizer_spec(opt["id"]).create(
            self.model.parameters(), opt["lr"], opt["params"], self.device
        )
        self.lr = LRController(
            self.optimizer, opt["lr"], opt["schedule"], exp.training["epochs"], self.steps_per_epoch
        )
        self._perm_gen = torch.Generator().manual_seed(seed)
        # Regularize weight matrices only: penalising biases would just shift the outputs.
        self._reg_weights = [p for p in self.model.parameters() if p.ndim > 1]
        # Only dropout and batch norm act differently in evaluation mode. Switching modes walks every
        # module twice per evaluation: a quarter of a full-batch run's time for a network without them.
        self._mode_matters = any(
            isinstance(m, (torch.nn.modules.dropout._DropoutNd, torch.nn.modules.batchnorm._BatchNorm))
            for m in self.model.modules()
        )
        self._has_reg = bool(exp.regularization["l1"] or exp.regularization["l2"])
        self._clip = exp.optimizer["grad_clip"]
        self._params = list(self.model.parameters())
        self._next_forward = None
        self.history = History()
        self.epoch = self.step = 0
        self.elapsed = 0.0
        self.initial_state = clone_state(self.model)  # where this run started (landscape, LR finder)
        self.last_good: GoodWeights | None = None  # see restore_last_good
        self._best_train_loss = math.inf
        self._explode_at = math.inf  # set from the starting loss when the first run begins
        self.early_stop: EarlyStopped | None = None  # set by end_run(); reported in Finished.early_stop

    @property
    def batch_size(self) -> int:
        bs = self.experiment.training["batch_size"]
        n = len(self.x_train)
        return n if bs == 0 or bs >= n else bs

    @property
    def batch_ends(self) -> list[int]:
        """Where each batch of an epoch ends: batch i covers [ends[i - 1] (or 0), ends[i])."""
        n, bs = len(self.x_train), self.batch_size
        ends = [*range(bs, n, bs), n]
        # BatchNorm cannot train on a single sample, so a lone leftover joins the batch before it.
        if len(ends) > 1 and ends[-1] - ends[-2] == 1 and self._has_batchnorm():
            del ends[-2]
        return ends

    @property
    def steps_per_epoch(self) -> int:
        return len(self.batch_ends)

    def _has_batchnorm(self) -> bool:
        return uses_batch_statistics(self.experiment.model["layers"])

    def set_learning_rate(self, lr: float) -> None:
        """Change the base learning rate now (the schedule keeps applying on top)."""
        self.lr.set_base_lr(lr)

    # -- divergence recovery and early ends ---------------------------------------------------
    detect_explosion = True  # GAN losses legitimately wander far from where they started
    _stateful: tuple[str, ...] = ("model", "optimizer")  # what a GoodWeights snapshot holds

    _snapshot_time = -math.inf
    _unsaved_good = False  # an epoch ended well after the last snapshot (taken when the run ends)

    _overlap: EpochOverlap | None = None  # the epoch-end evaluation on a second core, during a run
    # What probes returned from steps trained while an epoch end was evaluated: they come after it.
    _held: list[object]  # set by run()

    def _states(self) -> dict[str, dict[str, Any]]:
        return {name: clone_state(getattr(self, name)) for name in self._stateful}

    def _snapshot(self, good: GoodWeights | None = None) -> None:
        """Keep ``good`` (default: the weights as they are now) as the last good weights."""
        self._snapshot_time = time.perf_counter()
        self._unsaved_good = False
        self.last_good = good or GoodWeights(self.epoch, self.step, self._states())

    def restore_last_good(self, halve_lr: bool = True) -> GoodWeights | None:
        """Load the last good weights and optimizer state (after a divergence); the run can go on.

        The step and epoch counts keep going forward, so the curves continue where they stopped.
        With ``halve_lr`` the base learning rate is halved. Returns the snapshot, or None if there is none.
        """
        good = self.last_good
        if good is None:
            return None
        for name, state in good.states.items():
            getattr(self, name).load_state_dict(clone(state))
        if halve_lr:
            self.lr.set_base_lr(self.lr.base_lr / 2)
        return good

    def end_run(self, event: EarlyStopped) -> None:
        """Called by a probe (early stopping) to end the run after the current epoch."""
        self.early_stop = event

    @torch.no_grad()
    def _set_explosion_limit(self) -> None:
        if not self.detect_explosion or len(self.x_train) == 0:
            return
        start, _ = self.evaluate(self.x_train, self.y_train)
        l1, l2 = self.regularization()
        start += float(l1 or 0.0) + float(l2 or 0.0)
        if math.isfinite(start):
            self._explode_at = EXPLOSION_FACTOR * max(start, 1e-2)

    # -- the loss -----------------------------------------------------------------------------
    def regularization(
        self, weights: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The L1 and L2 terms of the model's weight matrices (or of ``weights``); None when off."""
        reg = self.experiment.regularization
        ws = self._reg_weights if weights is None else weights
        l1 = reg["l1"] * sum(w.abs().sum() for w in ws) if reg["l1"] else None
        l2 = reg["l2"] * sum(w.pow(2).sum() for w in ws) if reg["l2"] else None
        return l1, l2

    def data_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.loss_spec.compute(out, target, **self._loss_params)

    # -- evaluation ---------------------------------------------------------------------------
    @torch.no_grad()
    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """The model's outputs for ``x`` in evaluation mode, without a graph."""
        out: torch.Tensor  # nn.Module calls are typed Any
        if not self._mode_matters:
            out = self.model(x)
            return out
        was_training = self.model.training
        self.model.eval()
        try:
            out = self.model(x)
            return out
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
        if self.loss_spec.output == "probabilities":
            return out
        if out.ndim == 2:
            # torch's CPU softmax over a few classes costs ~0.15 µs a row (330 µs for 1,800 rows of
            # 10, a fifth of an epoch end, #19); written out it is 6x faster, equal to 1 ulp.
            e = (out - out.amax(dim=1, keepdim=True)).exp_()
            return e.div_(e.sum(dim=1, keepdim=True))
        return torch.sigmoid(out)

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
        if x is self.x_train:
            self.train_outputs = (self.step, out)
        elif x is self.x_val:
            self.val_outputs = (self.step, out)
        self._outputs_weights = self._versions()
        return self.score(out, y)

    def score(self, out: torch.Tensor, y: torch.Tensor) -> tuple[float, dict[str, float]]:
        """The loss and metrics of outputs ``out`` against targets ``y``."""
        return self._scores(out, y, float(self.data_loss(out, y)))

    def outputs_now(self, x: torch.Tensor) -> torch.Tensor:
        """``outputs(x)`` for the training or validation set, reusing the epoch end's evaluation
        when the weights are still that epoch end's (a probe's on_epoch): one forward pass fewer."""
        kept = self.train_outputs if x is self.x_train else self.val_outputs if x is self.x_val else None
        if kept is not None and kept[0] == self.step and self._outputs_weights == self._versions():
            return kept[1]
        return self.outputs(x)

    _outputs_weights: tuple[tuple[int, int], ...] = ()  # _versions() when the outputs were kept

    def _evaluate_train(self, prepare: bool) -> tuple[float, dict[str, float]]:
        """The training set's loss and metrics. With ``prepare`` the forward pass keeps its graph for
        the next step, a full-batch one, which starts from these very weights: the same numbers as a
        separate evaluation and step, one forward pass fewer (only where dropout and batch norm are
        absent, as they act differently in training and evaluation mode)."""
        if not prepare or len(self.x_train) == 0:
            return self.evaluate(self.x_train, self.y_train)
        out = self.model(self.x_train)
        loss = self.data_loss(out, self.y_train)
        self._next_forward = (self.step, self._versions(), loss)
        with torch.no_grad():
            kept = out.detach()
            self.train_outputs = (self.step, kept)
            self._outputs_weights = self._versions()
            return self._scores(kept, self.y_train, float(loss))

    def _versions(self) -> tuple[tuple[int, int], ...]:
        """Where each parameter's data lives and its in-place change counter: a load_state_dict moves
        the counter (fused Adam does not, the step count tells those apart), weights swapped in by
        ``.data`` (a lesson's "initial weights") the place."""
        return tuple((p.data_ptr(), p._version) for p in self._params)

    def _take_forward(self, xb: torch.Tensor) -> torch.Tensor | None:
        """The data loss prepared at the last epoch end, if it was for exactly this step."""
        kept, self._next_forward = self._next_forward, None
        if kept is None or xb is not self.x_train or kept[0] != self.step or kept[1] != self._versions():
            return None
        return kept[2]

    def _scores(self, out: torch.Tensor, y: torch.Tensor, loss: float) -> tuple[float, dict[str, float]]:
        if self.dataset.task == REGRESSION:
            return loss, regression_metrics(out.cpu().numpy(), y.cpu().numpy(), self.dataset.y_std)
        return loss, classification_metrics(
            self.labels(out).cpu().numpy(),
            y.cpu().numpy(),
            self.dataset.n_classes,
            self.probabilities(out).cpu().numpy(),
        )

    # -- the loop -----------------------------------------------------------------------------
    def _train_step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, float, dict[str, float] | None]:
        """One optimizer step. Returns (total loss, data loss, extra components such as L1/L2 terms)."""
        data_loss = self._take_forward(xb) if self._next_forward is not None else None
        if data_loss is None:
            data_loss = self.data_loss(self.model(xb), yb)
        loss = data_loss
        parts = None
        if self._has_reg:
            l1, l2 = self.regularization()
            parts = {}
            if l1 is not None:
                loss = loss + l1
                parts["l1"] = l1.item()
            if l2 is not None:
                loss = loss + l2
                parts["l2"] = l2.item()
        self._descend(loss)
        value = loss.item()
        return value, (data_loss.item() if parts else value), parts

    def _descend(self, loss: torch.Tensor) -> None:
        """One optimizer step of the model down ``loss``: gradients, clipped when asked, and the update."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self._clip:
            torch.nn.utils.clip_grad_norm_(self._params, self._clip)
        self.optimizer.step()

    def run(self, callback: Callback | None = None, epochs: int | None = None) -> Finished:
        """Train until ``epochs`` epochs are complete (default: the experiment's), or stop/diverge."""
        emit = callback or _ignore
        if self.device_notice:
            emit(Notice(self.device_notice))
            self.device_notice = None
        total_epochs = epochs if epochs is not None else self.experiment.training["epochs"]
        if self.last_good is None:  # the first run from these weights
            self._snapshot()
            self._set_explosion_limit()
            self.eval_every = 1
            self._trial = [0.0, 0.0, 0.0] if self._may_thin_evaluation() else None
        self.early_stop = None
        rec = _Recorder(self, emit)
        self.model.train()
        self._overlap = EpochOverlap(self) if self._overlaps_evaluation() else None
        self._held = []
        try:
            return self._finish(rec, *self._epochs(rec, emit, total_epochs))
        finally:
            if self._overlap is not None:
                self._overlap.close()
                self._overlap = None

    def _epochs(self, rec: _Recorder, emit: Callback, total_epochs: int) -> tuple[bool, Diverged | None]:
        """Epochs, each with its end, until ``total_epochs`` or an early end; returns (stopped, diverged)."""
        stopped, diverged = False, None
        while self.epoch < total_epochs and not stopped and diverged is None and self.early_stop is None:
            began = time.perf_counter()
            stopped, diverged = self._train_epoch(rec)
            if stopped or diverged is not None:
                break
            trained = time.perf_counter()
            self._fold_in(emit)  # the last epoch end's numbers come first
            self.epoch += 1
            self.elapsed = trained - rec.started
            if self.eval_every == 1 or self.epoch % self.eval_every == 0 or self.epoch >= total_epochs:
                rec.flush()
                self._end_epoch(emit, prepare=self.epoch < total_epochs and self._reuses_forward())
                if self._trial is not None:
                    self._pace_evaluation(trained - began, time.perf_counter() - trained, emit)
        return stopped, diverged

    def _overlaps_evaluation(self) -> bool:
        """Whether epoch ends are evaluated on a second core while training goes on (epoch_overlap.py):
        on a CPU with a core to spare, for mini-batch runs whose evaluation is mostly matrix work,
        when nothing needs the numbers before the next step: no plateau schedule (it reads the
        validation loss), no probe that acts on the training there (early stopping with patience),
        no GAN (its epoch measures sample the generator), no custom loss (the user's code stays on
        the training thread)."""
        n_params = sum(p.numel() for p in self._params)
        return (
            self.device == "cpu"
            and self.steps_per_epoch > 1
            and self.dataset.task != GAN
            and not self.loss_spec.custom
            and self.experiment.optimizer["schedule"]["id"] != "plateau"
            and not any(probe.acts_at_epoch_end for probe in self.probes)
            and len(self.x_train) * n_params >= MIN_WORK
            and spare_core()
        )

    def _fold_in(self, emit: Callback) -> None:
        """Record the epoch end evaluated on the second core, waiting for it if need be, with the
        trainer shown as it was then (its weights, step and last batch: what probes and the run
        history read); then what probes returned from the steps trained since."""
        overlap = self._overlap
        taken = overlap.take() if overlap is not None else None
        if taken is None:
            return
        assert overlap is not None
        pending, result = taken
        live = self.step, self.elapsed, self.last_batch
        moved_on = self.step != pending.step  # else the live weights are that epoch end's
        self.step, self.elapsed, self.last_batch = pending.step, pending.elapsed, pending.last_batch
        try:
            with overlap.as_it_was() if moved_on else contextlib.nullcontext():
                if result.train_outputs is not None:
                    self.train_outputs = (pending.step, result.train_outputs)
                if result.val_outputs is not None:
                    self.val_outputs = (pending.step, result.val_outputs)
                self._outputs_weights = self._versions()  # of use only while these weights are in
                epoch, lr, states = pending.epoch, pending.lr, pending.good_states
                self._record_epoch(epoch, self.step, lr, self.elapsed, result, emit, states)
        finally:
            self.step, self.elapsed, self.last_batch = live
        held, self._held = self._held, []
        for event in held:
            emit(event)

    def _reuses_forward(self) -> bool:
        """Whether an epoch-end evaluation of the training set can be the next step's forward pass."""
        return self.batch_size >= len(self.x_train) and not self._mode_matters and self.dataset.task != GAN

    def _may_thin_evaluation(self) -> bool:
        """A long full-batch run (see LONG_FULL_BATCH); not with a plateau schedule, which counts
        evaluations, nor early stopping, which keeps the best epoch's weights, nor a GAN, whose
        epoch measures are its curves."""
        exp = self.experiment
        return (
            self.steps_per_epoch == 1
            and exp.training["epochs"] > LONG_FULL_BATCH
            and self.dataset.task != GAN
            and exp.optimizer["schedule"]["id"] != "plateau"
            and not exp.training.get("early_stopping", 0)
        )

    def _pace_evaluation(self, step_s: float, eval_s: float, emit: Callback) -> None:
        """Add one trial epoch's cost; after TRIAL_EPOCHS pick k (see LONG_FULL_BATCH) and say so."""
        trial = self._trial
        assert trial is not None
        trial[0] += step_s
        trial[1] += eval_s
        trial[2] += 1
        if trial[2] < TRIAL_EPOCHS:
            return
        self._trial = None
        epochs = int(self.experiment.training["epochs"])
        k = 1
        if trial[1] > EVAL_BUDGET * (trial[0] + trial[1]):
            while -(-epochs // k) > MAX_ROWS:
                k = k * 5 // 2 if str(k).startswith("2") else k * 2  # 1, 2, 5, 10, 20, 50, ...
        if k > 1:
            self.eval_every = self.history.eval_every = k
            emit(
                Notice(
                    f"A full-batch run of {epochs:,} epochs: evaluating both sets every epoch would take "
                    f"{100 * trial[1] / (trial[0] + trial[1]):.0f}% of the time, so from now on they are "
                    f"evaluated every {k} epochs (and at the end); the step losses still show every "
                    "epoch's training loss."
                )
            )

    # -- the epoch loop -----------------------------------------------------------------------
    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This epoch's batches: the whole set, or slices of one fresh permutation."""
        x, y = self.x_train, self.y_train
        n, ends = len(x), self.batch_ends
        if self.batch_size >= n:
            for _ in ends:  # one batch (ends is [n])
                yield x, y
            return
        perm = torch.randperm(n, generator=self._perm_gen).to(self.device)
        start = 0
        for end in ends:
            idx = perm[start:end]
            start = end
            yield x[idx], y[idx]

    def _train_epoch(self, rec: _Recorder) -> tuple[bool, Diverged | None]:
        """One pass over the training data, one optimizer step per batch. Returns (stopped, diverged):
        whether the user stopped the run or the loss diverged before the pass was complete."""
        controls, lr, train_step, probes = self.controls, self.lr, self._train_step, self.probes
        explode_at, overlap = self._explode_at, self._overlap
        lr.begin_epoch(self.epoch)
        for xb, yb in self._batches():
            if overlap is not None and overlap.ready():
                self._fold_in(rec.emit)
            if controls.pending:
                self._next_forward = None  # while paused, anything may happen to the weights
                self._fold_in(rec.emit)
                rec.flush()
                if not controls.wait_for_batch():
                    return True, None
                new_lr = controls.take_lr()
                if new_lr is not None:
                    lr.set_base_lr(new_lr)
            lr.step(self.step)
            self.last_batch = xb, yb  # for probes that look at it only now and then
            value, data_value, parts = train_step(xb, yb)
            self.step += 1
            rec.add(self.step, value, data_value, parts)
            for probe in probes:
                if probe.every and self.step % probe.every == 0:
                    event = probe.on_step(self, xb, yb)
                    if event is not None and overlap is not None and overlap.pending is not None:
                        self._held.append(event)  # to come after that epoch end, as in place
                    elif event is not None:
                        rec.emit(event)
            if not value <= explode_at:  # NaN, infinite, or a loss explosion
                previous = rec.totals[-2] if len(rec.totals) >= 2 else math.nan
                message = self._divergence_message(value, previous)
                return False, Diverged(self.epoch + 1, self.step, value, message)
            # Steps wait while an epoch end is evaluated on the second core, to come after its event.
            evaluating = overlap is not None and overlap.pending is not None
            if not evaluating and time.perf_counter() - rec.last_flush >= FLUSH_SECONDS:
                rec.flush()
        return False, None

    # -- bookkeeping: epoch ends, snapshots, the end of a run ---------------------------------
    def _end_epoch(self, emit: Callback, prepare: bool = False) -> None:
        """Evaluate, record the epoch, keep its weights if they are good, and let the probes look.
        ``prepare``: the next step trains on the whole set from these weights (see _evaluate_train)."""
        if self._overlap is not None and not prepare:
            # Weight copies for a snapshot are taken now, while the weights are this epoch end's.
            states = self._states() if self._snapshot_due() else None
            self._overlap.submit(self.epoch, self.step, self.lr.lr, self.elapsed, states, self.last_batch)
            return
        train = self._evaluate_train(prepare)
        val = self.evaluate(self.x_val, self.y_val)
        with torch.no_grad():
            l1, l2 = self.regularization()
        result = EpochResult(
            train, val, float(l1) if l1 is not None else 0.0, float(l2) if l2 is not None else 0.0, None, None
        )
        self._record_epoch(self.epoch, self.step, self.lr.lr, self.elapsed, result, emit)

    def _record_epoch(
        self,
        epoch: int,
        step: int,
        lr: float,
        elapsed: float,
        result: EpochResult,
        emit: Callback,
        states: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """The epoch end's row and event, its weights kept if good, and the probes' look at it.
        ``states``: copies of the weights from that epoch end (when it was evaluated later)."""
        (train_loss, train_metrics), (val_loss, val_metrics) = result.train, result.val
        event = EpochEnd(
            epoch, step, train_loss, val_loss, train_metrics, val_metrics, lr, result.l1, result.l2, elapsed
        )
        self.history.add(event)
        self._keep_if_good(train_loss, epoch, step, states)
        self.lr.end_epoch(val_loss if math.isfinite(val_loss) else train_loss)
        emit(event)
        for probe in self.probes:
            extra = probe.on_epoch(self)
            if extra is not None:
                emit(extra)

    def _snapshot_due(self) -> bool:
        # Copying the weights every epoch cost 11% of a full-batch run (an epoch is one step):
        # a snapshot a few times a second is as good for recovering from a divergence.
        return time.perf_counter() - self._snapshot_time >= SNAPSHOT_SECONDS

    def _keep_if_good(
        self, train_loss: float, epoch: int, step: int, states: dict[str, dict[str, Any]] | None = None
    ) -> None:
        """Mark an epoch end as one to come back to after a divergence, if its loss is sane.
        ``states``: that epoch end's weight copies, when the weights have moved on since."""
        if math.isfinite(train_loss) and train_loss <= GOOD_FACTOR * self._best_train_loss:
            self._best_train_loss = min(self._best_train_loss, train_loss)
            self._unsaved_good = True
            if states is not None:
                self._snapshot(GoodWeights(epoch, step, states))
            elif self._overlap is None and self._snapshot_due():
                self._snapshot()

    def _finish(self, rec: _Recorder, stopped: bool, diverged: Diverged | None) -> Finished:
        self._fold_in(rec.emit)
        self._next_forward = None
        if self._unsaved_good and diverged is None:
            self._snapshot()  # the run ends on a good epoch: that is the one to come back to
        self.elapsed = time.perf_counter() - rec.started
        rec.flush()
        if stopped:
            self.controls.clear_stop()  # that request is spent: a later run() goes on
        if diverged is not None:
            self.history.mark_diverged(diverged.epoch, diverged.step)
            rec.emit(diverged)
        finished = Finished(self.history, stopped, diverged, early_stop=self.early_stop)
        rec.emit(finished)
        return finished

    def _divergence_message(self, value: float, previous: float = math.nan) -> str:
        """Why the loss blew up, as far as the numbers tell: the learning rate only when the loss grew.

        ``previous`` is the loss one step before (NaN when unknown)."""
        where = f"at epoch {self.epoch + 1}, step {self.step} (learning rate {self.lr.lr:g})"
        what = describe_divergence(value)
        own = "your custom loss" if self.loss_spec.custom else f"the {self.loss_spec.name} loss's parameters"
        if self.step == 1 and not math.isfinite(value):
            return (
                f"Training diverged: the loss {what} on the very first batch, before any update "
                "(epoch 1, step 1), so the learning rate is not the cause. "
                f"Check {own} and the data for NaN or infinite values."
            )
        start = self._explode_at / EXPLOSION_FACTOR
        if not math.isfinite(value) and math.isfinite(previous) and previous <= 2 * start:
            return (
                f"Training diverged: the loss {what} {where}, yet one step before it was {previous:.4g} "
                "and had not grown, so the update did not overshoot: a gradient was NaN or infinite. "
                f"Look at {own} (a gradient undefined somewhere, such as sqrt(0), log(0) or a division "
                "by zero) and at extreme values in the data; a lower learning rate will not fix it."
            )
        return (
            f"Training diverged: the loss {what} {where}. The updates overshot and the weights blew up. "
            + divergence_advice(self.lr.lr, self.loss_spec)
        )


def _ignore(event: object) -> None:
    """The callback of a run nobody watches."""


def default_probes(
    experiment: Experiment, diagnostics: bool = True, diagnostics_budget: float | None = None
) -> list[Probe]:
    """The probes every trainer carries, as the experiment's training section asks."""
    training = experiment.training
    probes: list[Probe] = [EarlyStopping(training.get("early_stopping", 0))]  # also spots overfitting
    every = training.get("diagnostics_every", 0)
    if every and diagnostics:
        probes.append(GradientHealthProbe(every, budget=diagnostics_budget))
    return probes


class _Recorder:
    """Collects per-step values and hands them out as one StepBatch every ~50 ms."""

    def __init__(self, trainer: Trainer, emit: Callback) -> None:
        self.trainer, self.emit = trainer, emit
        self.steps: list[int] = []
        self.epochs: list[int] = []  # epochs completed before each step (a flush may span several)
        self.totals: list[float] = []
        self.data: list[float] = []
        self.parts: dict[str, list[float]] = {}
        self.started = time.perf_counter() - trainer.elapsed
        self.last_flush = time.perf_counter()
        self.flushed_at_step = trainer.step

    def add(self, step: int, total: float, data: float, parts: dict[str, float] | None) -> None:
        self.steps.append(step)
        self.epochs.append(self.trainer.epoch)
        self.totals.append(total)
        self.data.append(data)
        if parts:
            for key, value in parts.items():
                self.parts.setdefault(key, []).append(value)

    def flush(self) -> None:
        now = time.perf_counter()
        t = self.trainer
        if self.steps:
            rate = (t.step - self.flushed_at_step) / max(now - self.last_flush, 1e-9)
            extra = {k: np.array(v) for k, v in self.parts.items()}
            l1, l2 = extra.pop("l1", None), extra.pop("l2", None)
            epochs = self.epochs
            self.emit(
                StepBatch(
                    epochs[-1],
                    np.array(self.steps),
                    np.array(self.totals),
                    np.array(self.data),
                    l1,
                    l2,
                    t.lr.lr,
                    now - self.started,
                    rate,
                    extra,
                    np.array(epochs) if epochs[0] != epochs[-1] else None,
                )
            )
            self.steps, self.epochs, self.totals, self.data, self.parts = [], [], [], [], {}
        self.last_flush, self.flushed_at_step = now, t.step
