"""Mode collapse, watched during training: how much G's samples of a fixed latent batch vary.

    diversity = mean pairwise L2 distance of G's samples / that of real examples

About 1 when samples vary like the data, near 0 when they are all alike (the paper's "Helvetica
scenario"). G starts near the mean image (diversity about 0.05 for the paper's MNIST model), so low
diversity alone is not yet a collapse. A log row is flagged as a collapse when, either,

- diversity fell below COLLAPSE_DIVERSITY after having been above HEALTHY_DIVERSITY (a fall), or
- once the game has begun (D told real from fake: mean D(x) - D(G(z)) above D_SEPARATION in some
  interval), diversity stayed below COLLAPSE_DIVERSITY for LOW_INTERVALS log intervals in a row (a
  collapse that starts before diversity ever rose: quick-mnist's all-"9" phase, steps 350-650).
"""

from __future__ import annotations

import torch

COLLAPSE_DIVERSITY = 0.1
HEALTHY_DIVERSITY = 0.3
D_SEPARATION = 0.2
LOW_INTERVALS = 3


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean L2 distance between distinct rows of x [n, ...]."""
    flat = x.reshape(len(x), -1).double()
    n = len(flat)
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1))) if n > 1 else 0.0


def diversity(samples: torch.Tensor, real_spread: float) -> float:
    """The spread of `samples` relative to `real_spread` (mean_pairwise_distance of real examples)."""
    return mean_pairwise_distance(samples) / max(real_spread, 1e-12)


class CollapseWatch:
    """The collapse rule (module docstring) over a run's log rows, in order."""

    def __init__(self):
        self.peak = 0.0  # the highest diversity so far
        self.begun = False  # whether D has told real from fake yet
        self.low = 0  # log intervals in a row with diversity below COLLAPSE_DIVERSITY, once begun

    @classmethod
    def from_rows(cls, rows: list[dict]) -> "CollapseWatch":
        """The watch as it stood after `rows` (a resumed run's stats.jsonl)."""
        watch = cls()
        for row in rows:
            watch.collapsed(row.get("diversity", 0.0), row.get("d_real", 0.5), row.get("d_fake", 0.5))
        return watch

    def collapsed(self, value: float, d_real: float, d_fake: float) -> bool:
        """Whether the row with diversity `value` and mean D(x) `d_real`, D(G(z)) `d_fake` is a collapse."""
        self.peak = max(self.peak, value)
        self.begun = self.begun or d_real - d_fake > D_SEPARATION
        self.low = self.low + 1 if self.begun and value < COLLAPSE_DIVERSITY else 0
        fell = self.peak > HEALTHY_DIVERSITY and value < COLLAPSE_DIVERSITY
        return fell or self.low >= LOW_INTERVALS
