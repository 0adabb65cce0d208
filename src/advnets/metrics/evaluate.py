"""Evaluating a snapshot: the metric protocols wired to data, sampling and the run's metrics file.

Each result is one JSON object, printed and appended to ``metrics.jsonl`` beside the snapshot,
with the snapshot's hash, so that every number can be traced to the weights it measured.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch

from advnets.data.mnist import IDX_DATASETS, load_idx_split
from advnets.errors import ConfigError
from advnets.metrics.parzen import parzen_protocol
from advnets.sampling import generate
from advnets.train.checkpoint import Snapshot

METRICS_FILE = "metrics.jsonl"
N_VALID = 1_000  # the paper picks sigma on the first 1,000 validation images


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _pixels(images) -> torch.Tensor:
    return torch.from_numpy(images).reshape(len(images), -1).double().div_(255.0)  # [N, 784] in [0, 1]


def evaluate_parzen(snap: Snapshot, n_samples: int = 10_000, seed: int = 0, baseline: str | None = None,
                    data_dir: str | None = None, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Table 1's protocol for `snap` (or, with `baseline="train"`, for real training images)."""
    name = snap.config.data.name
    if name not in IDX_DATASETS:
        raise ConfigError(f"the Parzen protocol needs an image data set; this snapshot was trained on '{name}'")
    data_dir = data_dir or snap.config.data.dir
    t0 = time.perf_counter()
    valid = _pixels(load_idx_split(name, "valid", data_dir)[0][:N_VALID]).to(device)
    test = _pixels(load_idx_split(name, "test", data_dir)[0]).to(device)
    if baseline is None:
        centres = generate(snap.generator, n_samples, seed=seed, device=device).reshape(n_samples, -1)
    elif baseline == "train":  # Theis et al. (2016): real training images as the "samples"
        train = load_idx_split(name, "train", data_dir)[0]
        rows = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n_samples]
        centres = _pixels(train[rows.numpy()])
    else:
        raise ConfigError(f"unknown Parzen baseline '{baseline}' (available: train)")
    result = parzen_protocol(centres.to(device), valid, test)
    return {
        "metric": "parzen", "dataset": name, "split": "test", "baseline": baseline,
        "mean": result.mean, "se": result.se, "sigma": result.sigma, "valid_scores": result.valid_scores,
        "n_samples": result.n_samples, "n_valid": result.n_valid, "n_test": result.n_test, "seed": seed,
        "snapshot": str(snap.path), "snapshot_sha256": file_sha256(snap.path), "step": snap.step,
        "device": str(device), "seconds": round(time.perf_counter() - t0, 2),
    }


def append_metrics(snapshot_path: Path, row: dict[str, Any]) -> Path:
    path = snapshot_path.parent / METRICS_FILE
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
    return path
