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

from advnets.data.images import IMAGE_DATASETS, load_split
from advnets.errors import ConfigError
from advnets.metrics.kmeans import kmeans
from advnets.metrics.parzen import SIGMA_GRID, parzen_log_likelihood, parzen_protocol
from advnets.sampling import generate, require_whole_images
from advnets.train.checkpoint import Snapshot

METRICS_FILE = "metrics.jsonl"
N_VALID = 1_000  # the paper picks sigma on the first 1,000 validation images
BASELINES = ("train", "kmeans")  # Theis et al. (2016): training images, k-means centroids as centres
KMEANS_ITERATIONS = 20


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def provenance(snap: Snapshot, started: float) -> dict[str, Any]:
    """What every metric row carries: which weights it measured (path, hash, step, and "live" G or
    its moving average "ema") and how long it took."""
    return {"snapshot": str(snap.path), "snapshot_sha256": file_sha256(snap.path), "step": snap.step,
            "generator": snap.weights, "seconds": round(time.perf_counter() - started, 2)}


def _pixels(images) -> torch.Tensor:
    return torch.from_numpy(images).reshape(len(images), -1).double().div_(255.0)  # [N, 784] in [0, 1]


def require_image_data(snap: Snapshot, what: str) -> str:
    """The snapshot's data set name; refused in one line unless it is an image data set."""
    name = snap.config.data.name
    if name not in IMAGE_DATASETS:
        raise ConfigError(f"{what} needs an image data set; this snapshot was trained on '{name}'")
    return name


def evaluate_parzen(snap: Snapshot, n_samples: int = 10_000, seed: int = 0, baseline: str | None = None,
                    data_dir: str | None = None, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Table 1's protocol for `snap`, or for a critique baseline ("train": n real training images;
    "kmeans": n k-means centroids of the training set) scored by the same code on the same split."""
    name = require_image_data(snap, "the Parzen protocol")
    if baseline is None:
        require_whole_images(snap, "--metric parzen")
    data_dir = data_dir or snap.config.data.dir
    t0 = time.perf_counter()
    valid = _pixels(load_split(name, "valid", data_dir)[0][:N_VALID]).to(device)
    test = _pixels(load_split(name, "test", data_dir)[0]).to(device)
    extra: dict[str, Any] = {}
    if baseline is None:
        centres = generate(snap.generator, n_samples, seed=seed, device=device).reshape(n_samples, -1)
    elif baseline in BASELINES:  # Theis et al. (2016): real training images, or their k-means centroids
        train = _pixels(load_split(name, "train", data_dir)[0])
        if n_samples > len(train):
            raise ConfigError(f"--n-samples {n_samples} exceeds the {len(train)} training images")
        if baseline == "train":
            rows = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n_samples]
            centres = train[rows]
        else:
            fit = kmeans(train.float().to(device), n_samples, seed=seed, iterations=KMEANS_ITERATIONS)
            centres = fit.centroids
            extra = {"kmeans_iterations": fit.iterations, "kmeans_changed": fit.changed,
                     "kmeans_inertia": fit.inertia}
    else:
        raise ConfigError(f"unknown Parzen baseline '{baseline}' (available: {', '.join(BASELINES)})")
    result = parzen_protocol(centres.to(device), valid, test)
    return {
        "metric": "parzen", "dataset": name, "split": "test", "baseline": baseline, **extra,
        "mean": result.mean, "se": result.se, "sigma": result.sigma, "valid_scores": result.valid_scores,
        "n_samples": result.n_samples, "n_valid": result.n_valid, "n_test": result.n_test, "seed": seed,
        **provenance(snap, t0), "device": str(device),
    }


def evaluate_modes(snap: Snapshot, n_samples: int = 2_500, seed: int = 0) -> dict[str, Any]:
    """Modes captured, % high-quality samples and reverse KL for a run on a 2-D mixture."""
    from advnets.data.sources import mixture_for
    from advnets.metrics.modes import mode_report

    name = snap.config.data.name
    if name not in ("ring", "grid"):
        raise ConfigError(f"--metric modes needs a run on a 2-D mixture (ring or grid); this one was trained on '{name}'")
    t0 = time.perf_counter()
    mixture = mixture_for(snap.config)
    samples = generate(snap.generator, n_samples, seed=seed)  # [n, 2]
    report = mode_report(samples, mixture.means, float(mixture.stds[0]))
    return {"metric": "modes", "dataset": name, **report.as_dict(), "seed": seed, **provenance(snap, t0)}


def evaluate_optimal_d(snap: Snapshot, steps: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Proposition 1 on a 1-D run: D trained to convergence for the snapshot's G against D*_G
    (metrics/optimal_d.py)."""
    from advnets.data.sources import mixture_for
    from advnets.metrics.optimal_d import optimal_d_report

    if snap.config.data.name != "gaussian-1d":
        raise ConfigError(f"--metric optimal-d needs a 1-D run (e.g. toy-1d); this one was trained on "
                          f"'{snap.config.data.name}'")
    if snap.discriminator is None:
        raise ConfigError(f"--metric optimal-d starts from the run's D; {snap.path} holds a generator alone")
    t0 = time.perf_counter()
    report = optimal_d_report(snap.generator, snap.discriminator, mixture_for(snap.config), steps=steps, seed=seed)
    return {"metric": "optimal-d", "dataset": "gaussian-1d", **report, "seed": seed, **provenance(snap, t0)}


def evaluate_classes(snap: Snapshot, n_samples: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """A conditional model's samples, n/10 per class, labelled by the project's MNIST classifier:
    the share given the class they were drawn for, overall and per class."""
    from advnets.classifier import load_classifier
    from advnets.sampling import balanced_labels

    n_classes = snap.generator.n_classes
    if not n_classes:
        raise ConfigError("--metric classes needs a conditional model (trained with data.conditional=true)")
    if snap.config.data.name != "mnist":
        raise ConfigError(f"--metric classes uses the MNIST classifier; this model was trained on '{snap.config.data.name}'")
    t0 = time.perf_counter()
    labels = balanced_labels(n_samples, n_classes)
    predicted = load_classifier().predict(generate(snap.generator, n_samples, seed=seed, labels=labels))
    hits = predicted == labels
    per_class = [float(hits[labels == c].float().mean()) for c in range(n_classes)]
    return {"metric": "classes", "dataset": snap.config.data.name, "agreement": float(hits.float().mean()),
            "per_class": per_class, "n_samples": n_samples, "seed": seed, **provenance(snap, t0)}


def evaluate_inpainting(snap: Snapshot, mask: str = "right-half", n_images: int = 10_000, seed: int = 0,
                        data_dir: str | None = None, device: torch.device | str = "cpu") -> dict[str, Any]:
    """An inpainting model on the first n test images with one named mask (metrics/inpainting.py):
    the class its completions keep (the project's MNIST classifier) and how much they vary."""
    from advnets.classifier import load_classifier
    from advnets.data.masks import check_mask_name
    from advnets.metrics.inpainting import inpainting_report

    check_mask_name(mask)
    if snap.generator.condition.kind != "mask":
        raise ConfigError("--metric inpainting needs an inpainting model (trained with data.inpainting=true)")
    if snap.config.data.name != "mnist":
        raise ConfigError(f"--metric inpainting uses the MNIST classifier; this model was trained on "
                          f"'{snap.config.data.name}'")
    t0 = time.perf_counter()
    images, labels = load_split("mnist", "test", data_dir or snap.config.data.dir)
    if not 1 <= n_images <= len(images):
        raise ConfigError(f"--n-samples {n_images}: the test split has {len(images)} images")
    x = torch.from_numpy(images[:n_images]).float().div(255).unsqueeze(1)  # [n, 1, 28, 28]
    y = torch.from_numpy(labels[:n_images].astype("int64"))
    report = inpainting_report(snap.generator, x, y, mask, load_classifier(), seed=seed, device=device)
    return {"metric": "inpainting", "dataset": "mnist", "split": "test", **report, "seed": seed,
            **provenance(snap, t0)}


class ValidationParzen:
    """The cheap score for model selection during training (validation data only, never test):
    the mean Parzen log-likelihood of the first 1,000 validation images under `n_samples` samples
    of G from a fixed seed, at the best sigma of the paper's grid, i.e. the protocol's own sigma
    selection step. (The released code monitored a cruder one: 100 samples, sigma 0.2.)"""

    def __init__(self, dataset: str, data_dir: str | None, n_samples: int, seed: int, device: torch.device):
        self.valid = _pixels(load_split(dataset, "valid", data_dir)[0][:N_VALID]).to(device)  # [1000, d]
        self.n_samples, self.seed, self.device = n_samples, seed, device

    def __call__(self, generator: torch.nn.Module) -> tuple[float, float]:
        """(best mean validation log-likelihood, its sigma) for `generator`."""
        centres = generate(generator, self.n_samples, seed=self.seed, device=self.device)
        scores = parzen_log_likelihood(self.valid, centres.reshape(self.n_samples, -1), SIGMA_GRID).mean(dim=1)
        best = int(torch.argmax(scores))
        return float(scores[best]), SIGMA_GRID[best]


def append_metrics(snapshot_path: Path, row: dict[str, Any]) -> Path:
    path = snapshot_path.parent / METRICS_FILE
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")
    return path
