"""How well a conditional model p(x | c) obeys its condition (the paper's future work 1).

n samples, the same number of each class (up to one), are labelled by the data set's shipped
classifier (advnets.classifier); the metric is the share given the class they were drawn for,
overall ("agreement") and per class. The classifier's own test accuracy (98.75% on MNIST) bounds
what a perfect model could score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from advnets.classifier import classifier_for, classifier_provenance
from advnets.data import registry as datasets
from advnets.errors import ConfigError
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import balanced_labels, generate

if TYPE_CHECKING:
    from advnets.metrics.image_sets import ImageSet


def agreement(dataset: str, images: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
    """How often `dataset`'s shipped classifier reads images [N, C, H, W] as their labels [N]: overall and per
    class (None for a class with no images)."""
    n_classes = datasets.get(dataset).n_classes
    predicted = classifier_for(dataset).predict(images.float())
    hits = predicted.cpu() == labels.cpu()
    per_class = [float(hits[labels == c].float().mean()) if bool((labels == c).any()) else None
                 for c in range(n_classes)]
    return {"agreement": float(hits.float().mean()), "per_class": per_class, **classifier_provenance(dataset)}


def score_classes(snap, request: MetricRequest) -> dict[str, Any]:
    if request.reference is not None:
        raise ConfigError("--reference: a conditional run's samples are read by its own data set's classifier; "
                          "--reference names the classifier for images from anywhere")
    n, n_classes = request.n_samples, snap.generator.n_classes
    labels = balanced_labels(n, n_classes)  # [n]: 0, 1, ..., n_classes - 1, 0, ...
    samples = generate(snap.generator, n, seed=request.seed, labels=labels)
    return {**agreement(snap.config.data.name, samples, labels), "n_samples": n}


def score_classes_images(samples: "ImageSet", request: MetricRequest) -> dict[str, Any]:
    """--metric classes of images whose classes are known (class sub-folders, an .npz's labels), read by the
    classifier of the data set --reference names."""
    reference = request.reference
    dataset = getattr(reference, "dataset", None)  # a data set's split names its classifier (statistics do not)
    have = [n for n in datasets.names() if datasets.get(n).classifier]
    if dataset is None or datasets.get(dataset).classifier is None:
        raise ConfigError(f"--metric classes reads the images with a data set's shipped classifier: give --reference "
                          f"one of {', '.join(have)} (e.g. --reference {have[0]})")
    if samples.labels is None:
        raise ConfigError(f"--metric classes needs the class each image was drawn for: {samples.what} has none (put "
                          "the images in one sub-folder per class, 0 ... 9, or save an .npz with 'labels')")
    n_classes = datasets.get(dataset).n_classes
    if int(samples.labels.max()) >= n_classes:
        raise ConfigError(f"--metric classes: {samples.what} has labels up to {int(samples.labels.max())}; "
                          f"{dataset} has {n_classes} classes (0 ... {n_classes - 1})")
    return {"reference": dataset, **agreement(dataset, samples.images, samples.labels), "n_samples": samples.count}


METRIC = Metric(
    name="classes", summary="how often the shipped classifier gives a conditional model's samples the class they "
                            "were drawn for",
    compute=score_classes, needs=("class-conditional", "classifier"), default_n=10_000, n_counts="samples of G",
    headline=("agreement", "class agreement"), columns=("agreement",), options=("reference",),
    on_images=score_classes_images)
