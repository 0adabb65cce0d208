"""One entry point for the image data sets, whatever their file format: splits as uint8 arrays."""

from __future__ import annotations

import numpy as np

from advnets.data.mnist import IDX_DATASETS, load_idx_split
from advnets.data.tfd import load_tfd_split

IMAGE_DATASETS = (*IDX_DATASETS, "tfd")


def load_split(name: str, split: str, data_dir: str | None = None, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, H, W] uint8 and labels [N] of split train / valid / test of data set `name`."""
    if name == "tfd":
        return load_tfd_split(split, data_dir)
    return load_idx_split(name, split, data_dir, download)
