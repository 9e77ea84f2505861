"""The ``discriminator`` section of a GAN experiment: the network that judges the generator.

Its own hidden layers (LossLab adds the one-logit output layer, as for any binary classifier),
weight initialisation, optimizer (no schedule: the generator's schedule is the run's) and how many
discriminator steps come before each generator step. An experiment without the section gets the
small network GANs always had, trained with the generator's optimizer and learning rate, so files
written before the section existed train exactly as they did.
"""

from __future__ import annotations

from typing import Any

from losslab.core.errors import LossLabError
from losslab.core.layers import INITS, validate_layer
from losslab.core.optim import get_optimizer_spec
from losslab.core.params import Param, shown, validate_params

SECTION = "discriminator"
DEFAULT_LAYERS: tuple[dict[str, Any], ...] = (
    {"type": "linear", "units": 64},
    {"type": "leaky_relu", "negative_slope": 0.2},
    {"type": "linear", "units": 64},
    {"type": "leaky_relu", "negative_slope": 0.2},
)
STEPS = Param(
    "steps",
    "Steps per generator step",
    "int",
    1,
    1,
    100,
    help="Discriminator updates before each generator update; more steps make it stronger",
)
KEYS = {"layers", "init", "optimizer", "steps"}
LOSS = "gan_d"  # what the discriminator always minimises: BCE on its one logit (real 1, fake 0)
# Its learning rate is constant: the generator's schedule is the run's (for editors that show one).
NO_SCHEDULE: dict[str, Any] = {"id": "constant", "params": {}, "warmup_epochs": 0}
OPTIMIZER_KEYS = {"id", "lr", "params", "grad_clip"}


def validate_discriminator(
    section: Any, optimizer: dict[str, Any], common: tuple[Param, ...]
) -> dict[str, Any]:
    """The section with every default filled in (errors name ``discriminator.<field>``).

    ``optimizer`` is the experiment's validated optimizer section (the generator's): a section
    without an optimizer of its own inherits its optimizer, learning rate and parameters, never
    its clipping (the discriminator was never clipped). ``common`` are the learning-rate and
    clipping Params (experiment.OPTIMIZER_COMMON).
    """
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise LossLabError(f"must be an object with 'layers' and 'optimizer', got {shown(section)}", SECTION)
    _check_keys(section, KEYS, SECTION)
    layers = section.get("layers", [dict(layer) for layer in DEFAULT_LAYERS])
    if not isinstance(layers, list):
        raise LossLabError(f"must be a list of layers, got {shown(layers)}", f"{SECTION}.layers")
    init = section.get("init", "default")
    if not isinstance(init, str) or init not in INITS:
        raise LossLabError(
            f"unknown initialisation {shown(init)}; known: {', '.join(INITS)}", f"{SECTION}.init"
        )
    opt = section.get("optimizer", {})
    where = f"{SECTION}.optimizer"
    if not isinstance(opt, dict):
        raise LossLabError(f"must be an object like {{'id': 'adam', 'lr': 0.001}}, got {shown(opt)}", where)
    _check_keys(opt, OPTIMIZER_KEYS, where)
    try:
        spec = get_optimizer_spec(opt.get("id", optimizer["id"]))
    except LossLabError as exc:  # named as the discriminator's field, not the generator's
        message = str(exc)[len(exc.field) + 2 :] if exc.field else str(exc)
        raise LossLabError(message, f"{where}.id") from None
    inherited = optimizer["params"] if spec.id == optimizer["id"] else {}
    values = validate_params(
        common, {"lr": opt.get("lr", optimizer["lr"]), "grad_clip": opt.get("grad_clip", 0.0)}, where
    )
    return {
        "layers": [validate_layer(x, f"{SECTION}.layers[{i}]") for i, x in enumerate(layers)],
        "init": init,
        "optimizer": {
            "id": spec.id,
            **values,
            "params": validate_params(spec.params, opt.get("params", inherited), f"{where}.params"),
        },
        "steps": STEPS.validate(section.get("steps", STEPS.default), f"{SECTION}.steps"),
    }


def _check_keys(section: dict[str, Any], allowed: set[str], name: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise LossLabError(
            f"unknown key {shown(unknown[0])} (allowed: {', '.join(sorted(allowed))})", f"{name}.{unknown[0]}"
        )
