"""AIS checked where log p(x) is known exactly: a linear decoder at MNIST's sizes (docs/evaluation.md, "AIS").

G(z) = W z + b with W = Q diag(w) [784, 100] (orthonormal columns q_k, scales w_k), observation variance s^2.
Projecting x - b on the columns, u_k = q_k.(x - b), leaves independent one-dimensional integrals and a residual
r = (I - Q Q^T)(x - b) that no z explains:

    log p(x) = -|r|^2 / (2 s^2) - (D - d)/2 log(2 pi s^2) + sum_k log p(u_k)
    Gaussian prior z ~ N(0, I):           p(u_k) = N(u_k; 0, w_k^2 + s^2)
    the paper's box U(-a, a), a = sqrt 3: p(u_k) = [Phi((w_k a - u_k) / s) - Phi((-w_k a - u_k) / s)] / (2 a w_k)

`check(prior, settings)` simulates images from the decoder, runs AIS forward (and backward from the true z, for
the BDMC gap) and returns the forward estimate's error against the exact value: the bias the number advnets
reports would have on a model of this size and sharpness.
"""

from __future__ import annotations

import math

import torch

from advnets.metrics import ais
from advnets.models.mlp import sample_prior

X_DIM, Z_DIM, VARIANCE = 784, 100, 0.02  # MNIST's sizes; s^2 in the range the metric chooses for GANs
WEIGHT_STD = 784 ** -0.5  # W's entries before orthogonalising: column scales near 1, posteriors 0.14 wide per dimension


class LinearDecoder(torch.nn.Module):
    """G(z) = W z + b with orthonormal columns scaled by w: a decoder whose log p(x) is exact (module docstring)."""

    def __init__(self, prior: str, seed: int = 0, x_dim: int = X_DIM, z_dim: int = Z_DIM):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        raw = WEIGHT_STD * torch.randn(x_dim, z_dim, generator=g, dtype=torch.float64)
        q, _ = torch.linalg.qr(raw)  # [x_dim, z_dim], orthonormal columns
        self.q, self.scales = q, raw.norm(dim=0)  # w_k
        self.weight = torch.nn.Parameter((q * self.scales).float())
        self.bias = torch.nn.Parameter((0.5 + 0.1 * torch.randn(x_dim, generator=g, dtype=torch.float64)).float())
        self.prior, self.z_dim, self.x_shape = prior, z_dim, (x_dim,)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.weight.T + self.bias

    def sample_z(self, n, generator=None, device="cpu"):
        return sample_prior(n, self.z_dim, self.prior, generator, device)

    def exact_log_p(self, x: torch.Tensor, variance: float) -> torch.Tensor:
        """log p(x) [n] in closed form (float64), for x [n, D]."""
        centred = x.double() - self.bias.detach().double()
        u = centred @ self.q  # [n, d]
        residual = centred - u @ self.q.T
        d_perp = x.shape[1] - self.z_dim
        log_p = -(residual**2).sum(1) / (2 * variance) - 0.5 * d_perp * math.log(2 * math.pi * variance)
        w, s = self.scales, math.sqrt(variance)
        if self.prior == "gaussian":
            var_u = w**2 + variance
            return log_p + (-(u**2) / (2 * var_u) - 0.5 * torch.log(2 * math.pi * var_u)).sum(1)
        a = math.sqrt(3.0)
        upper = torch.special.log_ndtr((w * a - u) / s)
        lower = torch.special.log_ndtr((-w * a - u) / s)
        log_mass = upper + torch.log1p(-torch.exp(lower - upper))  # log(Phi(hi) - Phi(lo)), stable
        return log_p + (log_mass - torch.log(2 * a * w)).sum(1)


def check(prior: str, settings: ais.AISSettings, n_images: int = 10, seed: int = 0,
          reverse: bool = True) -> dict[str, float]:
    """Forward AIS on n_images simulated from the linear decoder of `prior`: its mean error against the exact
    log p(x) (negative: biased low) with the standard error over images, and the BDMC gap (reverse - forward)."""
    decoder = LinearDecoder(prior, seed)
    x, z = ais.simulate(decoder, n_images, VARIANCE, seed + 1)
    exact = decoder.exact_log_p(x, VARIANCE)
    forward = ais.ais(decoder, x, VARIANCE, settings, seed + 2)
    error = forward.log_p - exact
    row = {"prior": prior, "steps": settings.steps, "chains": settings.chains, "leapfrog": settings.leapfrog,
           "bias": float(error.mean()), "bias_se": float(error.std() / math.sqrt(len(error))),
           "exact_mean": float(exact.mean()), "acceptance": forward.acceptance}
    if reverse:
        upper = ais.ais(decoder, x, VARIANCE, settings, seed + 3, reverse_from=z, step_sizes=forward.step_sizes)
        row["bdmc_gap"] = float((upper.log_p - forward.log_p).mean())
    return row


def main(argv: list[str] | None = None) -> int:
    """python -m advnets.metrics.ais_check --steps 1000,10000: one JSON line per prior and schedule length."""
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="1000,10000", help="schedule lengths, comma-separated")
    parser.add_argument("--images", type=int, default=10, help="images simulated from the decoder")
    parser.add_argument("--priors", default="gaussian,uniform")
    args = parser.parse_args(argv)
    for steps in (int(s) for s in args.steps.split(",")):
        for prior in args.priors.split(","):
            started = time.perf_counter()
            row = check(prior, ais.AISSettings(steps=steps), n_images=args.images)
            print(json.dumps({**row, "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
