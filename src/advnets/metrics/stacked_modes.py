"""Mode coverage on Stacked MNIST (shared/evaluation.md): 26,000 samples, each channel labelled by the
shipped MNIST classifier, the mode (d1, d2, d3) counted; reported: how many of the 1,000 modes appear
and KL(mode histogram || uniform over 1,000). Published (DCGAN-sized models): DCGAN 99 / 3.40, ALI
16 / 5.40, Unrolled GAN 48.7 / 4.32, VEEGAN 150 / 2.95, PacDCGAN2 1000 / 0.06.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from advnets.classifier import classifier_for, classifier_provenance
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import generate

N_MODES = 1000


def mode_statistics(images: torch.Tensor) -> dict[str, Any]:
    """Modes covered and KL to uniform for stacked images [N, 3, 28, 28] in [0, 1]."""
    classifier = classifier_for("mnist")
    digits = [classifier.predict(images[:, c : c + 1]) for c in range(images.shape[1])]  # 3 x [N]
    modes = digits[0] * 100 + digits[1] * 10 + digits[2]
    counts = torch.bincount(modes, minlength=N_MODES).double()
    p = counts / counts.sum()
    seen = p > 0
    kl = float((p[seen] * torch.log(p[seen] * N_MODES)).sum())
    return {"modes": int(seen.sum()), "kl_uniform": kl, "max_kl": math.log(N_MODES)}


def score_stacked(snap, request: MetricRequest) -> dict[str, Any]:
    samples = generate(snap.generator, request.n_samples, seed=request.seed, device=request.device)
    return {**mode_statistics(samples), "n_samples": request.n_samples, **classifier_provenance("mnist")}


METRIC = Metric(
    name="stacked-modes", summary="(Stacked MNIST) modes covered of 1,000 and KL to uniform, each channel labelled "
                                  "by the shipped MNIST classifier",
    compute=score_stacked, needs=("whole-images", "stacked-mnist"), default_n=26_000, n_counts="samples of G",
    headline=("modes", "modes covered"), columns=("modes", "kl_uniform"))
