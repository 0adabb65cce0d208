import math

import pytest
import torch
from torch import nn

from advnets import theory
from advnets.data import toy
from advnets.metrics.probe_1d import probe_1d

A = 2.0  # G(z) = z * A / sqrt(3): z ~ U(-sqrt3, sqrt3) gives p_g = U(-A, A)


class UniformG(nn.Module):
    prior = "uniform"

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(A / math.sqrt(3.0)))

    def forward(self, z):
        return z * self.scale


class OptimalD(nn.Module):
    """The exact logit of D* for p_data = N(0, 1) against p_g = U(-A, A)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        x = x[:, 0].double()
        log_p_g = torch.where(x.abs() < A, torch.tensor(-math.log(2 * A), dtype=torch.float64),
                              torch.tensor(-math.inf, dtype=torch.float64))
        return (theory.gaussian(0, 1)(x) - log_p_g).float()


def test_probe_of_known_densities():
    data = toy.mixture_1d([0.0], [1.0])
    p = probe_1d(UniformG(), OptimalD(), data, step=7)
    x = torch.tensor(p["x"], dtype=torch.float64)
    inside = x.abs() < A - 0.05  # away from the edge bins of the histogram
    assert torch.allclose(torch.tensor(p["p_g"], dtype=torch.float64)[inside], torch.full((int(inside.sum()),), 1 / (2 * A), dtype=torch.float64),
                          rtol=1e-3)
    assert p["g_mass_off_grid"] == 0.0 and p["step"] == 7
    # the exact D* is recovered where the histogram is exact, so sup|D - D*| is set by the two edge bins
    d, d_star = torch.tensor(p["d"]), torch.tensor(p["d_star"])
    assert (d - d_star)[inside].abs().max() < 1e-3
    # JSD against the closed-form densities by fine quadrature
    fine = theory.grid(-A, A, 200001)
    jsd_inside = theory.jsd(theory.gaussian(0, 1), lambda t: torch.full_like(t, -math.log(2 * A)), fine)
    outside_mass = math.erfc(A / math.sqrt(2))  # p_data beyond +-A, where p_g = 0: adds (log 2)/2 per unit
    assert p["jsd"] == pytest.approx(jsd_inside + 0.5 * math.log(2) * outside_mass, abs=3e-3)
    assert torch.allclose(torch.tensor(p["x_lines"]), torch.tensor(p["z_lines"]) * A / math.sqrt(3.0))
