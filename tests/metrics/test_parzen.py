import math

import pytest
import torch

from advnets.metrics.parzen_window import SIGMA_GRID, parzen_log_likelihood, parzen_protocol, squared_distances


def brute_force(x, centres, sigma):
    """The textbook formula with the full difference tensor, float64."""
    x, centres = x.double(), centres.double()
    d = x.shape[1]
    sq = ((x[:, None, :] - centres[None]) ** 2).sum(-1)  # [b, n]
    return torch.logsumexp(-sq / (2 * sigma**2), 1) - math.log(len(centres)) - d * math.log(sigma * math.sqrt(2 * math.pi))


def test_sigma_grid_is_the_papers():
    assert len(SIGMA_GRID) == 10 and SIGMA_GRID[0] == pytest.approx(0.1) and SIGMA_GRID[-1] == pytest.approx(1.0)


@pytest.mark.parametrize("d", [1, 20, 784])
def test_agrees_with_brute_force(d):
    g = torch.Generator().manual_seed(d)
    x, centres = torch.rand(37, d, generator=g), torch.rand(53, d, generator=g)
    ours = parzen_log_likelihood(x, centres, SIGMA_GRID, batch_size=10)
    for i, s in enumerate(SIGMA_GRID):
        ref = brute_force(x, centres, s)
        assert torch.allclose(ours[i], ref, rtol=1e-6, atol=0), (d, s)
    assert abs(squared_distances(x[:1], x[:1]).item()) < 1e-9  # rounding only, clamped at 0


def test_matches_analytic_density_for_gaussian_samples():
    # Kernels of width s on samples of N(0, s0^2 I) estimate the density of N(0, (s0^2 + s^2) I).
    g = torch.Generator().manual_seed(0)
    d, s0, s = 2, 1.0, 0.3
    centres = torch.randn(200_000, d, generator=g, dtype=torch.float64) * s0
    x = torch.randn(300, d, generator=g, dtype=torch.float64) * s0
    ours = parzen_log_likelihood(x, centres, (s,), batch_size=100)[0]
    var = s0**2 + s**2
    analytic = -0.5 * (x**2).sum(1) / var - 0.5 * d * math.log(2 * math.pi * var)
    assert (ours - analytic).abs().mean() < 0.01


def test_protocol_chooses_sigma_on_validation_and_reports_se():
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(2000, 3, generator=g) * 0.5
    valid, test = torch.randn(400, 3, generator=g) * 0.5, torch.randn(500, 3, generator=g) * 0.5
    r = parzen_protocol(centres, valid, test)
    scores = {float(k): v for k, v in r.valid_scores.items()}
    assert r.sigma == pytest.approx(max(scores, key=scores.get), abs=1e-4)
    test_ll = parzen_log_likelihood(test, centres, (r.sigma,))[0]
    assert r.mean == pytest.approx(float(test_ll.mean()))
    assert r.se == pytest.approx(float(test_ll.std() / math.sqrt(500)))
    assert (r.n_samples, r.n_valid, r.n_test) == (2000, 400, 500)
