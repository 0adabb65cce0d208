"""A number kept twice: on the training device, and on the host.

A training step reads its counts (updates made, batches drawn) and the learning-rate factor as device
tensors, so that it never waits for the device and can be captured as a CUDA graph; logs and checkpoints
read the same numbers on the host, so that they never wait for the device either. Both copies are changed
by the same call, and a replayed graph, which moves only the device copy, is followed by :meth:`Mirrored.
replayed` for the host's.
"""

from __future__ import annotations

import torch


class Mirrored:
    """A 0-d device tensor (``tensor``) and the same number on the host (``value``)."""

    def __init__(self, value: int | float, device: torch.device | str, dtype: torch.dtype = torch.int64):
        self.tensor = torch.full((), value, dtype=dtype, device=device)
        self.value = int(value) if dtype == torch.int64 else float(value)

    def set(self, value: int | float) -> None:
        """Both copies to `value` (a restored state, a rollback's factor)."""
        self.value = type(self.value)(value)
        self.tensor.fill_(self.value)

    def advance(self) -> None:
        """Both copies up by one."""
        self.tensor.add_(1)
        self.value += 1

    def replayed(self, added: int) -> None:
        """The host's copy up by `added`: what a replayed CUDA graph added to the device's."""
        self.value += added

    def __repr__(self) -> str:
        return f"Mirrored({self.value})"
