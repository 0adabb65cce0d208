"""Mode coverage on Stacked MNIST (docs/protocols.md): 26,000 samples, each channel labelled by the
shipped MNIST classifier, the mode (d1, d2, d3) counted; reported: how many of the 1,000 modes appear
and KL(mode histogram || uniform over 1,000). Published (DCGAN-sized models): DCGAN 99 / 3.40, ALI
16 / 5.40, Unrolled GAN 48.7 / 4.32, VEEGAN 150 / 2.95, PacDCGAN2 1000 / 0.06.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from advnets.batching import apply_in_batches
from advnets.classifier import classifier_for, classifier_provenance
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import generate

N_MODES = 1000
CONFIDENT = 0.9  # a channel is read confidently when the classifier gives its digit at least this probability


def mode_statistics(images: torch.Tensor) -> dict[str, Any]:
    """Modes covered and KL to uniform for stacked images [N, 3, 28, 28] in [0, 1]; and the same counted
    over the samples whose three digits the classifier reads confidently (the classifier names *a* digit
    for any image, so blurred or ambiguous samples also land in modes: `confident_share` says how many
    are clear, 0.91 for real test images)."""
    classifier = classifier_for("mnist")  # in evaluation mode
    with torch.no_grad():
        probs = [apply_in_batches(lambda b: torch.softmax(classifier(b.float()), 1), images[:, c : c + 1], 1000)
                 for c in range(images.shape[1])]  # 3 x [N, 10]
    digits = [p.argmax(1) for p in probs]
    confident = torch.stack([p.max(1).values for p in probs], 1).min(1).values >= CONFIDENT  # [N]
    modes = digits[0] * 100 + digits[1] * 10 + digits[2]
    covered, kl = _coverage(modes)
    covered_confidently = _coverage(modes[confident])[0] if confident.any() else 0
    return {"modes": covered, "kl_uniform": kl, "max_kl": math.log(N_MODES),
            "modes_confident": covered_confidently, "confident_share": float(confident.double().mean())}


def _coverage(modes: torch.Tensor) -> tuple[int, float]:
    """(modes seen, KL(histogram || uniform over N_MODES)) of mode labels [N]."""
    counts = torch.bincount(modes, minlength=N_MODES).double()
    p = counts / counts.sum()
    seen = p > 0
    return int(seen.sum()), float((p[seen] * torch.log(p[seen] * N_MODES)).sum())


def score_stacked(snap, request: MetricRequest) -> dict[str, Any]:
    samples = generate(snap.generator, request.n_samples, seed=request.seed, device=request.device)
    return {**mode_statistics(samples), "n_samples": request.n_samples, **classifier_provenance("mnist")}


METRIC = Metric(
    name="stacked-modes", summary="(Stacked MNIST) modes covered of 1,000 and KL to uniform, each channel labelled "
                                  "by the shipped MNIST classifier",
    compute=score_stacked, needs=("whole-images", "stacked-mnist"), default_n=26_000, n_counts="samples of G",
    headline=("modes", "modes covered"), columns=("modes", "kl_uniform", "modes_confident", "confident_share"))
