"""How well a conditional model p(x | c) obeys its condition (the paper's future work 1).

n samples, the same number of each class (up to one), are labelled by the data set's shipped
classifier (advnets.classifier); the metric is the share given the class they were drawn for,
overall ("agreement") and per class. The classifier's own test accuracy (98.75% on MNIST) bounds
what a perfect model could score.
"""

from __future__ import annotations

from typing import Any

from advnets.classifier import classifier_for, classifier_provenance
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import balanced_labels, generate


def score_classes(snap, request: MetricRequest) -> dict[str, Any]:
    n, n_classes = request.n_samples, snap.generator.n_classes
    labels = balanced_labels(n, n_classes)  # [n]: 0, 1, ..., n_classes - 1, 0, ...
    predicted = classifier_for(snap.config.data.name).predict(generate(snap.generator, n, seed=request.seed,
                                                                       labels=labels))
    hits = predicted == labels
    per_class = [float(hits[labels == c].float().mean()) for c in range(n_classes)]
    return {"agreement": float(hits.float().mean()), "per_class": per_class, "n_samples": n,
            **classifier_provenance(snap.config.data.name)}


METRIC = Metric(
    name="classes", summary="how often the shipped classifier gives a conditional model's samples the class they "
                            "were drawn for",
    compute=score_classes, needs=("class-conditional", "classifier"), default_n=10_000, n_counts="samples of G",
    headline=("agreement", "class agreement"), columns=("agreement",))
