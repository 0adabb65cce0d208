"""Exact nearest-neighbour search in L2 by blocked matrix products (no [q, N, d] difference tensor).

    |x - y|^2 = |x|^2 - 2 x.y + |y|^2;  argmin over y needs only |y|^2 - 2 x.y.

Used by k-means (points to centroids) and by Figure 2 (samples to all training images).
"""

from __future__ import annotations

import torch


def nearest_rows(queries: torch.Tensor, rows: torch.Tensor, batch_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """(index [q] of each query's nearest row of `rows` [N, d], its squared distance [q])."""
    rows_sq = (rows * rows).sum(1)  # [N]
    index, dist = [], []
    for start in range(0, len(queries), batch_size):
        x = queries[start : start + batch_size]  # [b, d]
        partial = rows_sq[None, :] - 2.0 * x @ rows.T  # [b, N] = |x - y|^2 - |x|^2
        best, arg = partial.min(dim=1)
        index.append(arg)
        dist.append((best + (x * x).sum(1)).clamp_min_(0.0))
    return torch.cat(index), torch.cat(dist)
