"""`advnets semisup`: one method over several label draws, each row written as it finishes.

Every method sees the same data: the unlabelled pool train[0:50000] (pixels in [0, 1]), the labelled
subset of draw d (`labels.labelled_subset`, part of the pool), and the 10,000 test images.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import torch

from advnets.batching import apply_in_batches
from advnets.data import registry as datasets
from advnets.errors import ConfigError, shell_command
from advnets.fileio import append_line, file_sha256
from advnets.metrics.summary import mean_and_se
from advnets.semisup.labels import labelled_subset
from advnets.semisup.linear import linear_probe_error
from advnets.snapshot import ENCODER_FILE, load_encoder, load_snapshot

METHODS = ("pixels", "d-features", "e-features", "kplus1")
DATASET = "mnist"  # the protocol's data set (docs/protocols.md): 10 classes, train[0:50000] + test


def load_data(data_dir: str | None) -> dict[str, torch.Tensor]:
    """The protocol's splits: images [N, 1, 28, 28] in [0, 1] and labels [N] of train and test."""
    out = {}
    for split in ("train", "test"):
        out[f"{split}_x"], out[f"{split}_y"] = datasets.get(DATASET).load_images(split, data_dir)
    return out


def feature_extractor(method: str, run: str | None, variant: str = "auto") -> tuple[Callable, dict[str, Any]]:
    """x [m, 1, 28, 28] -> features [m, d] for a linear-probe method, and where they come from."""
    if method == "pixels":
        return (lambda x: x.reshape(len(x), -1)), {}
    if run is None:
        raise ConfigError(f"--method {method} needs --run RUN_DIR (a trained MNIST GAN)")
    snap = load_snapshot(run, "cpu", variant)
    if snap.config.data.name != DATASET or snap.generator.condition.kind != "none":
        raise ConfigError(f"--method {method} needs an unconditional {DATASET} model; {snap.path} is not one")
    source = {"snapshot": str(snap.path), "snapshot_sha256": file_sha256(snap.path), "step": snap.step}
    if method == "d-features":
        if snap.discriminator is None:
            raise ConfigError(f"{snap.path} holds a generator alone; d-features needs the run's D")
        D = snap.discriminator.eval()
        return (lambda x: torch.cat(D.hidden_layers(x), dim=1)), source  # every hidden layer, no dropout
    if snap.encoder is not None:
        encoder, source["encoder"] = snap.encoder, "joint"
    else:
        path = Path(snap.path).parent / ENCODER_FILE
        if not path.is_file():
            raise ConfigError(f"{path} does not exist: fit the inference network first ({shell_command('advnets', 'infer', run)})")
        encoder, _ = load_encoder(path)
        source["encoder"] = str(path)
    return encoder.eval().features, source


def run_semisup(method: str, per_class: int, draws: list[int], data_dir: str | None, run: str | None = None,
                epochs: int = 10, out: Path | None = None, variant: str = "auto", log=print) -> dict[str, Any]:
    """Test error of `method` for each label draw, and their mean +- standard error."""
    if method not in METHODS:
        raise ConfigError(f"--method {method!r} is not one of {', '.join(METHODS)}")
    extract, source = feature_extractor(method, run, variant) if method != "kplus1" else (None, {})
    data = load_data(data_dir)
    pool_x, pool_y = data["train_x"][:50_000], data["train_y"][:50_000]  # the paper's training split
    pool_f = test_f = None
    if extract is not None:
        pool_f, test_f = apply_in_batches(extract, pool_x), apply_in_batches(extract, data["test_x"])
    rows = []
    for draw in draws:
        t0 = time.perf_counter()
        chosen = labelled_subset(pool_y, per_class, draw)
        if method == "kplus1":
            from advnets.semisup.kplus1 import train_kplus1

            result = train_kplus1(pool_x, pool_x[chosen], pool_y[chosen], data["test_x"], data["test_y"],
                                  epochs=epochs, seed=draw, log=lambda r: log(f"  draw {draw}: {json.dumps(r)}"))
            extra = {"test_error": result.test_error, "epochs": epochs, "curve": result.curve}
        else:
            extra = linear_probe_error(pool_f, pool_f[chosen], pool_y[chosen], test_f, data["test_y"])
        row = {"method": method, "labels": len(chosen), "per_class": per_class, "draw": draw, **extra, **source,
               "feature_dim": int(pool_f.shape[1]) if pool_f is not None else None,
               "seconds": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        log(f"{method}, {len(chosen)} labels, draw {draw}: test error {100 * row['test_error']:.2f}%")
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            append_line(out, json.dumps(row))
    errors = [100 * r["test_error"] for r in rows]
    error_mean, error_se = mean_and_se(errors)
    return {"method": method, "labels": per_class * 10, "draws": len(rows), "test_error_mean": error_mean,
            "test_error_se": error_se, "test_errors": errors}
