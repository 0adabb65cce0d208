"""Log-likelihood by annealed importance sampling, checked by bidirectional Monte Carlo (Wu, Burda,
Salakhutdinov and Grosse 2017, "On the quantitative analysis of decoder-based generative models";
``docs/protocols.md``).

G becomes a density with a Gaussian observation model, and log p(x) is estimated by annealing from
the prior to the posterior:

    p(x) = integral p(z) N(x; G(z), s^2 I) dz
    f_t(z) = p(z) p(x|z)^beta_t,   0 = beta_0 < beta_1 < ... < beta_T = 1   (sigmoid schedule)
    forward:  z_0 ~ p(z);  log w += (beta_t - beta_(t-1)) log p(x | z_(t-1));  z_t ~ HMC leaving f_t invariant
              log p(x) >= E[ logmeanexp_chains(log w) ]                       (stochastic lower bound)
    reverse (BDMC, on data simulated from the model, whose exact posterior sample z* is known):
              z_T = z*;  log w -= (beta_t - beta_(t-1)) log p(x | z_t);  z_(t-1) ~ HMC leaving f_(t-1) invariant
              log p(x) <= E[ -logmeanexp_chains(log w) ]                      (stochastic upper bound)

The gap between the two bounds on simulated data says how far the forward estimate can be from the
truth for this model and this many intermediate distributions (Wu et al.: under 1 nat for most
models, 10 nats for GAN-50). HMC: `leapfrog` steps of a size per image and distribution, aimed at
0.65 acceptance (their target) by a pilot pass and then held fixed, so that the weights stay
unbiased (Wu et al. adapt the estimating chains themselves). The paper's uniform prior
U(-sqrt3, sqrt3)^d has walls: a leapfrog position that crosses one is reflected back and its momentum
negated (Neal 2011, section 5.1), which keeps the move reversible and volume-preserving.

s^2 is chosen on validation images (the best mean forward estimate over VARIANCE_GRID, with a
shorter schedule); the number reported is the mean log p(x) over test images (nats, pixels in [0, 1],
the units of Parzen's Table 1) and its standard error over them. Everything is batched: all images x
all chains are one batch through G, on the snapshot's device.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from advnets.data import preprocess as preprocessing
from advnets.metrics.spec import Metric, MetricRequest
from advnets.metrics.trust import grid_edge, with_warnings
from advnets.progress import Progress

VARIANCE_GRID = (0.005, 0.01, 0.02, 0.03, 0.05)  # s^2 candidates (Wu et al.'s code chose 0.01 - 0.03)
N_VALID = 20  # s^2 selection: validation images, each annealed with a quarter of the test schedule's length
N_SIMULATED = 10  # BDMC: images simulated from the model
# A row is `converged` when its BDMC gap on simulated data is at most this many nats: the forward estimate lies
# below the truth by no more than the gap (in expectation, on data like the model's own), so this bounds its bias.
CONVERGED_GAP = 1.0
TARGET_ACCEPTANCE, ADAPT_RATE = 0.65, 0.05
STEP_SIZE_RANGE = (1e-4, 0.5)
# Published (Wu et al. 2017, MNIST, MLP decoders): the numbers the docs quote beside ours.
PUBLISHED = {"GAN-10": "328.8 ± 5.5", "GAN-50": "627.3 ± 8.8", "GMMN-50": "593.5", "VAE-10": "705.4",
             "VAE-50": "991.4"}


@dataclass(frozen=True)
class AISSettings:
    # intermediate distributions T (Wu et al.: up to 10,000): on the linear decoder at MNIST's sizes
    # (metrics/ais_check.py) 10,000 leave the forward estimate 0.36 nats low under N(0, I), 1,000 left it 5.8 low
    steps: int = 10_000
    chains: int = 4  # independent chains per image (theirs: 16)
    leapfrog: int = 5  # leapfrog steps per HMC transition (theirs: 10)
    step_size: float = 0.05  # the pilot's first leapfrog step size (then adapted)


def sigmoid_schedule(steps: int, delta: float = 4.0) -> torch.Tensor:
    """beta_0 = 0 < ... < beta_T = 1 [T + 1] (float64): a sigmoid of a linear grid, rescaled to [0, 1]
    (Grosse et al. 2013's schedule, spending more distributions near both ends)."""
    if steps < 1:
        raise ValueError("AIS needs at least one intermediate distribution")
    s = torch.sigmoid(torch.linspace(-delta, delta, steps + 1, dtype=torch.float64))
    return (s - s[0]) / (s[-1] - s[0])


class LatentModel:
    """log p(z) and log p(x | z) = log N(x; G(z), s^2 I) for a batch of chains, with their gradients in z.

    `x` [n, D] is repeated per chain: chain j of image i is row i * chains + j."""

    def __init__(self, generator: torch.nn.Module, x: torch.Tensor, variance: float, chains: int):
        self.generator = generator
        self.x = x.flatten(1).repeat_interleave(chains, 0)  # [n * chains, D]
        self.variance = variance
        self.prior = generator.prior
        self.z_dim = generator.z_dim
        self.bound = math.sqrt(3.0) if self.prior == "uniform" else None  # walls of U(-sqrt3, sqrt3)
        d = self.x.shape[1]
        self.log_norm = -0.5 * d * math.log(2 * math.pi * variance)

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) [m]: the box's constant inside it (z stays inside: walls reflect), or N(0, I)'s."""
        if self.bound is not None:
            return torch.full((len(z),), -self.z_dim * math.log(2 * self.bound), dtype=z.dtype, device=z.device)
        return -0.5 * (z * z).sum(1) - 0.5 * self.z_dim * math.log(2 * math.pi)

    def grad_log_prior(self, z: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(z) if self.bound is not None else -z

    def log_likelihood(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log p(x | z) [m] (float64) and its gradient in z [m, d]."""
        with torch.enable_grad():
            z = z.detach().requires_grad_(True)
            mean = self.generator(z).flatten(1)  # G(z) [m, D]
            ll = -((self.x - mean) ** 2).sum(1) / (2 * self.variance)  # -|x - G(z)|^2 / (2 s^2)
            (grad,) = torch.autograd.grad(ll.sum(), z)
        return ll.detach().double() + self.log_norm, grad

    def reflect(self, z: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fold positions that left the box back in, negating those momenta (a no-op for N(0, I))."""
        if self.bound is None:
            return z, p
        a = self.bound
        period = (z + a).remainder(4 * a)  # position on the unfolded line, one period = there and back
        back = period > 2 * a  # an odd number of crossings: moving the other way
        z = torch.where(back, 3 * a - period, period - a)
        return z, torch.where(back, -p, p)


class _Chains:
    """The chains' state: z, and log p(x | z) with its gradient at z (kept between transitions)."""

    def __init__(self, model: LatentModel, z: torch.Tensor):
        self.model, self.z = model, z
        self.ll, self.grad_ll = model.log_likelihood(z)
        self.acceptance_sum = torch.zeros((), dtype=torch.float64, device=z.device)  # over transitions
        self.transitions = 0

    def hmc(self, beta: float, leapfrog: int, step: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One HMC transition leaving f(z) = p(z) p(x|z)^beta invariant, every chain at once, with leapfrog
        step sizes `step` [m]; returns which chains accepted [m] (bool)."""
        model = self.model

        def energy(z, ll):  # U(z) = -log p(z) - beta log p(x | z)   [m], float64
            return -model.log_prior(z).double() - beta * ll

        def force(z, grad_ll):  # -dU/dz
            return model.grad_log_prior(z) + beta * grad_ll

        eps = step[:, None]
        p0 = torch.randn(self.z.shape, generator=generator, device=self.z.device, dtype=self.z.dtype)
        z, p = self.z, p0 + 0.5 * eps * force(self.z, self.grad_ll)
        for i in range(leapfrog):
            z, p = model.reflect(z + eps * p, p)
            ll, grad_ll = model.log_likelihood(z)
            p = p + (eps if i < leapfrog - 1 else 0.5 * eps) * force(z, grad_ll)
        current = energy(self.z, self.ll) + 0.5 * (p0.double() ** 2).sum(1)
        proposed = energy(z, ll) + 0.5 * (p.double() ** 2).sum(1)
        u = torch.rand(len(z), generator=generator, device=z.device, dtype=torch.float64)
        accept = torch.log(u) < (current - proposed)  # Metropolis on H = U + |p|^2 / 2 (NaN: rejected)
        self.z = torch.where(accept[:, None], z, self.z)
        self.ll = torch.where(accept, ll, self.ll)
        self.grad_ll = torch.where(accept[:, None], grad_ll, self.grad_ll)
        self.acceptance_sum += accept.double().mean()  # stays on the device: no host read per transition
        self.transitions += 1
        return accept

    def acceptance(self) -> float:
        """The mean acceptance rate over every transition so far."""
        return float(self.acceptance_sum) / max(self.transitions, 1)


def _log_mean_exp(log_w: torch.Tensor) -> torch.Tensor:
    """log of the mean of exp over the last axis (chains)."""
    return torch.logsumexp(log_w, -1) - math.log(log_w.shape[-1])


@dataclass(frozen=True)
class Estimate:
    log_p: torch.Tensor  # [n] per image (float64, CPU)
    acceptance: float  # HMC's mean acceptance rate (the step sizes aim at 0.65)
    step_sizes: torch.Tensor  # [T, n]: the leapfrog step size of transition t for image i


@contextlib.contextmanager
def _gradients_in_z_only(generator: torch.nn.Module):
    """G in eval mode (no dropout) with its weights frozen, restored afterwards."""
    was_training = generator.training
    requires = [p.requires_grad for p in generator.parameters()]
    generator.eval()
    for p in generator.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, r in zip(generator.parameters(), requires):
            p.requires_grad_(r)
        generator.train(was_training)


def _tune_step_sizes(model: LatentModel, z: torch.Tensor, betas: list[float], settings: AISSettings,
                     generator: torch.Generator, progress: Progress) -> torch.Tensor:
    """A pilot forward pass, one chain per image, whose step sizes follow log eps += RATE (accepted - 0.65):
    the schedule [T, n] the estimating chains then use as fixed. (Chains that adapt their own step sizes
    to their own acceptances make each transition depend on the chain's past, which biases the weights:
    on tests/metrics/test_ais.py's linear-Gaussian decoder, 2,000 distributions, 40 images, such chains
    came out 0.13 +- 0.02 nats low; with this fixed schedule 0.01 +- 0.02.)"""
    chains = _Chains(model, z)
    step = torch.full((len(z),), settings.step_size, dtype=z.dtype, device=z.device)
    schedule = []
    for t in range(1, len(betas)):
        schedule.append(step)
        accepted = chains.hmc(betas[t], settings.leapfrog, step, generator)
        step = (step * torch.exp(ADAPT_RATE * (accepted.to(step.dtype) - TARGET_ACCEPTANCE))).clamp(*STEP_SIZE_RANGE)
        progress.update()
    return torch.stack(schedule)


@torch.no_grad()
def ais(generator: torch.nn.Module, x: torch.Tensor, variance: float, settings: AISSettings | None = None,
        seed: int = 0, reverse_from: torch.Tensor | None = None, step_sizes: torch.Tensor | None = None,
        desc: str | None = None) -> Estimate:
    """log p(x_i) estimates for images x [n, ...] under G with observation variance s^2.

    Forward from the prior (a stochastic lower bound); with `reverse_from` [n, d], each image's exact
    posterior sample z*, backward from it instead (BDMC's stochastic upper bound). The step sizes
    come from `step_sizes` [T, n] (a forward estimate's), else from a pilot pass. `desc` shows progress."""
    settings = settings or AISSettings()
    device = next(generator.parameters()).device
    n, c = len(x), settings.chains
    betas = sigmoid_schedule(settings.steps).tolist()
    draw = torch.Generator().manual_seed(seed)  # initial z: on the CPU, the same on every device
    rng = torch.Generator(device=device).manual_seed(seed)  # momenta and Metropolis tests
    progress = Progress(settings.steps * (2 if step_sizes is None else 1), desc or "AIS", unit="distribution",
                        enabled=desc is not None)
    with _gradients_in_z_only(generator):
        x = x.to(device)
        if step_sizes is None:
            pilot = LatentModel(generator, x, variance, 1)
            step_sizes = _tune_step_sizes(pilot, generator.sample_z(n, draw, device="cpu").to(device), betas,
                                          settings, rng, progress)
        steps = step_sizes.to(device).repeat_interleave(c, 1)  # [T, n * c]
        model = LatentModel(generator, x, variance, c)
        if reverse_from is None:
            chains = _Chains(model, generator.sample_z(n * c, draw, device="cpu").to(device))
        else:
            chains = _Chains(model, reverse_from.to(device).repeat_interleave(c, 0))
        log_w = torch.zeros(n * c, dtype=torch.float64, device=device)
        if reverse_from is None:
            for t in range(1, settings.steps + 1):
                log_w += (betas[t] - betas[t - 1]) * chains.ll  # f_t(z_(t-1)) / f_(t-1)(z_(t-1))
                chains.hmc(betas[t], settings.leapfrog, steps[t - 1], rng)  # leaves f_t invariant
                progress.update()
            estimate = _log_mean_exp(log_w.view(n, c))
        else:
            for t in range(settings.steps, 0, -1):
                log_w -= (betas[t] - betas[t - 1]) * chains.ll  # f_(t-1)(z_t) / f_t(z_t)
                if t > 1:
                    chains.hmc(betas[t - 1], settings.leapfrog, steps[t - 2], rng)  # leaves f_(t-1) invariant
                progress.update()
            estimate = -_log_mean_exp(log_w.view(n, c))  # the reverse weights estimate 1 / p(x)
    progress.close()
    return Estimate(estimate.cpu(), chains.acceptance(), step_sizes.cpu())


@torch.no_grad()
def simulate(generator: torch.nn.Module, n: int, variance: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n images from the model itself, x = G(z*) + s eps, with their exact posterior samples z* [n, d]."""
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    z = generator.sample_z(n, rng, device="cpu")
    was_training = generator.training
    generator.eval()
    mean = generator(z.to(device)).cpu()
    generator.train(was_training)
    return mean + math.sqrt(variance) * torch.randn(mean.shape, generator=rng), z


def bdmc(generator: torch.nn.Module, variance: float, settings: AISSettings, n: int = N_SIMULATED, seed: int = 0,
         show: bool = False) -> dict[str, float]:
    """Forward (lower) and reverse (upper) bounds on n images simulated from the model, and their gap."""
    x, z = simulate(generator, n, variance, seed)
    forward = ais(generator, x, variance, settings, seed, desc="BDMC forward" if show else None)
    lower = forward.log_p
    upper = ais(generator, x, variance, settings, seed + 1, reverse_from=z, step_sizes=forward.step_sizes,
                desc="BDMC reverse" if show else None).log_p
    return {"bdmc_lower": float(lower.mean()), "bdmc_upper": float(upper.mean()),
            "bdmc_gap": float((upper - lower).mean()), "bdmc_images": n}


def choose_variance(generator: torch.nn.Module, valid: torch.Tensor, settings: AISSettings, seed: int = 0,
                    grid: tuple[float, ...] = VARIANCE_GRID, show: bool = False) -> tuple[float, dict[str, float]]:
    """The s^2 of `grid` with the best mean forward AIS estimate on the validation images `valid`."""
    scores = {}
    for variance in grid:
        desc = f"AIS, s^2 = {variance:g} on {len(valid)} validation images" if show else None
        scores[f"{variance:g}"] = float(ais(generator, valid, variance, settings, seed, desc=desc).log_p.mean())
    best = max(grid, key=lambda v: scores[f"{v:g}"])
    return best, scores


def score_ais(snap, request: MetricRequest) -> dict[str, Any]:
    generator = snap.generator
    default = AISSettings()
    settings = AISSettings(steps=request.ais_steps or default.steps, chains=request.chains or default.chains,
                           leapfrog=request.leapfrog or default.leapfrog)
    data, data_dir = snap.config.data, request.data_dir
    if request.variance is not None:
        variance, validation = request.variance, {}
    else:
        valid, _ = preprocessing.load_images(data, "valid", data_dir)
        selection = dataclasses.replace(settings, steps=max(settings.steps // 4, 1))
        variance, validation = choose_variance(generator, valid[:N_VALID], selection, request.seed, show=True)
    test, _ = preprocessing.load_images(data, "test", data_dir)
    test = test[: request.n_samples]
    estimate = ais(generator, test, variance, settings, request.seed, desc=f"AIS ({len(test)} test images)")
    log_p = estimate.log_p
    checked = bdmc(generator, variance, settings, seed=request.seed + 10_000, show=True)
    row = {"log_likelihood": float(log_p.mean()), "se": float(log_p.std() / math.sqrt(len(log_p)))
           if len(log_p) > 1 else None, "variance": variance, "valid_scores": validation,
           "n_test": len(test), "steps": settings.steps, "chains": settings.chains, "leapfrog": settings.leapfrog,
           "acceptance": estimate.acceptance, **checked, **convergence(checked["bdmc_gap"], settings),
           "n_samples": len(test)}
    chosen = grid_edge(variance, VARIANCE_GRID, "AIS's s^2 (chosen on validation)") if validation else []
    return with_warnings(row, chosen)


def convergence(gap: float, settings: AISSettings) -> dict[str, Any]:
    """`converged` (the BDMC gap at most CONVERGED_GAP nats) and, when it is not, a one-line `warning` that says
    by how much the number may be low and what to change."""
    if gap <= CONVERGED_GAP:
        return {"converged": True}
    return {"converged": False,
            "warning": f"AIS has not converged: its BDMC gap on simulated data is {gap:.1f} nats (over "
                       f"{CONVERGED_GAP:g}), so log_likelihood may be that much too low; raise --ais-steps "
                       f"(now {settings.steps:,}) or --chains (now {settings.chains})"}


METRIC = Metric(
    name="ais", summary="log-likelihood (nats) by annealed importance sampling with a Gaussian observation model "
                        "(Wu et al. 2017), s^2 chosen on validation, and its BDMC gap on simulated data",
    compute=score_ais, needs=("image-data", "whole-images", "unconditional"), default_n=100,
    n_counts="test images (default: 100 test images, 10,000 distributions, 4 chains, 5 leapfrog steps)",
    headline=("log_likelihood", "AIS log-likelihood (nats)"), columns=("log_likelihood", "bdmc_gap"),
    options=("ais_steps", "chains", "leapfrog", "variance"))
