"""Model selection during training (validation data only, never test): the score ``train.valid_metric`` names,
measured every ``train.valid_every`` steps on G's samples of a fixed seed, the best kept as
network-best.safetensors (advnets.train.monitor).

    parzen     the paper's: the mean Parzen log-likelihood of valid[:1000] under valid_samples samples of G, at
               the best sigma of its grid (higher is better; advnets.metrics.parzen_window.ValidationParzen)
    fid        FID of valid_samples samples of G against the whole validation split, in the features of the data
               set's shipped classifier (MNIST: mnistclf; lower is better) - the number users quote, which
               docs/evaluation.md recommends over Parzen
    fid:NAME   the same in a registered feature network's features (advnets.register_features)

Each stats.jsonl row at a validation step carries ``<metric>_valid`` (parzen_valid and its parzen_sigma, or
fid_valid), ``best_valid`` and ``best_step`` (and ``..._live`` for the live G beside a moving average).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch

from advnets.data.spec import DatasetSpec
from advnets.errors import ConfigError

PARZEN, FID = "parzen", "fid"


@dataclass(frozen=True)
class Validator:
    metric: str  # train.valid_metric
    key: str  # its number's key in stats.jsonl rows
    label: str  # for people: "validation Parzen", "validation FID (mnistclf)"
    higher_is_better: bool
    score: Callable[[torch.nn.Module], tuple[float, dict[str, Any]]]  # G -> (number, other keys of the row)

    def better(self, new: float, old: float | None) -> bool:
        return old is None or (new > old if self.higher_is_better else new < old)


def feature_name(metric: str, spec: DatasetSpec) -> str | None:
    """The feature network a FID validation reads: fid's is the data set's classifier's (mnistclf)."""
    if metric == FID:
        return "mnistclf" if spec.classifier else None
    return metric.partition(":")[2] if metric.startswith(f"{FID}:") else None


def check_valid_metric(metric: str, spec: DatasetSpec, preprocess: str = "none") -> None:
    """Refuse a train.valid_metric that this data set (and the space G models it in) cannot be validated by."""
    if metric == PARZEN:
        return
    if preprocess != "none":
        raise ConfigError(f"train.valid_metric {metric} reads pictures with pixels in [0, 1]; this run models "
                          f"data.preprocess {preprocess} images, which have no exact way back: use parzen")
    if metric == FID and not spec.classifier:
        raise ConfigError(f"train.valid_metric fid reads the data set's shipped classifier's features, which "
                          f"{spec.title} has not: use fid:NAME with a registered feature network, or parzen")
    name = feature_name(metric, spec)
    if metric.startswith(f"{FID}:"):
        from advnets.metrics.feature_networks import registered

        known = registered()
        if name not in known:
            raise ConfigError(f"train.valid_metric {metric}: no feature network '{name}' (registered: "
                              f"{', '.join(known)}; register your own with advnets.register_features)")


def label(metric: str) -> str:
    """How the run's summary and report name its validation score."""
    return "validation Parzen" if metric == PARZEN else f"validation FID ({metric.partition(':')[2] or 'mnistclf'})"


def build_validator(cfg: Any, spec: DatasetSpec, seed: int, device: torch.device) -> Validator:
    """The validator of cfg.train.valid_metric, its reference read once (the validation split)."""
    metric, n = cfg.train.valid_metric, cfg.train.valid_samples
    if metric == PARZEN:
        from advnets.metrics.parzen_window import ValidationParzen

        parzen = ValidationParzen(cfg.data, cfg.data.dir, n, seed, device, spec)

        def score_parzen(generator: torch.nn.Module) -> tuple[float, dict[str, Any]]:
            value, sigma = parzen(generator)
            return value, {"parzen_sigma": sigma}

        return Validator(metric, "parzen_valid", label(metric), True, score_parzen)
    return Validator(metric, "fid_valid", label(metric), False,
                     ValidationFID(feature_name(metric, spec), cfg.data, spec, n, seed, device))


class ValidationFID:
    """FID of n samples of G (a fixed seed) against the validation split, in a feature network's features; the
    split's mean and covariance computed once."""

    def __init__(self, name: str, data: Any, spec: DatasetSpec, n_samples: int, seed: int, device: torch.device):
        from advnets.metrics.feature_networks import feature_network, reference_stats
        from advnets.metrics.image_sets import from_pixels

        self.name, self.n_samples, self.seed, self.device = name, n_samples, seed, device
        self.network, identity = feature_network(name)
        valid = from_pixels(*spec.load_pixels("valid", data.dir), f"{data.name}:valid", data.name, "valid")
        # as advnets evaluate --split valid reads it (MNIST's mnistclf features from the cache)
        stats = reference_stats(valid, name, self.network, identity, list(spec.x_shape), data.dir)
        self.mean, self.cov = stats.mean, stats.cov

    def __call__(self, generator: torch.nn.Module) -> tuple[float, dict[str, Any]]:
        from advnets.metrics.classifier_features import frechet_from_moments
        from advnets.metrics.feature_networks import features_of
        from advnets.metrics.feature_stats import gaussian_moments
        from advnets.sampling import generate

        samples = generate(generator, self.n_samples, seed=self.seed, device=self.device).cpu()
        fake = features_of(self.network, self.name, samples)
        return frechet_from_moments(self.mean, self.cov, *gaussian_moments(fake)), {}
