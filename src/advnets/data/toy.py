"""Synthetic distributions that need no files: 1-D Gaussian mixtures and the 2-D mode-collapse
benchmarks of ``shared/evaluation.md`` (PacGAN / VEEGAN protocol).

- ring: `modes` Gaussians with means on a circle of radius `radius` (angles 2 pi i / modes), std
  0.01 by default (radius 2 / std 0.02 is the other published variant);
- grid: 25 Gaussians with means in {-4, -2, 0, 2, 4}^2, std 0.05;
- gaussian-1d: a mixture sum_i w_i N(mean_i, std_i^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GaussianMixture:
    """Equal-shape isotropic Gaussian components; `means` is [K, dim], `stds` [K], `weights` [K]."""

    means: torch.Tensor
    stds: torch.Tensor
    weights: torch.Tensor

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """n points [n, dim] drawn with `generator` (which must live on `device`)."""
        weights = self.weights.to(device)
        component = torch.multinomial(weights, n, replacement=True, generator=generator)  # [n]
        noise = torch.randn(n, self.dim, generator=generator, device=device)  # [n, dim]
        return self.means.to(device)[component] + noise * self.stds.to(device)[component, None]

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for x [n, dim], by log-sum-exp over components (float64 inside)."""
        x = x.double()
        means, stds = self.means.to(x), self.stds.to(x)
        sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)  # [n, K]
        log_norm = -self.dim * (torch.log(stds) + 0.5 * math.log(2 * math.pi))  # [K]
        log_comp = -sq / (2 * stds**2) + log_norm + torch.log(self.weights.to(x) / self.weights.sum())
        return torch.logsumexp(log_comp, dim=1)


def ring(modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(means.float(), torch.full((modes,), std), torch.ones(modes))


def grid(std: float = 0.05) -> GaussianMixture:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    means = torch.cartesian_prod(axis, axis)  # [25, 2]
    return GaussianMixture(means, torch.full((25,), std), torch.ones(25))


def mixture_1d(means: list[float], stds: list[float], weights: list[float] | None = None) -> GaussianMixture:
    k = len(means)
    w = torch.tensor(weights if weights is not None else [1.0] * k)
    return GaussianMixture(torch.tensor(means).reshape(k, 1), torch.tensor(stds), w / w.sum())
