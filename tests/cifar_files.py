"""Small CIFAR-10 files in the official "python version" format, written by the tests (no CIFAR-10
files are available to CI): the extracted folder and the archive."""

from __future__ import annotations

import pickle
import tarfile

import numpy as np

from advnets.data import cifar10

NAMES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


def batch(index: int, per_batch: int) -> dict:
    """One batch dict as the official pickles hold it: random pixels, labels 0-9."""
    rng = np.random.default_rng(index)
    return {"batch_label": f"batch {index}", "labels": [int(v) for v in rng.integers(0, 10, per_batch)],
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            "filenames": [f"img_{index}_{i}.png" for i in range(per_batch)]}


def write_folder(root, per_batch: int = 6) -> dict:
    """root/cifar-10-batches-py/ with the six batches (pickle protocol 2, as the official Python 2 files)."""
    folder = root / cifar10.FOLDER
    folder.mkdir(parents=True)
    batches = {name: batch(i, per_batch) for i, name in enumerate(NAMES)}
    for name, content in batches.items():
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    return batches


def write_archive(root, source) -> None:
    """root/cifar-10-python.tar.gz holding the folder written under `source`."""
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(root / cifar10.ARCHIVE, "w:gz") as archive:
        archive.add(source / cifar10.FOLDER, arcname=cifar10.FOLDER)
