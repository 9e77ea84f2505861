"""Thread-safe pause / resume / one-batch / stop / learning-rate / hold requests, checked every batch."""

from __future__ import annotations

import threading
import time

# A hold keeps the training thread waiting at most this long, even if it is never released.
HOLD_LIMIT_S = 0.5


class Controls:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._paused = False
        self.stop_requested = False
        self._steps_allowed = 0  # batches to run while paused ("one batch")
        self._lr_request: float | None = None
        # The only thing the hot loop reads each batch: is there anything to look at?
        self.pending = False
        # True while the training thread is blocked here (paused): the model is still, and only a
        # request from whoever set the pause can move it, so that side may read the model meanwhile.
        self.waiting = False
        self._holds = 0  # hold() calls not yet released
        self._held_since = 0.0

    def hold(self) -> None:
        """Ask the training thread to wait at its next batch boundary until ``release()``.

        For a moment of work the other side wants the interpreter for: Python threads take turns
        on one lock, so a window building a tab while a small network trains took 2-3 times as
        long and froze for over 100 ms (measured, #17). Not a pause: nothing else changes, and
        after HOLD_LIMIT_S the training goes on whether released or not."""
        with self._cond:
            if self._holds == 0:
                self._held_since = time.monotonic()
            self._holds += 1
            self.pending = True

    def release(self) -> None:
        with self._cond:
            self._holds = max(0, self._holds - 1)
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self.pending = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self.pending = True
            self._cond.notify_all()

    def step_once(self) -> None:
        """Run exactly one batch, then stay paused."""
        with self._cond:
            self._paused = True
            self._steps_allowed += 1
            self.pending = True
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stop_requested = True
            self.pending = True
            self._cond.notify_all()

    def clear_stop(self) -> None:
        """Forget a stop request once the run it ended is over, so the trainer can run again."""
        with self._cond:
            self.stop_requested = False

    def set_lr(self, lr: float) -> None:
        with self._cond:
            self._lr_request = lr
            self.pending = True

    def take_lr(self) -> float | None:
        with self._cond:
            lr, self._lr_request = self._lr_request, None
            return lr

    @property
    def paused(self) -> bool:
        return self._paused

    def wait_for_batch(self) -> bool:
        """Block while paused or held. True when the next batch may run, False when a stop was requested."""
        with self._cond:
            try:
                while True:
                    if self.stop_requested:
                        return False
                    held_for = time.monotonic() - self._held_since
                    if self._holds and held_for < HOLD_LIMIT_S:
                        self._cond.wait(HOLD_LIMIT_S - held_for)
                        continue
                    if not self._paused:
                        self.pending = self._lr_request is not None
                        return True
                    if self._steps_allowed > 0:
                        self._steps_allowed -= 1
                        self.pending = True  # look again before the batch after this one
                        return True
                    self.waiting = True
                    self._cond.wait(0.1)
            finally:
                self.waiting = False
