"""k-means centroids, for the Parzen critique baseline of Theis et al. (2016).

Their point: 10,000 k-means centroids of the training set, used as the Parzen "samples", score far
higher (about 313 nats on MNIST) than any generative model of the time, so a high Parzen number alone
does not show a good model. Lloyd's algorithm, initialised from k distinct training points:

    assign   c(i) = argmin_j |x_i - mu_j|^2      (|mu_j|^2 - 2 x_i.mu_j: the |x_i|^2 term is common)
    update   mu_j = mean { x_i : c(i) = j }      (a cluster left empty keeps its centroid)

repeated until no assignment changes or `iterations` rounds have run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from advnets.metrics.nearest import nearest_rows
from advnets.progress import Progress


@dataclass
class KMeansResult:
    centroids: torch.Tensor  # [k, d] float32
    iterations: int  # rounds of assignment + update run
    changed: int  # assignments that changed in the last round (0: converged)
    inertia: float  # mean squared distance of each point to its centroid, after the last update


def kmeans(points: torch.Tensor, k: int, seed: int = 0, iterations: int = 20) -> KMeansResult:
    """Lloyd's k-means of points [N, d] (float32, on their device) into k clusters."""
    n, d = points.shape
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}], got {k}")
    points = points.float()
    start = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].to(points.device)
    centroids = points[start].clone()  # [k, d]
    assignment = torch.full((n,), -1, dtype=torch.long, device=points.device)
    changed, rounds = n, 0
    bar = Progress(iterations, f"k-means, {k} centroids", "round")
    while rounds < iterations and changed > 0:
        new_assignment, _ = nearest_rows(points, centroids)
        changed = int((new_assignment != assignment).sum())
        assignment = new_assignment
        sums = torch.zeros_like(centroids).index_add_(0, assignment, points)  # [k, d]
        counts = torch.bincount(assignment, minlength=k).to(points.dtype)  # [k]
        filled = counts > 0
        centroids[filled] = sums[filled] / counts[filled, None]
        rounds += 1
        bar.update(1)
    bar.close()
    _, dist = nearest_rows(points, centroids)
    return KMeansResult(centroids, rounds, changed, float(dist.mean()))
