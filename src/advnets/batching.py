"""Apply a network to many inputs a slice at a time, so memory stays bounded by the slice."""

from __future__ import annotations

from typing import Callable

import torch


@torch.no_grad()
def apply_in_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 1000,
                     device: torch.device | str | None = None) -> torch.Tensor:
    """torch.cat([fn(x[i:i+b]) for consecutive slices]) of x [n, ...], without autograd.

    With `device`, each slice is moved there for fn and its result brought back to the CPU (x may be
    larger than the device's memory); without it, slices and results stay where they are."""
    if len(x) == 0:
        raise ValueError("apply_in_batches needs at least one input")

    def part(i: int) -> torch.Tensor:
        piece = x[i : i + batch_size]
        return fn(piece) if device is None else fn(piece.to(device)).cpu()

    return torch.cat([part(i) for i in range(0, len(x), batch_size)])
