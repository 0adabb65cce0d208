"""Parzen-window log-likelihood, the paper's Table 1 protocol (``shared/paper.md`` section 5).

Isotropic Gaussian kernels of width s are placed on n samples mu_j of the model:

    log p(x) = logmeanexp_j( -|x - mu_j|^2 / (2 s^2) ) - d log(s sqrt(2 pi))

s is chosen from logspace(-1, 0, 10) by the best *mean* log-likelihood of the validation images;
the reported number is the mean over the test images and its standard error std / sqrt(N).

Squared distances come from |x|^2 - 2 x.mu + |mu|^2 in float64 (never the [batch, n, d] difference
tensor), computed once per block of x and reused for every s; the log-mean-exp is float64 too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

SIGMA_GRID = tuple(float(s) for s in np.logspace(-1, 0, 10))  # 0.1 ... 1.0


def squared_distances(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """|x_i - mu_j|^2 for x [b, d] and centres [n, d], as float64 [b, n], clamped at 0."""
    x, centres = x.double(), centres.double()
    sq = (x * x).sum(1, keepdim=True) - 2.0 * x @ centres.T + (centres * centres).sum(1)[None, :]
    return sq.clamp_min_(0.0)


def parzen_log_likelihood(x: torch.Tensor, centres: torch.Tensor, sigmas: tuple[float, ...] | list[float],
                          batch_size: int = 500) -> torch.Tensor:
    """log p(x_i) under the Parzen window of each sigma: float64 [len(sigmas), N], on x's device."""
    x = x.reshape(len(x), -1)
    centres = centres.reshape(len(centres), -1).to(x.device)
    n, d = centres.shape
    sig = torch.tensor(list(sigmas), dtype=torch.float64, device=x.device)  # [S]
    log_norm = d * torch.log(sig * math.sqrt(2 * math.pi)) + math.log(n)  # [S]
    out = []
    for start in range(0, len(x), batch_size):
        sq = squared_distances(x[start : start + batch_size], centres)  # [b, n]
        # [S, b]: log sum_j exp(-sq / (2 s^2)) - log n - d log(s sqrt(2 pi))
        scores = torch.stack([torch.logsumexp(sq * (-0.5 / s**2), dim=1) for s in sigmas])
        out.append(scores - log_norm[:, None])
    return torch.cat(out, dim=1)


@dataclass
class ParzenResult:
    """The protocol's outcome: test mean and standard error at the sigma chosen on validation."""

    mean: float
    se: float
    sigma: float
    valid_scores: dict[str, float] = field(default_factory=dict)  # sigma -> mean validation log-likelihood
    n_samples: int = 0
    n_valid: int = 0
    n_test: int = 0


def parzen_protocol(centres: torch.Tensor, valid: torch.Tensor, test: torch.Tensor,
                    sigmas: tuple[float, ...] = SIGMA_GRID, batch_size: int = 500) -> ParzenResult:
    """Choose sigma on `valid` (best mean), then score `test`; all in [0, 1] pixel units."""
    valid_ll = parzen_log_likelihood(valid, centres, sigmas, batch_size).mean(dim=1)  # [S]
    best = int(torch.argmax(valid_ll))
    test_ll = parzen_log_likelihood(test, centres, (sigmas[best],), batch_size)[0]  # [N_test]
    se = test_ll.std(unbiased=True) / math.sqrt(len(test_ll)) if len(test_ll) > 1 else torch.tensor(float("nan"))
    return ParzenResult(
        mean=float(test_ll.mean()), se=float(se), sigma=sigmas[best],
        valid_scores={f"{s:.4f}": float(v) for s, v in zip(sigmas, valid_ll)},
        n_samples=len(centres), n_valid=len(valid), n_test=len(test),
    )
