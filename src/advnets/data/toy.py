"""Synthetic distributions that need no files: 1-D Gaussian mixtures and the 2-D mode-collapse
benchmarks of ``docs/protocols.md`` (PacGAN / VEEGAN protocol).

- ring: `modes` Gaussians with means on a circle of radius `radius` (angles 2 pi i / modes), std
  0.01 by default (radius 2 / std 0.02 is the other published variant);
- grid: 25 Gaussians with means in {-4, -2, 0, 2, 4}^2, std 0.05;
- gaussian-1d: a mixture sum_i w_i N(mean_i, std_i^2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from advnets.data.spec import TOY, DatasetSpec


@dataclass(frozen=True)
class GaussianMixture:
    """Isotropic Gaussian components: `means` [K, dim], `stds` [K], `mixture_weights` [K] (the
    probability of each component, up to normalisation)."""

    means: torch.Tensor
    stds: torch.Tensor
    mixture_weights: torch.Tensor

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """n points [n, dim] drawn with `generator` (which must live on `device`)."""
        weights = self.mixture_weights.to(device)
        component = torch.multinomial(weights, n, replacement=True, generator=generator)  # [n]
        noise = torch.randn(n, self.dim, generator=generator, device=device)  # [n, dim]
        return self.means.to(device)[component] + noise * self.stds.to(device)[component, None]

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) for x [n, dim], by log-sum-exp over components (float64 inside)."""
        x = x.double()
        means, stds = self.means.to(x), self.stds.to(x)
        sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)  # [n, K]
        log_norm = -self.dim * (torch.log(stds) + 0.5 * math.log(2 * math.pi))  # [K]
        log_comp = -sq / (2 * stds**2) + log_norm + torch.log(self.mixture_weights.to(x) / self.mixture_weights.sum())
        return torch.logsumexp(log_comp, dim=1)


def ring(modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    means = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(means.float(), torch.full((modes,), std), torch.ones(modes))


def grid(std: float = 0.05) -> GaussianMixture:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    means = torch.cartesian_prod(axis, axis)  # [25, 2]
    return GaussianMixture(means, torch.full((25,), std), torch.ones(25))


def mixture_1d(means: list[float], stds: list[float], mixture_weights: list[float] | None = None) -> GaussianMixture:
    k = len(means)
    w = torch.tensor(mixture_weights if mixture_weights is not None else [1.0] * k)
    return GaussianMixture(torch.tensor(means).reshape(k, 1), torch.tensor(stds), w / w.sum())


# The data sets, built from the run's data config `d` (modes, radius, std, means, stds, mixture_weights).
# std None is each benchmark's published default.
RING_STD, GRID_STD = 0.01, 0.05


def _ring(d: Any) -> GaussianMixture:
    return ring(d.modes, d.radius, d.std if d.std is not None else RING_STD)


def _grid(d: Any) -> GaussianMixture:
    return grid(d.std if d.std is not None else GRID_STD)


def _mixture_1d(d: Any) -> GaussianMixture:
    return mixture_1d(d.means, d.stds, d.mixture_weights)


DATASETS = (
    DatasetSpec(name="ring", title="2-D ring of Gaussians", kind=TOY, x_shape=(2,), mixture=_ring),
    DatasetSpec(name="grid", title="2-D 5x5 grid of Gaussians", kind=TOY, x_shape=(2,), mixture=_grid),
    DatasetSpec(name="gaussian-1d", title="1-D Gaussian mixture", kind=TOY, x_shape=(1,), mixture=_mixture_1d),
)
