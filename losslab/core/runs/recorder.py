"""``Recorder``: stores one training run as it happens, from the trainer's events.

    recorder = Recorder(store, trainer, name="moons", source="cli")
    with recorder:                       # Ctrl-C or an error still closes the run, keeping what was done
        trainer.run(recorder.wrap(callback))
        ...                              # trainer.run() again on the same trainer: recorder.resume() first

What is written, and when (each write is one short commit):

* the run row, at once: the experiment as run, dataset, network, device, torch version, pid, host;
* each epoch as it ends (``EpochEnd``): its History row, the run's progress, final and best metrics,
  so ``kill -9`` keeps every completed epoch;
* the kept per-step losses, with the epoch commits at most every ``flush_s`` seconds (and at the end):
  every ``stride``-th step, the stride doubling whenever more than ``max_steps`` would be kept;
* weights at most every ``flush_s`` seconds: the current weights as "final" and, when the validation
  loss (the training loss without a validation split) reached a new low since the last save, the
  weights of that epoch as "best" (copied in memory when it happened);
* at ``Finished``: status finished / stopped / diverged, the final weights and anything pending.

The callback runs on the training thread, between steps, so reading ``trainer.model`` there is safe.
If the history cannot be written (a full disk, a locked file), training goes on unrecorded and the
wrapped callback receives one ``Notice`` saying so.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import numpy as np

from losslab.core.errors import LossLabError
from losslab.core.events import Diverged, EpochEnd, Finished, Notice, StepBatch
from losslab.core.experiment import Experiment
from losslab.core.history import History
from losslab.core.runs.describe import describe_weights, task_of
from losslab.core.runs.liveness import process_token
from losslab.core.runs.records import BEST, DIVERGED, FINAL, FINISHED, INTERRUPTED, RUNNING, STOPPED
from losslab.core.runs.store import RunStore, best_key
from losslab.core.runs.weights import clone_state, state_to_bytes

Callback = Callable[[Any], None]
MAX_STEPS = 10_000  # kept per-step points per run, at most
FLUSH_SECONDS = 0.5  # weights and step points are written at most this often (epoch rows: every epoch)


class Recorder:
    """Records one run of ``trainer`` (a losslab.core.trainer.Trainer, or anything with ``experiment``,
    ``model``, ``device`` and ``step``) into ``store``. The run row is created here; ``run_id`` is its id.
    """

    def __init__(
        self,
        store: RunStore,
        trainer: Any,
        *,
        name: str = "",
        tags: tuple[str, ...] | list[str] = (),
        group_id: str | None = None,
        source: str = "",
        experiment: Experiment | None = None,
        max_steps: int = MAX_STEPS,
        flush_s: float = FLUSH_SECONDS,
    ) -> None:
        import torch

        self.store, self.trainer = store, trainer
        self.experiment: Experiment = experiment if experiment is not None else trainer.experiment
        self.max_steps, self.flush_s = max(2, max_steps), flush_s
        self.history = History()  # the rows, built exactly as the trainer's own History builds them
        self.stride = 1
        self.kept = 0  # step points stored so far
        self._steps: list[np.ndarray] = []  # not yet stored
        self._losses: list[np.ndarray] = []
        self._best_loss = math.inf
        self._best_row: dict[str, float] | None = None
        self._best_buffers: dict[str, Any] | None = None  # the best epoch's weights, copied when it ended
        self._best_pending: tuple[int, int] | None = None  # (epoch, step) of those, when not saved yet
        self._last_flush = -math.inf
        self._message = ""
        self.status: str | None = None  # set once the run has ended
        self.error: str | None = None  # why recording stopped, if it did
        self._notified = False
        self._emit: Callback | None = None
        self._state_of: Any = None
        self._state: dict[str, Any] = {}
        started = time.time() - float(getattr(trainer, "elapsed", 0.0) or 0.0)
        model = getattr(trainer, "model", None)
        architecture, params = describe_weights(model.state_dict()) if model is not None else ("", None)
        pid = os.getpid()
        self.run_id = store.create_run(
            self.experiment,
            name=name,
            tags=tags,
            group_id=group_id,
            source=source,
            task=task_of(self.experiment, trainer),
            architecture=architecture,
            param_count=params,
            device=str(getattr(trainer, "device", "")),
            torch_version=str(torch.__version__),
            started=started,
            pid=pid,
            pid_token=process_token(pid),
        )

    # -- the callback ------------------------------------------------------------------------
    def wrap(self, callback: Callback | None = None) -> Callback:
        """A trainer callback that records each event, then passes it on to ``callback``."""
        self._emit = callback

        def recording(event: Any) -> None:
            self.record(event)
            if callback is not None:
                callback(event)

        return recording

    def __call__(self, event: Any) -> None:
        self.record(event)

    def record(self, event: Any) -> None:
        if self.error is not None or self.status is not None:
            return
        try:
            if isinstance(event, StepBatch):
                self._on_steps(event)
            elif isinstance(event, EpochEnd):
                self._on_epoch(event)
            elif isinstance(event, Diverged):
                self._message = event.message
            elif isinstance(event, Finished):
                self._on_finished(event)
        except (LossLabError, OSError, RuntimeError) as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        self.error = str(exc)
        if self._emit is not None and not self._notified:
            self._notified = True
            self._emit(Notice(f"The run history stopped recording this run: {exc}. Training goes on."))

    def _on_steps(self, batch: StepBatch) -> None:
        if self.stride == 1:  # the common case, and the cheap one: a full-batch epoch is one step
            self._steps.append(batch.steps)
            self._losses.append(batch.loss)
            return
        steps = np.asarray(batch.steps, dtype=np.int64)
        keep = (steps - 1) % self.stride == 0
        if keep.any():
            self._steps.append(steps[keep])
            self._losses.append(np.asarray(batch.loss)[keep])

    def _on_epoch(self, end: EpochEnd) -> None:
        self.history.add(end)
        row = self.history.rows[-1]
        key = best_key(row)
        best_changed = key < self._best_loss
        if best_changed:
            self._best_loss, self._best_row = key, row
        now = time.perf_counter()
        if now - self._last_flush < self.flush_s:
            if best_changed:
                self._copy_best(end.epoch, end.step)
            self.store.record_epoch(self.run_id, row)  # one statement, committed as the epoch ends
            return
        with self.store.transaction():
            self.store.record_epoch(self.run_id, row)
            self._flush(now, best_now=best_changed, epoch=end.epoch, step=end.step)

    def _live_state(self) -> dict[str, Any] | None:
        """The model's state_dict tensors, which share storage with the live weights (cached: building
        a state_dict costs more than copying a small network's weights)."""
        model = getattr(self.trainer, "model", None)
        if model is None:
            return None
        if self._state_of is not model:
            self._state_of, self._state = model, model.state_dict()
        return self._state

    def _copy_best(self, epoch: int, step: int) -> None:
        """Copy the weights of a new best epoch into buffers kept for the next save."""
        state = self._live_state()
        if state is None:
            return
        buffers = self._best_buffers
        if buffers is None or buffers.keys() != state.keys():
            self._best_buffers = clone_state(state)
        else:
            for name, value in state.items():
                kept = buffers[name]
                if hasattr(kept, "copy_") and getattr(kept, "shape", None) == getattr(value, "shape", None):
                    kept.copy_(value)
                else:
                    buffers[name] = clone_state({name: value})[name]
        self._best_pending = (epoch, step)

    def _flush(
        self, now: float, best_now: bool = False, epoch: int | None = None, step: int | None = None
    ) -> None:
        """The run's progress, pending step points and weights (call inside a transaction)."""
        self._last_flush = now
        self._write_steps()
        if self.history.rows:
            last = self.history.rows[-1]
            columns: dict[str, Any] = {
                "epochs_done": int(last["epoch"]),
                "steps_done": int(last["step"]),
                "elapsed": float(last["elapsed_s"]),
                "final_metrics": last,
            }
            if self._best_row is not None:
                columns.update(best_metrics=self._best_row, best_epoch=int(self._best_row["epoch"]))
            self.store.update_run(self.run_id, **columns)
        model = getattr(self.trainer, "model", None)
        if model is None:
            return
        current = state_to_bytes(model.state_dict())
        self.store.save_weights(self.run_id, FINAL, current, epoch, step)
        if best_now:
            self.store.save_weights(self.run_id, BEST, current, epoch, step)
            self._best_pending = None
        elif self._best_pending is not None and self._best_buffers is not None:
            b_epoch, b_step = self._best_pending
            self.store.save_weights(self.run_id, BEST, state_to_bytes(self._best_buffers), b_epoch, b_step)
            self._best_pending = None

    def _write_steps(self) -> None:
        if not self._steps:
            return
        steps = np.concatenate(self._steps).astype(np.int64, copy=False)
        losses = np.concatenate(self._losses).astype(np.float32, copy=False)
        self._steps, self._losses = [], []
        if self.kept + len(steps) <= self.max_steps:
            self.store.add_steps(self.run_id, steps, losses)
            self.kept += len(steps)
            return
        # Too many: thin what is stored and what is new to every (2^k * stride)-th step.
        old = self.store.get_run(self.run_id)
        all_steps = np.concatenate([old.steps, steps])
        all_losses = np.concatenate([old.losses, losses])
        while len(all_steps) > self.max_steps:
            self.stride *= 2
            keep = (all_steps - 1) % self.stride == 0
            all_steps, all_losses = all_steps[keep], all_losses[keep]
        self.store.replace_steps(self.run_id, all_steps, all_losses, self.stride)
        self.kept = len(all_steps)

    def _on_finished(self, done: Finished) -> None:
        where: tuple[int | None, int | None] = (None, None)
        if done.diverged is not None:
            status, message = DIVERGED, done.diverged.message
            where = (done.diverged.epoch, done.diverged.step)
        elif done.stopped:
            status, message = STOPPED, "Stopped before the planned epochs were done."
        else:
            status, message = FINISHED, ""
        early = getattr(done, "early_stop", None)
        if early is not None and status == FINISHED:
            message = str(getattr(early, "notice", "") or "Early stopping ended the run.")
        self._end(status, message or self._message, diverged_at=where)

    def _end(
        self, status: str, message: str, diverged_at: tuple[int | None, int | None] = (None, None)
    ) -> None:
        """``diverged_at``: (epoch, step) of a divergence; (None, None) clears an earlier one that
        the run trained on past (Continue after the roll-back)."""
        step = int(getattr(self.trainer, "step", 0) or 0)
        elapsed = float(getattr(self.trainer, "elapsed", 0.0) or 0.0)
        with self.store.transaction():
            self._flush(time.perf_counter(), epoch=len(self.history) or None, step=step)
            self.store.update_run(
                self.run_id,
                status=status,
                message=message,
                ended=time.time(),
                steps_done=max(step, self.history.rows[-1]["step"] if self.history.rows else 0),
                elapsed=elapsed,
                diverged_epoch=diverged_at[0],
                diverged_step=diverged_at[1],
            )
        self.status = status

    def resume(self) -> None:
        """The same trainer trains on (the window's Continue after Stop, or after a divergence was
        rolled back): the run is "running" again and its epochs go on from where they were."""
        if self.error is not None or self.status is None:
            return
        try:
            self.store.update_run(self.run_id, status=RUNNING, ended=None, message="")
        except LossLabError as exc:
            self._give_up(exc)
            return
        self.status, self._message = None, ""

    # -- ending without Finished ---------------------------------------------------------------
    def close(self, status: str = STOPPED, message: str = "") -> None:
        """End the run now if no Finished event has (stopped, or interrupted after an error)."""
        if self.status is not None or self.error is not None:
            return
        try:
            self._end(status, message)
        except (LossLabError, OSError, RuntimeError) as exc:
            self._give_up(exc)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.close(STOPPED, "The training ended without reporting how.")
        elif isinstance(exc, KeyboardInterrupt):
            self.close(STOPPED, "Stopped with Ctrl-C; every completed epoch is kept.")
        else:
            self.close(INTERRUPTED, f"Training failed: {exc}")


__all__ = ["FLUSH_SECONDS", "MAX_STEPS", "Recorder"]
