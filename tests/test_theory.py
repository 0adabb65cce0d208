import math

import pytest
import torch

from advnets import theory
from advnets.theory import LOG4, gaussian

X = theory.grid(-20.0, 20.0, 40001)  # the Gaussians below vanish (< 1e-40) at the ends


def mixture(*parts):
    """log of sum_i w_i N(m_i, s_i^2) for parts (w, m, s)."""

    def log_p(x):
        return torch.logsumexp(torch.stack([math.log(w) + gaussian(m, s)(x) for w, m, s in parts]), 0)

    return log_p


PAIRS = [
    (gaussian(0, 1), gaussian(1, 1)),
    (gaussian(0, 1), gaussian(0, 2)),
    (gaussian(-1, 0.5), gaussian(3, 1.5)),
    (mixture((0.5, -2, 0.5), (0.5, 2, 0.5)), gaussian(0, 1)),
    (mixture((0.3, -1, 0.3), (0.7, 1.5, 0.8)), mixture((0.5, 0, 1), (0.5, 4, 0.3))),
]


@pytest.mark.parametrize("p, q", PAIRS)
def test_virtual_criterion_is_minus_log4_plus_twice_jsd(p, q):
    """Theorem 1, by quadrature."""
    assert theory.virtual_criterion(p, q, X) == pytest.approx(-LOG4 + 2 * theory.jsd(p, q, X), abs=1e-6)


def test_equal_distributions_give_minus_log4():
    p = mixture((0.3, -1, 0.3), (0.7, 1.5, 0.8))
    assert theory.virtual_criterion(p, p, X) == pytest.approx(-LOG4, abs=1e-12)
    assert theory.jsd(p, p, X) == pytest.approx(0.0, abs=1e-12)
    assert torch.equal(theory.optimal_discriminator(p(X), p(X)), torch.full_like(X, 0.5))


def test_published_values():
    assert theory.jsd(gaussian(0, 1), gaussian(1, 1), X) == pytest.approx(0.111421, abs=1e-6)
    assert theory.virtual_criterion(gaussian(0, 1), gaussian(1, 1), X) == pytest.approx(-1.163451, abs=1e-6)
    assert theory.virtual_criterion(gaussian(0, 1), gaussian(0, 2), X) == pytest.approx(-1.200828, abs=1e-6)


@pytest.mark.parametrize("p, q", PAIRS)
def test_optimal_discriminator_maximises_the_value(p, q):
    """Proposition 1: V(G, D*) >= V(G, D) for any D; here random smooth logits and perturbed D*."""
    best = theory.value(p, q, lambda x: theory.optimal_logit(p(x), q(x)), X)
    assert best == pytest.approx(theory.virtual_criterion(p, q, X), abs=1e-12)
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        a, b, c = torch.randn(3, generator=g, dtype=torch.float64).tolist()

        def random_logit(x, a=a, b=b, c=c):
            return a + b * x + c * torch.sin(x)

        def nudged(x, c=c):
            return theory.optimal_logit(p(x), q(x)) + 0.1 * c

        assert theory.value(p, q, random_logit, X) <= best
        assert theory.value(p, q, nudged, X) <= best


def test_monte_carlo_estimates_agree_with_quadrature():
    p, q = gaussian(0, 1), gaussian(1, 1)
    g = torch.Generator().manual_seed(0)
    x_data = torch.randn(400_000, generator=g, dtype=torch.float64)
    x_g = torch.randn(400_000, generator=g, dtype=torch.float64) + 1
    assert theory.virtual_criterion_mc(x_data, x_g, p, q) == pytest.approx(-1.163451, abs=3e-3)
    assert theory.jsd_mc(x_data, x_g, p, q) == pytest.approx(0.111421, abs=2e-3)
    logit = lambda x: 0.3 - 0.7 * x  # noqa: E731 - any D
    assert theory.value_mc(x_data, x_g, logit) == pytest.approx(theory.value(p, q, logit, X), abs=3e-3)


def test_histogram_density_of_samples():
    x = theory.grid(-6, 6, 241)
    samples = torch.randn(1_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    log_q = theory.histogram_log_density(samples, x)
    inner = x.abs() < 2
    assert torch.allclose(log_q[inner].exp(), gaussian(0, 1)(x[inner]).exp(), atol=0.01)
    assert theory.integrate(torch.nan_to_num(log_q.exp()), x) == pytest.approx(1.0, abs=1e-3)
