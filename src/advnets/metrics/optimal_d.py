"""Proposition 1 checked on a trained 1-D game: train D to convergence for the snapshot's G (the
inner loop of Algorithm 1 with k -> infinity) and compare it with D*_G = p_data / (p_data + p_g).

A copy of the snapshot's D is trained on fresh samples every step (no data set to overfit: the
minimiser of the population loss is D* itself when D can represent it), with large batches and
Adam whose learning rate is annealed to 0 by a cosine, so that minibatch noise averages out. The
report gives sup |D - D*| over the data's +-3 std range for the snapshot's own D and for the
converged one (also where p_g > 0), V(G, D) against C(G) = V(G, D*) = -log 4 + 2 JSD by quadrature
(Proposition 1: V(G, D) <= C(G), equal at D*), and JSD(p_data || p_g).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch

from advnets import theory
from advnets.data import registry as datasets
from advnets.data.toy import GaussianMixture
from advnets.losses import discriminator_loss
from advnets.metrics.probe_1d import data_range_mask, jsd_on_grid, p_g_on_grid, probe_grid
from advnets.metrics.spec import Metric, MetricRequest
from advnets.progress import progress


def fit_discriminator(discriminator: torch.nn.Module, generator: torch.nn.Module, mixture: GaussianMixture,
                      steps: int = 2000, batch_size: int = 2048, lr: float = 1e-2, seed: int = 0) -> torch.nn.Module:
    """A copy of `discriminator` trained for the fixed `generator` (eval mode on return), where the
    networks are (data, noise and dropout from one generator there, seeded with `seed`)."""
    D = copy.deepcopy(discriminator).train()
    generator = generator.eval()
    device = next(D.parameters()).device
    opt = torch.optim.Adam(D.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = torch.Generator(device).manual_seed(seed)
    mixture = GaussianMixture(mixture.means.to(device), mixture.stds.to(device), mixture.mixture_weights.to(device))
    for _ in progress(range(steps), steps, "training D to convergence for the fixed G"):
        x = mixture.sample(batch_size, rng, device)  # [b, 1] ~ p_data
        with torch.no_grad():
            fake = generator(generator.sample_z(batch_size, rng, device))  # [b, 1] ~ p_g
        loss = discriminator_loss(D(x, rng), D(fake, rng)).mean()  # -(1/2) V(G, D) per example pair
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    return D.eval()


@torch.no_grad()
def optimal_d_report(generator: torch.nn.Module, discriminator: torch.nn.Module, mixture: GaussianMixture,
                     steps: int = 2000, batch_size: int = 2048, seed: int = 0) -> dict[str, Any]:
    x = probe_grid(mixture)  # [P] float64
    log_p_data = mixture.log_prob(x[:, None])  # [P]
    log_p_g, off_grid = p_g_on_grid(generator, x)
    d_star_logit = theory.optimal_logit(log_p_data, log_p_g)
    inside = data_range_mask(mixture, x)
    common = inside & (log_p_g > -math.inf)

    device = next(discriminator.parameters()).device

    def logit_of(D: torch.nn.Module) -> torch.Tensor:
        return D.eval()(x[:, None].float().to(device)).double().cpu()  # [P]

    with torch.enable_grad():
        fitted = fit_discriminator(discriminator, generator, mixture, steps, batch_size, seed=seed)
    rows: dict[str, Any] = {}
    for name, D in (("snapshot", discriminator), ("converged", fitted)):
        gap = (torch.sigmoid(logit_of(D)) - torch.sigmoid(d_star_logit)).abs()
        rows[f"sup_gap_{name}"] = float(gap[inside].max())
        rows[f"sup_gap_{name}_where_p_g_positive"] = float(gap[common].max()) if common.any() else None
        rows[f"value_{name}"] = theory.integrate(theory.value_integrand(log_p_data, log_p_g, logit_of(D)), x)
    c_g = theory.integrate(theory.value_integrand(log_p_data, log_p_g, d_star_logit), x)
    jsd = jsd_on_grid(log_p_data, log_p_g, x, off_grid)
    return {**rows, "virtual_criterion": c_g, "jsd": jsd,
            "p_g_support": [float(x[log_p_g > -math.inf].min()), float(x[log_p_g > -math.inf].max())],
            "data_range": [float(x[inside].min()), float(x[inside].max())],
            "fit_steps": steps, "fit_batch_size": batch_size}


def score_optimal_d(snap, request: MetricRequest) -> dict[str, Any]:
    """The report for `snap`'s G and D, D trained request.n_samples steps (seed request.seed)."""
    mixture = datasets.get(snap.config.data.name).mixture(snap.config.data)
    return optimal_d_report(snap.generator, snap.discriminator, mixture, steps=request.n_samples, seed=request.seed)


METRIC = Metric(
    name="optimal-d", summary="(1-D runs) D trained to convergence for the run's G against "
                              "D* = p_data / (p_data + p_g) (Proposition 1)",
    compute=score_optimal_d, needs=("mixture-1d", "discriminator"), default_n=2_000,
    n_counts="D's training steps, of 2,048 fresh samples each", headline=("sup_gap_converged", "sup |D - D*|"),
    columns=("sup_gap_converged",))
