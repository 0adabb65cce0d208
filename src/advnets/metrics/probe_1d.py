"""The 1-D game measured, for Figure 1 and Proposition 1: the densities, D against D*, the z -> x map, and JSD.

At each probe, on a fixed grid of x covering the data (each mode +- 6 std, and 0, where G starts):

- p_data from the data mixture; p_g as the push-forward of p_z through G: z on a fine even grid
  (200,000 cells over p_z's support, +-8 for a Gaussian), each cell's exact prior mass put in the
  bin of G(z) (deterministic, so consecutive probes differ only by what training changed; exact
  masses keep the tails of p_g accurate, which D* = p_data / (p_data + p_g) is sensitive to there);
- D(x) from the discriminator (evaluation mode) and D*(x) = p_data / (p_data + p_g) for the current G;
- sup |D - D*| over the data's +- 3 std range (the Proposition-1 check), and over the part of that
  range where p_g > 0 too (where G puts no mass, D* = 1 exactly: a step that a smooth D can only
  approach);
- JSD(p_data || p_g) by quadrature on the grid, plus (log 2)/2 per unit of G's mass that fell off the
  grid (where p_data is negligible, each such unit adds q log 2 to KL(q || m), halved);
- 25 evenly spaced z and G(z), the "z -> x" lines of the figure's lower half.

A 1-D run writes one probe with every progress image (``probes.jsonl``, advnets.train.monitor);
--metric optimal-d (optimal_d.py) reuses the grid, p_g and JSD.
"""

from __future__ import annotations

import math

import torch

from advnets import theory
from advnets.data.toy import GaussianMixture

GRID_POINTS = 481
PRIOR_CELLS = 200_000
MAP_LINES = 25


def prior_cells(prior: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The 1-D prior p_z cut into n equal cells of z: their centres [n, 1] and exact masses [n]
    (float64): U(-sqrt3, sqrt3) over its support, N(0, 1) over [-8, 8] (mass beyond: 1e-15)."""
    half = math.sqrt(3.0) if prior == "uniform" else 8.0
    edges = torch.linspace(-half, half, n + 1, dtype=torch.float64)
    if prior == "uniform":
        mass = torch.full((n,), 1.0 / n, dtype=torch.float64)
    else:
        mass = torch.diff(0.5 * (1 + torch.erf(edges / math.sqrt(2.0))))
    return ((edges[:-1] + edges[1:]) / 2)[:, None].float(), mass


def prior_quantiles(prior: str, n: int) -> torch.Tensor:
    """n evenly spaced quantiles [n, 1] of the 1-D prior p_z."""
    u = (torch.arange(n, dtype=torch.float64) + 0.5) / n  # [n] in (0, 1)
    z = (2 * u - 1) * math.sqrt(3.0) if prior == "uniform" else math.sqrt(2.0) * torch.erfinv(2 * u - 1)
    return z[:, None].float()


def probe_grid(mixture: GaussianMixture) -> torch.Tensor:
    means, stds = mixture.means[:, 0].double(), mixture.stds.double()
    lo = min(float((means - 6 * stds).min()), 0.0)
    hi = max(float((means + 6 * stds).max()), 0.0)
    return theory.grid(lo, hi, GRID_POINTS)


def data_range_mask(mixture: GaussianMixture, x: torch.Tensor) -> torch.Tensor:
    """Grid points within 3 std of some mode of the data."""
    means, stds = mixture.means[:, 0].double(), mixture.stds.double()
    return ((x[:, None] - means[None]).abs() <= 3 * stds[None]).any(dim=1)


def _sup(values: torch.Tensor, where: torch.Tensor) -> float:
    """max |values| over the points where `where` holds (0 if none)."""
    return float(values.abs().where(where, torch.zeros_like(values)).max())


@torch.no_grad()
def p_g_on_grid(generator: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """log p_g at the grid points x [P] (the push-forward of p_z's cells, see the module docstring;
    bins centred on the points; -inf where G puts no mass), and the share of G's mass that fell
    off the grid."""
    device = next(generator.parameters()).device
    z, mass = prior_cells(generator.prior, PRIOR_CELLS)
    samples = generator(z.to(device)).double().cpu()[:, 0]
    width = float(x[1] - x[0])
    off_grid = float(mass[(samples < x[0] - width / 2) | (samples >= x[-1] + width / 2)].sum())
    return theory.histogram_log_density(samples, x, mass), off_grid


def jsd_on_grid(log_p_data: torch.Tensor, log_p_g: torch.Tensor, x: torch.Tensor, off_grid: float) -> float:
    """JSD(p_data || p_g) by quadrature on the grid, plus (log 2)/2 per unit of G's mass off the grid
    (where p_data is negligible, each such unit adds q log 2 to KL(q || m), halved)."""
    return theory.jsd(lambda t: log_p_data, lambda t: log_p_g, x) + 0.5 * math.log(2.0) * off_grid


@torch.no_grad()
def probe_1d(generator: torch.nn.Module, discriminator: torch.nn.Module, mixture: GaussianMixture,
             step: int) -> dict:
    """One Figure-1 probe of a 1-D game (both networks are put back in the mode they were in)."""
    device = next(generator.parameters()).device
    modes = generator.training, discriminator.training
    generator.eval()
    discriminator.eval()
    x = probe_grid(mixture)  # [P] float64
    log_p_data = mixture.log_prob(x[:, None])  # [P]
    log_p_g, off_grid = p_g_on_grid(generator, x)  # [P], -inf where G puts no mass
    d = torch.sigmoid(discriminator(x[:, None].float().to(device)).double().cpu())  # [P]
    d_star = theory.optimal_discriminator(log_p_data, log_p_g)

    jsd = jsd_on_grid(log_p_data, log_p_g, x, off_grid)
    z_lines = prior_quantiles(generator.prior, MAP_LINES)
    x_lines = generator(z_lines.to(device)).cpu()[:, 0]
    inside = data_range_mask(mixture, x)
    generator.train(modes[0])
    discriminator.train(modes[1])
    return {
        "step": step, "x": x.tolist(), "p_data": log_p_data.exp().tolist(), "p_g": log_p_g.exp().tolist(),
        "d": d.tolist(), "d_star": d_star.tolist(), "sup_gap": _sup(d - d_star, inside), "sup_gap_common": _sup(d - d_star, inside & (log_p_g > -math.inf)),
        "jsd": jsd, "g_mass_off_grid": off_grid, "z_lines": z_lines[:, 0].tolist(), "x_lines": x_lines.tolist(),
    }
