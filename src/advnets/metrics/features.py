"""The classifier-feature metrics on any image data, in a named feature network's features
(``advnets evaluate RUN --metric features --features NAME``): FID, KID, precision/recall (k = 3) and
density/coverage (k = 5) of G's samples against the data set's test images, as
advnets.metrics.classifier_features computes them for MNIST.

A feature network is registered by name (advnets.plugins.register_features: a function returning a module
that maps images [N, C, H, W] with pixels in [0, 1] to features [N, d]); ``mnistclf``, the shipped MNIST
classifier's penultimate features, is registered the same way. Numbers in two feature networks' features are
not comparable: every row names its network (``features``) and where it came from. Where the network does not
read the data set's images, one line says so.
"""

from __future__ import annotations

from typing import Any

import torch

from advnets import plugins
from advnets.batching import apply_in_batches
from advnets.classifier import load_classifier
from advnets.errors import ConfigError
from advnets.metrics.classifier_features import DC_K, PR_K, feature_metrics
from advnets.metrics.spec import Metric, MetricRequest, data_spec, require
from advnets.sampling import generate


class _ClassifierFeatures(torch.nn.Module):
    """The shipped MNIST classifier's penultimate features [N, 128] of MNIST-shaped images."""

    def __init__(self):
        super().__init__()
        self.classifier = load_classifier()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


plugins.register_features("mnistclf", _ClassifierFeatures)


def feature_network(name: str | None) -> tuple[torch.nn.Module, dict[str, str]]:
    """The registered feature network `name`, in evaluation mode, and where it came from."""
    known = plugins.features()
    if name is None:
        raise ConfigError(f"--metric features needs --features NAME (registered: {', '.join(known)}; register your "
                          "own with advnets.register_features)")
    if name not in known:
        raise ConfigError(f"--features {name}: no such feature network (registered: {', '.join(known)})")
    try:
        network = known[name].factory()
    except Exception as e:  # noqa: BLE001 - the plugin's own failure: one line naming it
        raise ConfigError(f"--features {name}: its factory failed ({type(e).__name__}: "
                          f"{(str(e).splitlines() or [''])[0][:160]})") from None
    if not isinstance(network, torch.nn.Module):
        raise ConfigError(f"--features {name}: its factory returned {type(network).__name__}, not a torch.nn.Module")
    return network.eval(), {"features": name, **{f"features_{k}": v for k, v in known[name].provenance.items()}}


@torch.no_grad()
def features_of(network: torch.nn.Module, name: str, images: torch.Tensor) -> torch.Tensor:
    """Features [N, d] (float64) of images [N, C, H, W] in [0, 1]; one line when the network cannot read them."""
    try:
        out = apply_in_batches(lambda batch: network(batch.float()), images, 500)
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"--features {name} does not read these images ({list(images.shape[1:])}: "
                          f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:120]}); choose a feature network "
                          "for this data") from None
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or len(out) != len(images):
        raise ConfigError(f"--features {name} returned {getattr(out, 'shape', type(out).__name__)} for "
                          f"{len(images)} images; it must return features [N, d]")
    return out.double()


def score(snap, request: MetricRequest) -> dict[str, Any]:
    require(snap, ("whole-images",), "--metric features")
    network, where = feature_network(request.features)
    split = request.reference_split
    reference, _ = data_spec(snap).load_images(split, request.data_dir or snap.config.data.dir)
    real = features_of(network, request.features, reference)
    fake = features_of(network, request.features, generate(snap.generator, request.n_samples, seed=request.seed,
                                                           device=request.device).cpu())
    numbers = feature_metrics(real, fake, request.seed)
    renamed = {key.replace("_mnistclf", ""): value for key, value in numbers.items()}  # fid, kid, kid_se, ...
    return {"reference": split, **renamed, "n_samples": request.n_samples, f"n_{split}": len(real), "pr_k": PR_K,
            "dc_k": DC_K, **where}


METRIC = Metric(
    name="features",
    summary="FID, KID, precision/recall (k=3) and density/coverage (k=5) in a registered feature network's "
            "features (--features NAME), against the test images, on any image data",
    compute=score, needs=("image-data",), default_n=10_000, n_counts="samples of G",
    headline=("fid", "FID (the row's feature network)"),
    columns=("features", "fid", "kid", "precision", "recall", "density", "coverage"), options=("features", "split"))
