"""What a 1-D run records for Figure 1: the densities, D against D*, the z -> x map, and JSD.

At each probe, on a fixed grid of x covering the data (each mode +- 6 std, and 0, where G starts):

- p_data from the data mixture; p_g as a histogram of G at 200,000 evenly spaced quantiles of p_z
  (deterministic, so consecutive probes differ only by what training changed);
- D(x) from the discriminator (evaluation mode) and D*(x) = p_data / (p_data + p_g) for the current G;
- sup |D - D*| over the data's +- 3 std range (the Proposition-1 check), and over the part of that
  range where p_g > 0 too (where G puts no mass, D* = 1 exactly: a step that a smooth D can only
  approach);
- JSD(p_data || p_g) by quadrature on the grid, plus (log 2)/2 per unit of G's mass that fell off the
  grid (where p_data is negligible, each such unit adds q log 2 to KL(q || m), halved);
- 25 evenly spaced z and G(z), the "z -> x" lines of the figure's lower half.
"""

from __future__ import annotations

import math

import torch

from advnets import theory
from advnets.data.toy import GaussianMixture

GRID_POINTS = 481
QUANTILES = 200_000
MAP_LINES = 25


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
def probe_1d(generator: torch.nn.Module, discriminator: torch.nn.Module, mixture: GaussianMixture,
             step: int) -> dict:
    """One Figure-1 probe of a 1-D game (both networks are put back in the mode they were in)."""
    device = next(generator.parameters()).device
    modes = generator.training, discriminator.training
    generator.eval()
    discriminator.eval()
    x = probe_grid(mixture)  # [P] float64
    log_p_data = mixture.log_prob(x[:, None])  # [P]
    samples = generator(prior_quantiles(generator.prior, QUANTILES).to(device)).double().cpu()[:, 0]
    log_p_g = theory.histogram_log_density(samples, x)  # [P], -inf where G puts no mass
    width = float(x[1] - x[0])
    off_grid = float(((samples < x[0] - width / 2) | (samples >= x[-1] + width / 2)).double().mean())
    d = torch.sigmoid(discriminator(x[:, None].float().to(device)).double().cpu())  # [P]
    d_star = theory.optimal_discriminator(log_p_data, log_p_g)

    def on_grid(values: torch.Tensor):
        return lambda t: values

    jsd = theory.jsd(on_grid(log_p_data), on_grid(log_p_g), x) + 0.5 * math.log(2.0) * off_grid
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
