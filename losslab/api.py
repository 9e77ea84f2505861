"""Functions for notebooks and scripts. Errors a user can cause raise ``LossLabError``."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from losslab.core.errors import LossLabError
from losslab.core.experiment import TRAINING_PARAMS, Experiment, load_experiment
from losslab.core.losses import LOSSES, make_loss
from losslab.core.params import shown

__all__ = ["landscape", "load_experiment", "loss", "losses", "lr_find", "sample_history", "train"]


def losses() -> list[str]:
    """The ids of every built-in loss."""
    return list(LOSSES)


def loss(loss_id: str | dict[str, Any], trust_code: bool = False, **params: Any) -> Callable[[Any, Any], Any]:
    """A callable ``(pred, target) -> scalar tensor``: the mean loss, with training's target conventions.

    ``loss_id`` is a built-in id, or an experiment's loss section (``experiment.loss``); a custom loss
    can also be given as ``loss("custom", code="def loss(pred, target): ...", tasks=[...],
    output="raw", name="...")``. Custom-loss code runs only when trusted (shipped with LossLab, said
    yes to in the window) or when ``trust_code=True``.
    """
    from losslab.core.custom_loss import CUSTOM_ID, SECTION_KEYS

    if loss_id == CUSTOM_ID:  # the definition's keys describe the loss; a custom loss has no parameters
        section = {k: v for k, v in params.items() if k in SECTION_KEYS}
        rest = {k: v for k, v in params.items() if k not in SECTION_KEYS}
        loss_id, params = {"params": rest, **section, "id": CUSTOM_ID}, {}
    if trust_code:
        _allow_code(loss_id)
    return make_loss(loss_id, **params)


def _allow_code(source: Any) -> None:
    """``trust_code=True``: let the code of this experiment or loss section run in this process."""
    from losslab.core.trust import allow_experiment_code

    if isinstance(source, Experiment):
        allow_experiment_code(source)
    elif isinstance(source, dict):
        allow_experiment_code(source if "loss" in source else {"loss": source})


def train(
    experiment: Experiment | dict[str, Any] | str | os.PathLike[str],
    epochs: int | None = None,
    callback: Callable[[Any], None] | None = None,
    device: str | None = None,
    trust_code: bool = False,
    record: bool = True,
) -> Any:
    """Train an experiment (an Experiment, a dict, or a path) and return its History.

    ``callback`` receives the trainer's events (losslab.core.events) as they happen. A file whose
    custom loss carries code LossLab has not been told to trust is refused unless ``trust_code``.

    The run is stored in the run history (``losslab runs list``; ``losslab.core.runs.open_store()``
    in Python) unless ``record=False``; the History's ``run_id`` is its id there (None when not
    recorded). A history that cannot be written (damaged, locked) gives a warning, not an error.
    """
    return _run(experiment, epochs, callback, device, trust_code, record)


def sample_history(
    experiment: Experiment | dict[str, Any] | str | os.PathLike[str],
    epochs: int | None = None,
    callback: Callable[[Any], None] | None = None,
    device: str | None = None,
    trust_code: bool = False,
    record: bool = True,
) -> Any:
    """Train as ``train`` does and return every training sample's history across the epochs.

    A ``SampleHistory`` (losslab.core.sample_history): ``.loss`` and ``.value`` are (samples, epochs)
    float32 arrays (value: P(true class), or the error / std(y) for regression), ``.correct``,
    ``.epochs`` (which epochs were kept: at most 256, evenly spread), ``.cartography()`` (confidence,
    variability, correctness and the easy/ambiguous/hard region of each sample), ``.to_csv()``; the
    run's own History is its ``run_history``. A GAN has no per-sample history (LossLabError).
    """
    from losslab.core.sample_history import SampleHistoryProbe

    probe = SampleHistoryProbe(events=False)
    history = _run(experiment, epochs, callback, device, trust_code, record, probe)
    samples = probe.history
    if samples is None:  # stopped before the first epoch ended
        raise LossLabError("the run ended before its first epoch: no sample history", "epochs")
    samples.run_history = history
    return samples


def _run(
    experiment: Experiment | dict[str, Any] | str | os.PathLike[str],
    epochs: int | None,
    callback: Callable[[Any], None] | None,
    device: str | None,
    trust_code: bool,
    record: bool,
    probe: Any = None,
) -> Any:
    """Train (see train); ``probe`` is attached to the trainer first."""
    from losslab.core.trainer import make_trainer

    experiment = _experiment(experiment, trust_code)
    device = _device(device)
    if callback is not None and not callable(callback):
        raise LossLabError(f"must be a function that takes each event, got {shown(callback)}", "callback")
    if epochs is not None:
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise LossLabError(f"must be a whole number >= 1, got {epochs!r}", "epochs")
        # Through the experiment, not run(epochs): schedules such as cosine span the epochs trained.
        experiment = experiment.replace("training", epochs=epochs)
    # Gradient statistics are events: collect them only when a callback can receive them.
    trainer = make_trainer(experiment, device=device, diagnostics=callback is not None)
    if probe is not None:
        if trainer.dataset.task == "gan":
            raise LossLabError(
                "a GAN has no per-sample history: its samples are new every step", "experiment"
            )
        trainer.probes.append(probe)
    if not record:
        history = trainer.run(callback).history
        history.run_id = None
        return history
    return _train_recorded(trainer, callback)


def _train_recorded(trainer: Any, callback: Callable[[Any], None] | None) -> Any:
    """``trainer.run(callback)`` with the run stored in the run history (see train)."""
    import warnings

    from losslab.core.runs import Recorder, open_store

    try:
        store = open_store()
        try:
            recorder = Recorder(store, trainer, source="api")
        except BaseException:
            store.close()
            raise
    except LossLabError as exc:
        warnings.warn(f"this run is not recorded in the run history: {exc}", RuntimeWarning, stacklevel=3)
        history = trainer.run(callback).history
        history.run_id = None
        return history
    with store, recorder:  # an exception or Ctrl-C still closes the stored run, keeping what was done
        history = trainer.run(recorder.wrap(callback)).history
    if recorder.error is not None:
        warnings.warn(
            f"the run history stopped recording this run: {recorder.error}", RuntimeWarning, stacklevel=3
        )
    history.run_id = recorder.run_id if recorder.error is None else None
    return history


def _experiment(
    experiment: Experiment | dict[str, Any] | str | os.PathLike[str], trust_code: bool
) -> Experiment:
    """An Experiment from an Experiment, a dict or a path; untrusted custom-loss code is refused."""
    if isinstance(experiment, Experiment):
        loaded = experiment
    elif isinstance(experiment, dict):
        loaded = Experiment.from_dict(experiment)
    elif isinstance(experiment, (str, bytes, os.PathLike)):
        from losslab.core.trust import require_trusted

        path = os.fsdecode(experiment)
        loaded = load_experiment(path)
        if not trust_code:  # refused here, before any training starts, naming the file
            require_trusted(loaded, os.path.basename(path), "trust_code=True")
    else:
        raise LossLabError(
            f"must be an Experiment, a dict or the path of a .losslab file, got {shown(experiment)}",
            "experiment",
        )
    if trust_code:
        _allow_code(loaded)
    return loaded


def lr_find(
    experiment: Experiment | dict[str, Any] | str | os.PathLike[str],
    start: float = 1e-6,
    end: float = 10.0,
    steps: int = 100,
    device: str | None = None,
    trust_code: bool = False,
) -> Any:
    """The learning-rate range test from the experiment's initial weights.

    Returns an ``LRFinderResult``: ``suggestion`` (a learning rate, or None when the loss never
    fell), ``lrs`` and ``losses`` (the smoothed curve), ``raw_losses`` and a ``message``.
    """
    from losslab.core.lr_finder import lr_find as find

    return find(_experiment(experiment, trust_code), start, end, steps, device=_device(device))


def landscape(
    experiment: Experiment | dict[str, Any] | str | os.PathLike[str],
    weights: Any = None,
    steps: int = 31,
    span: float = 1.0,
    directions: str = "random",
    seed: int = 0,
    trajectory: Any = None,
    device: str | None = None,
    trust_code: bool = False,
) -> Any:
    """The training loss around ``weights`` on a ``steps`` x ``steps`` grid, plus the 1-D line to them.

    ``weights``: a state_dict, a path to a weights.pt (``losslab run --out``) or a module; None
    means the experiment's initial weights. The grid runs along two filter-normalized random
    directions, or with ``directions="pca"`` along the principal directions of ``trajectory`` (a
    list of flat weight vectors). Returns a ``Landscape``: ``.grid`` (xs, ys, losses, center_loss,
    trajectory) and ``.line`` (alphas, losses: 0 = initial weights, 1 = ``weights``).
    """
    from losslab.core.landscape import compute_landscape

    return compute_landscape(
        _experiment(experiment, trust_code),
        weights,
        steps,
        span,
        directions,
        seed=seed,
        trajectory=trajectory,
        device=_device(device),
    )


def _device(device: Any) -> str | None:
    """``device`` checked as an experiment's training.device is (auto, cpu, cuda, mps), or None."""
    if device is None:
        return None
    param = next(p for p in TRAINING_PARAMS if p.name == "device")
    value: str = param.validate(device, "device")
    return value
