"""Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): three MNIST digits as the channels of one
28x28x3 image, so 1,000 modes (d1, d2, d3). Built from the MNIST split of the same name: channel c
of image i is MNIST image perm_c[i] of that split, with perm_c a fixed permutation per split and
channel (seeded), so every split is the same everywhere. Its label is the mode 100 d1 + 10 d2 + d3
(not a class for conditional models). Measured with ``--metric stacked-modes``.
"""

from __future__ import annotations

import zlib

import numpy as np

from advnets.data.mnist import MNIST, SPLITS, load_idx_split
from advnets.data.spec import IMAGE, DatasetSpec

CHANNELS = 3


def load_stacked_split(split: str, data_dir: str | None = None, download: bool = True
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 3, 28, 28] uint8 and modes [N] int64 in 0..999 (N: the MNIST split's size)."""
    images, labels = load_idx_split("mnist", split, data_dir, download)  # [N, 28, 28], [N]
    rng = np.random.default_rng(zlib.crc32(f"stacked-mnist/{split}".encode()))
    perms = [rng.permutation(len(images)) for _ in range(CHANNELS)]
    stacked = np.stack([images[p] for p in perms], axis=1)
    modes = sum(labels[p].astype(np.int64) * 10 ** (CHANNELS - 1 - c) for c, p in enumerate(perms))
    return stacked, modes


DATASETS = (DatasetSpec(
    name="stacked-mnist", title="Stacked MNIST", kind=IMAGE, x_shape=(CHANNELS, 28, 28), splits=SPLITS,
    read_split=load_stacked_split, checksums={f.filename: f.sha256 for f in MNIST.files.values()}),)
