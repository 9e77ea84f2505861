"""Training inside the real window with live plots (offscreen), in a subprocess of its own.

A second QApplication in one process aborts, so ``losslab bench`` runs this module as a child:
``python -m losslab.bench.window SPEC.json RESULT.json``. For each workload it opens the workload's
``.losslab`` file in a MainWindow, presses Train (``window.train()``) and waits for the run to end,
reading ``trainer.step / trainer.elapsed``; interleaved with those runs, the plain loop and what
``losslab run`` trains (``make_trainer(..., diagnostics=False).run()``) train the same experiment on
the GUI thread (the window idle meanwhile) for same-process baselines. While the
window trains, a 5 ms single-shot precise timer re-arms itself and records how late it fires: the
event loop's responsiveness while training and plotting.

For "what limits it", the child also records the GUI thread's CPU time per run, how long
``window.train()`` blocks it, and, on the training thread, its CPU time per step (a probe added to
each trainer the window makes) and the task view's predictions' share of it (a timing wrapper
around ``TaskView.view_function``). None of this changes what the window does.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

LATENESS_INTERVAL_MS = 5
RUN_TIMEOUT_S = 300.0


def _watchdog(seconds: float) -> None:
    def bail() -> None:
        print(f"losslab bench: the window benchmark hung for {seconds:.0f} s", file=sys.stderr, flush=True)
        import os

        os._exit(3)

    timer = threading.Timer(seconds, bail)
    timer.daemon = True
    timer.start()


def run(spec: dict[str, Any]) -> dict[str, Any]:
    from PySide6.QtCore import QEventLoop, QObject, QSettings, Qt, QTimer, Slot

    from losslab.gui.app import create_app
    from losslab.gui.main_window import MainWindow

    class LatenessProbe(QObject):
        """A 5 ms timer that re-arms itself; records lateness (ms) while ``samples`` is a list.

        It runs only while it records: 200 wake-ups a second of the GUI thread each take the GIL
        from the training thread, so runs timed for throughput go without it.
        """

        def __init__(self) -> None:
            super().__init__()
            self.samples: list[float] | None = None
            self.timer = QTimer(self)
            self.timer.setSingleShot(True)
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
            self.timer.timeout.connect(self._fired)
            self._armed = time.perf_counter()

        def restart(self, samples: list[float] | None) -> None:
            self.samples = samples
            if samples is None:
                self.timer.stop()
            else:
                self._arm()

        def _arm(self) -> None:
            self._armed = time.perf_counter()
            self.timer.start(LATENESS_INTERVAL_MS)

        @Slot()
        def _fired(self) -> None:
            late = (time.perf_counter() - self._armed) * 1000.0 - LATENESS_INTERVAL_MS
            if self.samples is not None:
                self.samples.append(max(late, 0.0))
                self._arm()

    from losslab.core.probe import Probe

    class CpuProbe(Probe):
        """The training thread's CPU time between its first and last epoch ends (on that thread).

        It is the thread's own work per step (training, the task view's predictions, events),
        without the time it waited for the GIL or a core.
        """

        def __init__(self) -> None:
            self.first: tuple[int, float, float] | None = None
            self.last: tuple[int, float, float] | None = None

        def on_epoch(self, trainer: Any) -> None:
            mark = (trainer.step, time.thread_time(), view_cpu[0])
            self.first = self.first or mark
            self.last = mark

        def steps_per_cpu_s(self) -> float:
            (s0, c0, _), (s1, c1, _) = self.first, self.last
            return (s1 - s0) / (c1 - c0) if c1 > c0 else float("nan")

        def view_share(self) -> float:
            """The task view's predictions' share of the training thread's CPU time."""
            (_, c0, v0), (_, c1, v1) = self.first, self.last
            return (v1 - v0) / (c1 - c0) if c1 > c0 else float("nan")

    # The task view's predictions run on the training thread (~12 Hz): time them there.
    from losslab.gui.plots.task_view import TaskView

    view_cpu = [0.0]
    base_view_function = TaskView.view_function

    def timed_view_function(dataset: Any) -> Any:
        fn = base_view_function(dataset)
        if fn is None:
            return None

        def timed(trainer: Any) -> Any:
            t0 = time.thread_time()
            try:
                return fn(trainer)
            finally:
                view_cpu[0] += time.thread_time() - t0

        return timed

    TaskView.view_function = staticmethod(timed_view_function)

    app = create_app()
    import torch

    from losslab.bench.plain import PlainLoop, same_weights
    from losslab.core.experiment import load_experiment
    from losslab.core.trainer import make_trainer as make_run_trainer

    torch.set_num_threads(1)
    window = MainWindow(settings=QSettings(spec["settings"], QSettings.Format.IniFormat))
    window.show()
    app.processEvents()
    cpu_probes: list[CpuProbe] = []
    make_trainer = window.run.make_trainer

    def make_trainer_with_probe() -> Any:
        trainer = make_trainer()
        cpu_probes.append(CpuProbe())
        trainer.probes.append(cpu_probes[-1])
        return trainer

    window.run.make_trainer = make_trainer_with_probe
    probe = LatenessProbe()

    busy: list[float] = []  # the GUI thread's CPU time / wall time over each window run
    press_ms: list[float] = []  # how long window.train() blocks the GUI thread

    def train_in_window(samples: list[float] | None) -> Any:
        loop = QEventLoop()
        window.controller.finished.connect(loop.quit)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        guard.start(int(RUN_TIMEOUT_S * 1000))
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        window.train()  # builds the trainer on the GUI thread, then starts the worker thread
        press_ms.append((time.perf_counter() - wall0) * 1000.0)
        probe.restart(samples)  # lateness while training, not the Train press itself (timed above)
        loop.exec()
        busy.append((time.thread_time() - cpu0) / (time.perf_counter() - wall0))
        probe.restart(None)
        window.controller.finished.disconnect(loop.quit)
        if window.controller.running:
            raise RuntimeError("a window training run did not finish in time")
        return window.trainer

    results: dict[str, Any] = {}
    warmed = False
    for job in spec["workloads"]:
        path = Path(job["path"])
        if not window.open_file(path):
            raise RuntimeError(f"the window could not open {path}")
        experiment = load_experiment(path)
        dataset = window.state.dataset
        if not warmed:  # first paints of every view, torch kernels: not part of any figure
            train_in_window(None)
            PlainLoop(experiment, dataset).run(1)
            warmed = True
        out: dict[str, Any] = {
            "plain": [],
            "plain_cpu": [],
            "headless": [],
            "headless_cpu": [],
            "window": [],
            "window_cpu": [],
            "lateness_ms": [],
            "view_share": [],
            "same_weights": True,
        }
        busy.clear()
        press_ms.clear()
        sides = ("plain", "headless", "window")
        for i in range(spec["repeats"]):
            for side in sides[i % 3 :] + sides[: i % 3]:  # each side takes each place in turn
                if side == "headless":
                    headless = make_run_trainer(experiment, dataset, diagnostics=False)
                    cpu0 = time.thread_time()
                    headless.run()
                    out["headless_cpu"].append(headless.step / (time.thread_time() - cpu0))
                    out["headless"].append(headless.step / headless.elapsed)
                elif side == "plain":
                    loop = PlainLoop(experiment, dataset)
                    cpu0 = time.thread_time()
                    seconds = loop.run(experiment.training["epochs"])
                    out["plain_cpu"].append(loop.step / (time.thread_time() - cpu0))
                    out["plain"].append(loop.step / seconds)
                else:
                    trainer = train_in_window(None)
                    out["window"].append(trainer.step / trainer.elapsed)
                    out["window_cpu"].append(cpu_probes[-1].steps_per_cpu_s())
                    out["view_share"].append(cpu_probes[-1].view_share())
            out["same_weights"] = (
                out["same_weights"] and loop.step == trainer.step and same_weights(loop.model, trainer.model)
            )
            app.processEvents()
        timed = len(busy)
        for _ in range(spec.get("lateness_runs", 2)):  # responsiveness: separate runs, the probe on
            train_in_window(out["lateness_ms"])
        del busy[timed:], press_ms[timed:]  # GUI-thread figures of the throughput runs only
        out["gui_busy"] = list(busy)
        out["train_press_ms"] = list(press_ms)
        results[job["id"]] = out
    window.controller.stop()
    window.hide()
    return results


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    _watchdog(spec.get("timeout_s", 600.0))
    result = run(spec)
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
