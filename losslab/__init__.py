"""LossLab: see how a loss function shapes the training of a neural network.

The Python API. ``import losslab`` imports neither Qt nor torch; they load when first needed.
"""

from losslab.api import landscape, load_experiment, loss, losses, lr_find, train
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment

__version__ = "0.1.0"
__all__ = [
    "Experiment",
    "LossLabError",
    "__version__",
    "landscape",
    "load_experiment",
    "loss",
    "losses",
    "lr_find",
    "train",
]
