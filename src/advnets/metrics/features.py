"""The classifier-feature metrics on any image data, in a named feature network's features
(``advnets evaluate RUN --metric features --features NAME``): FID, KID, precision/recall (k = 3) and
density/coverage (k = 5) of G's samples against the data set's test images, as
advnets.metrics.classifier_features computes them for MNIST.

A feature network is registered by name (advnets.plugins.register_features: a function returning a module
that maps images [N, C, H, W] with pixels in [0, 1] to features [N, d]); ``mnistclf``, the shipped MNIST
classifier's penultimate features, is registered the same way. Numbers in two feature networks' features are
not comparable: every row names its network (``features``), where it came from and the SHA-256 of its weights.
Where the network does not read the data set's images, one line says so.

The same numbers for images from anywhere against any reference (``advnets evaluate SOURCE --reference REF``,
advnets.metrics.fid(...)): :func:`score_images`.
"""

from __future__ import annotations

from typing import Any

from advnets.metrics.classifier_features import DC_K, PR_K, feature_scores
from advnets.metrics.feature_networks import feature_network, features_of, reference_stats
from advnets.metrics.image_sets import ImageSet, needs_reference, score_run
from advnets.metrics.spec import Metric, MetricRequest, require
from advnets.metrics.trust import size_warnings, with_warnings


def score_images(samples: ImageSet, request: MetricRequest) -> dict[str, Any]:
    """--metric features of any images against request.reference (images or saved statistics)."""
    name = request.features
    network, identity = feature_network(name)
    reference = needs_reference(request, "--metric features")
    stats = reference_stats(reference, name, network, identity, samples.x_shape, request.data_dir)
    fake = features_of(network, name, samples.images)
    row = {**feature_scores(stats, fake, request.seed), "n_samples": samples.count, "n_reference": stats.count,
           "pr_k": PR_K, "dc_k": DC_K, **identity}
    return with_warnings(row, size_warnings(f"FID/KID/precision-recall in {name}'s features", samples.count,
                                            stats.count))


def score(snap, request: MetricRequest) -> dict[str, Any]:
    require(snap, ("whole-images",), "--metric features")
    return score_run(snap, request, score_images)


METRIC = Metric(
    name="features",
    summary="FID, KID, precision/recall (k=3) and density/coverage (k=5) in a registered feature network's "
            "features (--features NAME), against the test images, on any image data",
    compute=score, needs=("image-data",), default_n=10_000, n_counts="samples of G",
    headline=("fid", "FID (the row's feature network)"),
    columns=("features", "fid", "kid", "precision", "recall", "density", "coverage"),
    options=("features", "split", "reference"), on_images=score_images)
