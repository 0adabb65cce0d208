"""Which training images are labelled: `per_class` of each class, drawn from the seed of the draw."""

from __future__ import annotations

import torch


def labelled_subset(labels: torch.Tensor, per_class: int, draw: int) -> torch.Tensor:
    """Indices [n_classes * per_class] into `labels` [N], `per_class` of each class, for label draw `draw`."""
    g = torch.Generator().manual_seed(1_000 + draw)
    chosen = []
    for c in range(int(labels.max()) + 1):
        pool = torch.nonzero(labels == c).squeeze(1)
        if len(pool) < per_class:
            raise ValueError(f"class {c} has only {len(pool)} examples, fewer than {per_class}")
        chosen.append(pool[torch.randperm(len(pool), generator=g)[:per_class]])
    return torch.cat(chosen)
