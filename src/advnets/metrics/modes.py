"""Mode collapse on the 2-D mixtures, measured (``docs/protocols.md``, PacGAN/VEEGAN protocol).

For samples x_1..x_n and the mixture's K mode centres mu_k with standard deviation s:

- a sample is *high quality* if it lies within 3 s of its nearest mode;
- a mode is *captured* if at least one high-quality sample is nearest to it;
- the reverse KL is KL(q || uniform) = sum_k q_k log(K q_k), with q the histogram of high-quality
  samples over modes (0 when every mode holds the same share; log K when all sit on one mode).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from advnets.data import registry as datasets
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import generate


@dataclass
class ModeReport:
    modes: int  # modes captured
    total_modes: int
    high_quality: float  # % of samples within 3 std of a mode
    reverse_kl: float | None  # None when no sample is of high quality
    counts: list[int]  # high-quality samples per mode
    n_samples: int

    def as_dict(self) -> dict:
        return asdict(self)


def mode_report(samples: torch.Tensor, centres: torch.Tensor, std: float) -> ModeReport:
    """Score samples [n, 2] against mode centres [K, 2] of common standard deviation std."""
    dist = torch.cdist(samples.double(), centres.double())  # [n, K]
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= 3 * std  # [n]
    counts = torch.bincount(nearest[good], minlength=len(centres))  # [K]
    n_good = int(counts.sum())
    reverse_kl = None
    if n_good:
        q = counts.double() / n_good
        reverse_kl = float((q[q > 0] * torch.log(q[q > 0] * len(centres))).sum())
    return ModeReport(
        modes=int((counts > 0).sum()), total_modes=len(centres),
        high_quality=100.0 * n_good / max(len(samples), 1), reverse_kl=reverse_kl,
        counts=counts.tolist(), n_samples=len(samples),
    )


def uniform_kl_bound(k: int) -> float:
    """The largest possible reverse KL (every sample on one mode): log K."""
    return math.log(k)


def score_modes(snap, request: MetricRequest) -> dict[str, Any]:
    """request.n_samples samples of `snap`'s G (seed request.seed) against its run's mixture."""
    mixture = datasets.get(snap.config.data.name).mixture(snap.config.data)
    samples = generate(snap.generator, request.n_samples, seed=request.seed)  # [n, 2]
    return mode_report(samples, mixture.means, float(mixture.stds[0])).as_dict()


METRIC = Metric(
    name="modes", summary="modes captured, % high-quality samples and reverse KL on a 2-D mixture",
    compute=score_modes, needs=("mixture-2d",), default_n=2_500,
    n_counts="samples of G (the published protocol's)", headline=("modes", "modes captured"),
    columns=("modes", "high_quality", "reverse_kl"))
