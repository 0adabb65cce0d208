"""The paper's theory (section 4), computed: the optimal discriminator, the value function, the
virtual training criterion C(G) and its Jensen-Shannon form, for 1-D densities.

    D*_G(x) = p_data(x) / (p_data(x) + p_g(x))                                    (Proposition 1)
    V(G, D) = E_{x~p_data}[log D(x)] + E_{x~p_g}[log(1 - D(x))]                    (eq. 1)
    C(G)    = max_D V(G, D) = V(G, D*_G) = -log 4 + 2 JSD(p_data || p_g)          (Theorem 1)

Densities are given as functions returning log-densities (float64 tensors); a discriminator as a
function returning the *logit* of D, so that log D = -softplus(-l) and log(1 - D) = -softplus(l) stay
finite where D saturates. Two estimators of each quantity: quadrature on a uniform grid (trapezoid
rule; spectrally accurate for smooth densities that vanish at the ends) and Monte Carlo from samples.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

LogDensity = Callable[[torch.Tensor], torch.Tensor]  # x [n] -> log p(x) [n]
Logit = Callable[[torch.Tensor], torch.Tensor]  # x [n] -> logit of D(x) [n]

LOG4 = math.log(4.0)


def grid(lo: float, hi: float, n: int = 20001) -> torch.Tensor:
    """n equally spaced points [n] on [lo, hi], float64."""
    return torch.linspace(lo, hi, n, dtype=torch.float64)


def integrate(values: torch.Tensor, x: torch.Tensor) -> float:
    """Trapezoid rule of values [n] over the grid x [n]."""
    return float(torch.trapezoid(values, x))


def optimal_logit(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """logit D*(x) = log p_data(x) - log p_g(x) (so D* = sigmoid of it), elementwise."""
    return log_p_data - log_p_g


def optimal_discriminator(log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g), computed from log-densities (Proposition 1)."""
    return torch.sigmoid(optimal_logit(log_p_data, log_p_g))


def value_integrand(log_p_data: torch.Tensor, log_p_g: torch.Tensor, logit: torch.Tensor) -> torch.Tensor:
    """The integrand of V: p_data log D + p_g log(1 - D), with D = sigmoid(logit); 0 log 0 = 0."""
    p_data, p_g = log_p_data.exp(), log_p_g.exp()
    zero = torch.zeros_like(logit)
    # where a density is 0, D* may be exactly 0 or 1 (logit -inf or +inf): its term is 0, not 0 * inf
    return (torch.where(p_data > 0, p_data * -F.softplus(-logit), zero)
            + torch.where(p_g > 0, p_g * -F.softplus(logit), zero))


def value(log_p_data: LogDensity, log_p_g: LogDensity, d_logit: Logit, x: torch.Tensor) -> float:
    """V(G, D) by quadrature on the grid x."""
    return integrate(value_integrand(log_p_data(x), log_p_g(x), d_logit(x)), x)


def virtual_criterion(log_p_data: LogDensity, log_p_g: LogDensity, x: torch.Tensor) -> float:
    """C(G) = V(G, D*_G) by quadrature on the grid x."""
    lp, lq = log_p_data(x), log_p_g(x)
    return integrate(value_integrand(lp, lq, optimal_logit(lp, lq)), x)


def kl(log_p: LogDensity, log_q: LogDensity, x: torch.Tensor) -> float:
    """KL(p || q) = int p log(p / q) by quadrature."""
    lp, lq = log_p(x), log_q(x)
    return integrate(torch.where(lp > -math.inf, lp.exp() * (lp - lq), torch.zeros_like(lp)), x)


def jsd(log_p: LogDensity, log_q: LogDensity, x: torch.Tensor) -> float:
    """JSD(p || q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2, in nats, by quadrature."""

    def log_m(t: torch.Tensor) -> torch.Tensor:
        return torch.logaddexp(log_p(t), log_q(t)) - math.log(2.0)

    return 0.5 * kl(log_p, log_m, x) + 0.5 * kl(log_q, log_m, x)


# ----------------------------------------------------------------------------------------------
# Monte Carlo: expectations as sample means


def value_mc(x_data: torch.Tensor, x_g: torch.Tensor, d_logit: Logit) -> float:
    """V(G, D) from samples x_data ~ p_data and x_g ~ p_g."""
    return float((-F.softplus(-d_logit(x_data))).mean() + (-F.softplus(d_logit(x_g))).mean())


def virtual_criterion_mc(x_data: torch.Tensor, x_g: torch.Tensor, log_p_data: LogDensity, log_p_g: LogDensity) -> float:
    """C(G) = V(G, D*) from samples, with the densities known (D* needs them)."""

    def logit(t: torch.Tensor) -> torch.Tensor:
        return optimal_logit(log_p_data(t), log_p_g(t))

    return value_mc(x_data, x_g, logit)


def jsd_mc(x_data: torch.Tensor, x_g: torch.Tensor, log_p_data: LogDensity, log_p_g: LogDensity) -> float:
    """JSD from samples, through Theorem 1: (C(G) + log 4) / 2."""
    return (virtual_criterion_mc(x_data, x_g, log_p_data, log_p_g) + LOG4) / 2


# ----------------------------------------------------------------------------------------------
# densities


def gaussian(mean: float, std: float) -> LogDensity:
    """log N(x; mean, std^2)."""

    def log_p(x: torch.Tensor) -> torch.Tensor:
        return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2 * math.pi))

    return log_p


def histogram_log_density(samples: torch.Tensor, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """log of a histogram density of 1-D samples (each of mass `weights` [n], default 1/n), read at
    the grid points x [P] (bins centred on them); -inf where no mass fell. For p_g, whose density
    has no closed form."""
    width = float(x[1] - x[0])
    edges_lo = float(x[0]) - width / 2
    samples = samples.double().reshape(-1)
    weights = torch.full_like(samples, 1.0 / len(samples)) if weights is None else weights.double().reshape(-1)
    index = torch.floor((samples - edges_lo) / width).long()
    inside = (index >= 0) & (index < len(x))
    mass = torch.bincount(index[inside], weights=weights[inside], minlength=len(x)).double()
    return torch.log(mass / width)
