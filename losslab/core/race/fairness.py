"""The two digests anyone can check a race's fairness with, and the batch order they describe.

``BatchOrder`` draws each epoch's permutation exactly as ``core.trainer.Trainer`` does (one
``torch.Generator`` seeded with ``training.seed``, ``torch.randperm(n)`` per epoch; the identity
when a batch holds the whole training set), so a variant trained by the batched race and the same
variant trained alone by LossLab's trainer see the same batches (tests/core/test_race_batched.py
checks it through their losses).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 of the tensors' bytes (float32 as stored, on the CPU) in state_dict order."""
    h = hashlib.sha256()
    for value in state.values():
        if isinstance(value, torch.Tensor):
            h.update(value.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()


def batch_ends(n: int, batch_size: int) -> list[int]:
    """Where each batch of an epoch ends (as ``Trainer.batch_ends`` for a network without BatchNorm)."""
    bs = n if batch_size == 0 or batch_size >= n else batch_size
    return [*range(bs, n, bs), n]


class BatchOrder:
    """The permutations of a run, one per epoch, hashed as they are handed out.

    ``digest()`` is the SHA-256 of every batch's index array (int64) in order over the planned
    epochs; epochs not trained (a stopped race) are still drawn for the digest, so variants stopped
    at different points keep comparable digests. Batches are consecutive slices of the epoch's
    permutation, so hashing the permutation is hashing the batches in order.
    """

    def __init__(self, seed: int, n: int, ends: Sequence[int], epochs: int) -> None:
        self.n, self.ends, self.epochs = n, list(ends), epochs
        self.full_batch = len(self.ends) == 1  # one batch of everything: the trainer draws nothing
        self._gen = torch.Generator().manual_seed(seed)
        self._hash = hashlib.sha256()
        self._drawn = 0

    def next_epoch(self) -> torch.Tensor:
        """The next epoch's order (int64, on the CPU)."""
        if self.full_batch:
            perm = torch.arange(self.n)
        else:
            perm = torch.randperm(self.n, generator=self._gen)
        if self._drawn < self.epochs:
            self._hash.update(perm.numpy().tobytes())
        self._drawn += 1
        return perm

    def __iter__(self) -> Iterator[torch.Tensor]:
        while True:
            yield self.next_epoch()

    def digest(self) -> str:
        while self._drawn < self.epochs:
            self.next_epoch()
        return self._hash.hexdigest()


def batch_order_digest(seed: int, n: int, ends: Sequence[int], epochs: int) -> str:
    return BatchOrder(seed, n, ends, epochs).digest()
