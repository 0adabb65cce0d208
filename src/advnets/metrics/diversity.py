"""Mode collapse, watched during training: how much G's samples of a fixed latent batch vary.

    diversity = mean pairwise L2 distance of G's samples / that of real examples

About 1 when samples vary like the data, near 0 when they are all alike (the paper's "Helvetica
scenario"). G starts near the mean image (diversity about 0.05 for the paper's MNIST model), so
collapse is a *fall*: below COLLAPSE_DIVERSITY after having been above HEALTHY_DIVERSITY.
"""

from __future__ import annotations

import torch

COLLAPSE_DIVERSITY = 0.1
HEALTHY_DIVERSITY = 0.3


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean L2 distance between distinct rows of x [n, ...]."""
    flat = x.reshape(len(x), -1).double()
    n = len(flat)
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1))) if n > 1 else 0.0


def diversity(samples: torch.Tensor, real_spread: float) -> float:
    """The spread of `samples` relative to `real_spread` (mean_pairwise_distance of real examples)."""
    return mean_pairwise_distance(samples) / max(real_spread, 1e-12)


class CollapseWatch:
    """Tracks the peak diversity of a run; `collapsed(d)` says whether diversity d is a collapse."""

    def __init__(self, peak: float = 0.0):
        self.peak = peak

    def collapsed(self, value: float) -> bool:
        self.peak = max(self.peak, value)
        return self.peak > HEALTHY_DIVERSITY and value < COLLAPSE_DIVERSITY
