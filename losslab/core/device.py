"""Picks the torch device: auto prefers CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch


def resolve_device(requested: str) -> tuple[str, str | None]:
    """The device to use and, when it differs from the request, a note saying why."""
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if requested == "auto":
        return ("cuda" if cuda else "mps" if mps else "cpu"), None
    if requested == "cuda" and not cuda:
        return "cpu", "CUDA was requested but no CUDA GPU is available to torch; training on the CPU instead."
    if requested == "mps" and not mps:
        return "cpu", "Apple MPS was requested but is not available; training on the CPU instead."
    return requested, None
