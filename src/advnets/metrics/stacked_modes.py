"""Mode coverage on Stacked MNIST (docs/protocols.md): 26,000 samples, each channel labelled by the
shipped MNIST classifier, the mode (d1, d2, d3) counted; reported: how many of the 1,000 modes appear
(the literature's raw count, and a count corrected for the classifier's misreads, measured on real
stacked test images) and KL(mode histogram || uniform over 1,000). Published raw counts / KL
(DCGAN-sized models): DCGAN 99 / 3.40, ALI 16 / 5.40, Unrolled GAN 48.7 / 4.32, VEEGAN 150 / 2.95,
PacDCGAN2 1000 / 0.06.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from advnets.batching import apply_in_batches
from advnets.classifier import classifier_for, classifier_provenance
from advnets.data import registry as datasets
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import generate

N_MODES = 1000
DIGITS = 10
CONFIDENT = 0.9  # a channel is read confidently when the classifier gives its digit at least this probability
LEAK_Z = 3.0  # a mode counts (corrected) when its samples exceed the misreads expected into it by 3 std devs
EM_ITERATIONS = 2000


def read_channels(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The digit the shipped classifier reads in each channel [N, 3], and whether it read all three with
    probability >= CONFIDENT [N], for stacked images [N, 3, 28, 28] in [0, 1]."""
    classifier = classifier_for("mnist")  # in evaluation mode
    with torch.no_grad():
        probs = [apply_in_batches(lambda b: torch.softmax(classifier(b.float()), 1), images[:, c : c + 1], 1000)
                 for c in range(images.shape[1])]  # 3 x [N, 10]
    digits = torch.stack([p.argmax(1) for p in probs], 1)
    confident = torch.stack([p.max(1).values for p in probs], 1).min(1).values >= CONFIDENT
    return digits, confident


def confusion_matrix(real: torch.Tensor, modes: torch.Tensor) -> torch.Tensor:
    """C[t, r] = P(the classifier reads r | a channel holds digit t) [10, 10], float64, measured on real stacked
    images [N, 3, 28, 28] whose modes 100 d1 + 10 d2 + d3 are known (the test split: 30,000 channels)."""
    digits, _ = read_channels(real)
    truth = torch.stack([modes // 100, modes // 10 % 10, modes % 10], 1)
    counts = torch.bincount((truth * DIGITS + digits).flatten(), minlength=DIGITS * DIGITS).double()
    counts = counts.reshape(DIGITS, DIGITS)
    return counts / counts.sum(1, keepdim=True).clamp_min(1)


def corrected_mode_count(modes: torch.Tensor, confusion: torch.Tensor) -> dict[str, Any]:
    """Modes of the read labels [N] that misreads do not explain. With K = C (x) C (x) C [1000, 1000], the chance
    that a stack of true mode t is read as mode r (channels misread independently), the read histogram is
    q = p K for the true mode shares p. p is estimated by maximum likelihood (EM, p <- p * K (q / p K)); mode r
    counts when its n_r samples exceed lambda_r = N sum_{t != r} p_t K[t, r], the misreads expected into it from
    the other modes, by LEAK_Z Poisson standard deviations and by at least one sample:
    n_r >= lambda_r + LEAK_Z sqrt(lambda_r) and n_r - lambda_r >= 1. It assumes the samples are digits the
    classifier misreads as it misreads real ones (blurred samples are misread more: the count is then still
    an upper bound)."""
    K = torch.einsum("ad,be,cf->abcdef", confusion, confusion, confusion).reshape(N_MODES, N_MODES)
    n = len(modes)
    observed = torch.bincount(modes, minlength=N_MODES).double()  # [1000]
    q = observed / n
    p = torch.full((N_MODES,), 1.0 / N_MODES, dtype=torch.float64)
    for _ in range(EM_ITERATIONS):
        p = p * (K @ (q / (p @ K).clamp_min(1e-300)))
    leak = n * (p @ K - p * K.diagonal())  # [1000] expected misreads into each mode from the others
    counted = (observed >= leak + LEAK_Z * leak.sqrt()) & (observed - leak >= 1)
    return {"modes_corrected": int(counted.sum()), "misread_samples_expected": float(leak.sum())}


def mode_statistics(images: torch.Tensor, confusion: torch.Tensor | None = None) -> dict[str, Any]:
    """Modes covered and KL to uniform for stacked images [N, 3, 28, 28] in [0, 1]; and the same counted
    over the samples whose three digits the classifier reads confidently (the classifier names *a* digit
    for any image, so blurred or ambiguous samples also land in modes: `confident_share` says how many
    are clear, 0.91 for real test images). With the classifier's `confusion` matrix (confusion_matrix), also
    the count corrected for its misreads (corrected_mode_count): each misread stack lands in a new mode."""
    digits, confident = read_channels(images)
    modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    covered, kl = _coverage(modes)
    covered_confidently = _coverage(modes[confident])[0] if confident.any() else 0
    corrected = corrected_mode_count(modes, confusion) if confusion is not None else {}
    return {"modes": covered, **corrected, "kl_uniform": kl, "max_kl": math.log(N_MODES),
            "modes_confident": covered_confidently, "confident_share": float(confident.double().mean())}


def _coverage(modes: torch.Tensor) -> tuple[int, float]:
    """(modes seen, KL(histogram || uniform over N_MODES)) of mode labels [N]."""
    counts = torch.bincount(modes, minlength=N_MODES).double()
    p = counts / counts.sum()
    seen = p > 0
    return int(seen.sum()), float((p[seen] * torch.log(p[seen] * N_MODES)).sum())


@functools.lru_cache(maxsize=2)
def test_split_confusion(data_dir: str | None) -> torch.Tensor:
    """The classifier's confusion matrix on the stacked test split of `data_dir`, measured once per process
    (`--seeds` asks for it once per seed)."""
    real, real_modes = datasets.get("stacked-mnist").load_images("test", data_dir)
    return confusion_matrix(real, real_modes)


def score_stacked(snap, request: MetricRequest) -> dict[str, Any]:
    samples = generate(snap.generator, request.n_samples, seed=request.seed, device=request.device)
    confusion = test_split_confusion(request.data_dir or snap.config.data.dir)
    return {**mode_statistics(samples, confusion), "n_samples": request.n_samples,
            "confusion_from": "stacked-mnist test split", **classifier_provenance("mnist")}


METRIC = Metric(
    name="stacked-modes", summary="(Stacked MNIST) modes covered of 1,000 and KL to uniform, each channel labelled "
                                  "by the shipped MNIST classifier",
    compute=score_stacked, needs=("whole-images", "stacked-mnist"), default_n=26_000, n_counts="samples of G",
    headline=("modes_corrected", "modes covered, corrected for misreads"),
    columns=("modes_corrected", "modes", "kl_uniform", "modes_confident", "confident_share"))
