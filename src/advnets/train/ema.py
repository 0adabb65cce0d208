"""An exponential moving average of G's weights: a "better coordination of G and D" (the paper's
future work 5) that leaves the game itself untouched.

After every generator update t (t = 1, 2, ...):

    theta_ema <- beta_t * theta_ema + (1 - beta_t) * theta,    beta_t = min(beta, (1 + t) / (10 + t))

The warm-up factor (1 + t) / (10 + t) (TensorFlow's ``ExponentialMovingAverage(num_updates=t)``) lets
the average follow G closely early on, when G moves fast, instead of dragging the random initial
weights along for ~1 / (1 - beta) updates. The averaged copy is only read (sampling, validation,
evaluation); the live G keeps training exactly as without it, so one run gives both the paper's exact
setup (the live G) and this variant (the averaged G). t may be a device tensor (the game's counter),
so that the update needs no host synchronisation.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_decay_at(decay: float, updates: int | torch.Tensor) -> float | torch.Tensor:
    """beta_t for the average taken after generator update number `updates` (1-based)."""
    if isinstance(updates, torch.Tensor):
        t = updates.to(torch.float64)
        return ((1 + t) / (10 + t)).clamp_max(decay)
    return min(decay, (1 + updates) / (10 + updates))


class GeneratorAverage:
    """The averaged copy of a generator (``.model``, always in eval mode, no gradients)."""

    def __init__(self, generator: nn.Module, decay: float):
        assert 0 < decay < 1, "decay must be in (0, 1)"
        self.decay = decay
        self.model = copy.deepcopy(generator).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, generator: nn.Module, updates: int | torch.Tensor) -> None:
        """Fold G's current weights into the average, after G's update number `updates`."""
        pairs = list(zip(self.model.parameters(), generator.parameters())) + list(zip(self.model.buffers(),
                                                                                       generator.buffers()))
        averaged = [a for a, _ in pairs if a.is_floating_point()]
        live = [b for a, b in pairs if a.is_floating_point()]
        beta = ema_decay_at(self.decay, torch.as_tensor(updates, device=averaged[0].device))
        weight = (1 - beta).to(averaged[0].dtype)
        torch._foreach_lerp_(averaged, live, [weight] * len(averaged))  # theta_ema + (1 - beta) (theta - theta_ema)
        for a, b in pairs:
            if not a.is_floating_point():  # counters (batch normalisation's batches seen) are copied
                a.copy_(b)
