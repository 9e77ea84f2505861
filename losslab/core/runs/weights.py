"""State dicts to bytes and back: ``torch.save`` to memory, ``torch.load(weights_only=True)`` back.

The bytes are exactly what ``torch.save(state_dict, "weights.pt")`` writes, so an export copies them
to a file unchanged. Loading never unpickles arbitrary objects (``weights_only=True``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from losslab.core.errors import LossLabError


def state_to_bytes(state: Mapping[str, Any]) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(
        {k: v.detach().to("cpu") if isinstance(v, torch.Tensor) else v for k, v in state.items()}, buffer
    )
    return buffer.getvalue()


def state_from_bytes(data: bytes, map_location: Any = "cpu", what: str = "the weights") -> dict[str, Any]:
    import pickle

    import torch

    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise LossLabError(f"{what} cannot be read (damaged or not a state_dict): {exc}") from None
    if not isinstance(state, dict):
        raise LossLabError(f"{what} are not a state_dict (found {type(state).__name__})")
    return state


def clone_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """Detached copies of a state_dict's tensors, safe to keep while training goes on."""
    import torch

    return {k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in state.items()}
