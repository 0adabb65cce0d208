import pytest
import torch

from advnets.metrics.kmeans import kmeans
from advnets.metrics.nearest import nearest_rows


def test_nearest_rows_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    points, centroids = torch.rand(300, 20, generator=g), torch.rand(17, 20, generator=g)
    index, dist = nearest_rows(points, centroids, batch_size=64)
    brute = torch.cdist(points.double(), centroids.double()) ** 2  # [300, 17]
    assert torch.equal(index, brute.argmin(1))
    assert torch.allclose(dist.double(), brute.min(1).values, atol=1e-5)


def test_recovers_separated_clusters_and_converges():
    g = torch.Generator().manual_seed(1)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    points = (centres[:, None, :] + 0.1 * torch.randn(4, 250, 2, generator=g)).reshape(-1, 2)  # [1000, 2]
    # A lucky start (one point per cluster) converges in one step, an unlucky one may stall in a local
    # optimum; among a few seeds the global optimum must appear, with every centre found.
    fits = [kmeans(points, 4, seed=s, iterations=50) for s in range(5)]
    assert all(f.changed == 0 for f in fits)  # Lloyd's algorithm stopped because nothing moved
    best = min(fits, key=lambda f: f.inertia)
    assert best.inertia < 0.03  # 2 x 0.1^2 for the true clusters
    found = torch.cdist(centres, best.centroids).min(1).values
    assert (found < 0.05).all()


def test_empty_cluster_keeps_its_centroid_and_k_is_checked():
    points = torch.tensor([[0.0], [0.0], [0.0], [1.0]])  # duplicates: two starts at 0 share their points
    fit = kmeans(points, 3, seed=0, iterations=5)
    assert fit.centroids.shape == (3, 1) and torch.isfinite(fit.centroids).all()
    with pytest.raises(ValueError):
        kmeans(points, 5)
