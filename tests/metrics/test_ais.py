"""AIS and BDMC (advnets.metrics.ais) against log-likelihoods known exactly: a linear-Gaussian decoder
(p(x) is a Gaussian in closed form) and a one-dimensional latent under the paper's uniform prior (p(x)
by quadrature); and the metric end to end on a tiny MNIST run."""

import json
import math

import pytest
import torch

from advnets.cli import main
from advnets.metrics import ais
from advnets.models.mlp import sample_prior


class LinearDecoder(torch.nn.Module):
    """G(z) = W z + b (or sigmoid(2 W z + b)): a decoder whose p(x) is known."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, prior: str, squash: bool = False):
        super().__init__()
        self.weight, self.bias = torch.nn.Parameter(weight), torch.nn.Parameter(bias)
        self.prior, self.z_dim, self.squash = prior, weight.shape[1], squash

    def forward(self, z):
        h = z @ self.weight.T
        return torch.sigmoid(2 * h + self.bias) if self.squash else h + self.bias

    def sample_z(self, n, generator=None, device="cpu"):
        return sample_prior(n, self.z_dim, self.prior, generator, device)


def _bounds(decoder, x, z, variance, steps):
    settings = ais.AISSettings(steps=steps, chains=16, leapfrog=10)
    forward = ais.ais(decoder, x, variance, settings, seed=0)
    reverse = ais.ais(decoder, x, variance, settings, seed=1, reverse_from=z, step_sizes=forward.step_sizes)
    return forward, reverse


def test_the_schedule_runs_from_prior_to_posterior():
    betas = ais.sigmoid_schedule(100)
    assert betas[0] == 0 and betas[-1] == 1 and len(betas) == 101 and bool((betas.diff() > 0).all())
    assert betas[1] < betas[50] - betas[49]  # more distributions near the ends than in the middle


def test_walls_reflect_positions_into_the_box_and_turn_momenta():
    decoder = LinearDecoder(torch.ones(3, 2), torch.zeros(3), "uniform")
    model = ais.LatentModel(decoder, torch.zeros(1, 3), 0.1, 1)
    a = math.sqrt(3)
    z = torch.tensor([[a + 0.5, -a - 0.25], [0.3, 5 * a + 0.1]])
    p = torch.ones(2, 2)
    folded, momenta = model.reflect(z, p)
    expected = torch.tensor([[a - 0.5, -a + 0.25], [0.3, a - 0.1]])  # 5a + 0.1: out, back across, out again
    assert torch.allclose(folded, expected, atol=1e-5)
    assert momenta.tolist() == [[-1, -1], [1, -1]]


def test_bounds_bracket_a_linear_gaussian_decoders_exact_likelihood():
    torch.manual_seed(0)
    weight, bias, variance = torch.randn(5, 2), 0.1 * torch.randn(5), 0.05
    decoder = LinearDecoder(weight, bias, "gaussian")
    x, z = ais.simulate(decoder, 40, variance, seed=1)
    exact = torch.distributions.MultivariateNormal(bias.double(), (weight @ weight.T).double()
                                                   + variance * torch.eye(5, dtype=torch.float64)).log_prob(x.double())
    forward, reverse = _bounds(decoder, x, z, variance, steps=2000)
    assert abs(float((forward.log_p - exact).mean())) < 0.1  # measured: 0.011 +- 0.020
    assert abs(float((reverse.log_p - exact).mean())) < 0.1  # measured: -0.007 +- 0.016
    assert 0.45 < forward.acceptance < 0.85  # the pilot aims at 0.65
    short_forward, short_reverse = _bounds(decoder, x, z, variance, steps=10)
    short_gap = float((short_reverse.log_p - short_forward.log_p).mean())
    assert short_gap > 0.5 and short_gap > 5 * abs(float((reverse.log_p - forward.log_p).mean()))


def test_bounds_bracket_a_uniform_prior_likelihood_found_by_quadrature():
    torch.manual_seed(3)
    variance = 0.01
    decoder = LinearDecoder(torch.randn(3, 1), torch.zeros(3), "uniform", squash=True)
    x, z = ais.simulate(decoder, 20, variance, seed=2)
    a = math.sqrt(3)
    grid = torch.linspace(-a, a, 100_001, dtype=torch.float64)[:, None]
    with torch.no_grad():
        means = decoder(grid.float()).double()  # [grid, 3]
    log_lik = -((x.double()[:, None] - means[None]) ** 2).sum(-1) / (2 * variance) - 1.5 * math.log(2 * math.pi
                                                                                                      * variance)
    exact = torch.logsumexp(log_lik, 1) + math.log(2 * a / (len(grid) - 1)) - math.log(2 * a)  # p(z) = 1 / 2a
    forward, reverse = _bounds(decoder, x, z, variance, steps=500)
    assert abs(float((forward.log_p - exact).mean())) < 0.1
    assert abs(float((reverse.log_p - exact).mean())) < 0.1


def test_the_metric_on_a_run_chooses_s2_and_reports_the_bdmc_gap(tiny_mnist_run, capsys):
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "ais", "--n-samples", "3", "--ais-steps", "8",
                 "--chains", "2", "--leapfrog", "2"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["metric"] == "ais" and row["n_test"] == 3 and (row["steps"], row["chains"], row["leapfrog"]) == (8, 2, 2)
    assert row["variance"] in ais.VARIANCE_GRID and set(row["valid_scores"]) == {f"{v:g}" for v in ais.VARIANCE_GRID}
    assert row["valid_scores"][f"{row['variance']:g}"] == max(row["valid_scores"].values())
    assert math.isfinite(row["log_likelihood"]) and row["se"] > 0 and 0 <= row["acceptance"] <= 1
    assert row["bdmc_upper"] - row["bdmc_lower"] == pytest.approx(row["bdmc_gap"])
    assert row["converged"] is (row["bdmc_gap"] <= ais.CONVERGED_GAP)


def test_an_unconverged_estimate_says_so_in_one_line(tiny_mnist_run, capsys):
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "ais", "--n-samples", "2", "--ais-steps", "2",
                 "--chains", "1", "--leapfrog", "1", "--variance", "0.005"]) == 0
    out, err = capsys.readouterr()
    row = json.loads(out)
    assert row["bdmc_gap"] > ais.CONVERGED_GAP and row["converged"] is False  # 2 distributions: far from it
    warning = [line for line in err.splitlines() if line.startswith("warning: AIS has not converged")]
    assert len(warning) == 1 and f"{row['bdmc_gap']:.1f} nats" in warning[0] and "--ais-steps" in warning[0]
    assert ais.convergence(0.5, ais.AISSettings()) == {"converged": True}


def test_a_given_variance_skips_the_choice_and_options_stay_with_ais(tiny_mnist_run, capsys):
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "ais", "--n-samples", "2", "--ais-steps", "4",
                 "--chains", "2", "--leapfrog", "1", "--variance", "0.02"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["variance"] == 0.02 and row["valid_scores"] == {}
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "parzen", "--chains", "4"]) == 2
    assert "--chains applies to --metric ais only" in capsys.readouterr().err
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "ais", "--variance", "-1"]) == 2
