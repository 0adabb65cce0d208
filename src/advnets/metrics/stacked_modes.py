"""Mode coverage on Stacked MNIST (docs/protocols.md): 26,000 samples, each channel labelled by the
shipped MNIST classifier, the mode (d1, d2, d3) counted; reported: how many of the 1,000 modes appear
(the literature's raw count, and a count corrected for the classifier's misreads, their rates measured on
MNIST's test digits and taken at upper bounds; checked on stacks of training digits) and KL(mode histogram ||
uniform over 1,000). Published raw counts / KL
(DCGAN-sized models): DCGAN 99 / 3.40, ALI 16 / 5.40, Unrolled GAN 48.7 / 4.32, VEEGAN 150 / 2.95,
PacDCGAN2 1000 / 0.06.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

import torch

from advnets.batching import apply_in_batches
from advnets.classifier import classifier_for, classifier_provenance
from advnets.data import registry as datasets
from advnets.errors import ConfigError
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import generate

if TYPE_CHECKING:
    from advnets.metrics.image_sets import ImageSet

N_MODES = 1000
DIGITS = 10
CONFIDENT = 0.9  # a channel is read confidently when the classifier gives its digit at least this probability
LEAK_Z = 3.0  # a mode counts (corrected) when its samples exceed the misreads expected into it by 3 std devs
# The misread rates the correction expects: each one's 85% upper credible bound given the ~1,000 test digits it
# was measured on (chosen on sets of training digits, seeds 0-8; checked on seeds 10-19: docs/evaluation.md)
MISREAD_QUANTILE = 0.85
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


def confusion_counts(digits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """N[t, r] = how many of the single digits [N, 1, 28, 28] labelled t [N] the classifier reads as r [10, 10]
    (float64): the data of the confusion matrix. The correction takes them from MNIST's test digits
    (test_split_confusion: about 1,000 per digit)."""
    read, _ = read_channels(digits)
    return torch.bincount(labels.long() * DIGITS + read[:, 0], minlength=DIGITS * DIGITS).double().reshape(DIGITS,
                                                                                                          DIGITS)


def confusion_bounds(counts: torch.Tensor, quantile: float = MISREAD_QUANTILE) -> tuple[torch.Tensor, torch.Tensor]:
    """(C, C_up) [10, 10] from confusion counts N[t, r]: C = N[t, r] / N[t] the misread rates as measured, and C_up
    their `quantile` upper credible bounds, Beta(N[t, r] + 1/2, N[t] - N[t, r] + 1/2) (Jeffreys prior) off the
    diagonal, C's diagonal on it. A cell that read 0 of ~1,000 digits is not a rate of 0: the next writer's
    digits may be misread so (MNIST's training digits are, into cells its test digits never reached)."""
    from scipy.stats import beta

    n = counts.sum(1, keepdim=True).clamp_min(1)
    rates = counts / n
    upper = torch.from_numpy(beta.ppf(quantile, (counts + 0.5).numpy(), (n - counts + 0.5).numpy()))
    upper = torch.where(torch.eye(DIGITS, dtype=torch.bool), rates, upper.to(rates.dtype))
    return rates, upper


def _stack_channels(confusion: torch.Tensor) -> torch.Tensor:
    """K [1000, 1000] = C (x) C (x) C: the chance that a stack of true mode t is read as mode r (channels misread
    independently)."""
    return torch.einsum("ad,be,cf->abcdef", confusion, confusion, confusion).reshape(N_MODES, N_MODES)


def corrected_mode_count(modes: torch.Tensor, counts: torch.Tensor) -> dict[str, Any]:
    """Modes of the read labels [N] that misreads do not explain, given the classifier's confusion counts
    N[t, r] (confusion_counts). The read histogram is q = p K for the true mode shares p, K = C (x) C (x) C; p is
    estimated by maximum likelihood (EM, p <- p * K (q / p K)). Mode r counts when its n_r samples exceed
    lambda_r = N sum_{t != r} p_t K_up[t, r], the misreads expected into it from the other modes at the upper
    bounds of the misread rates (confusion_bounds), by LEAK_Z Poisson standard deviations and by at least one
    sample: n_r >= lambda_r + LEAK_Z sqrt(lambda_r) and n_r - lambda_r >= 1.

    Checked out of sample (experiments/stacked_out_of_sample.py, docs/evaluation.md): on sets of MNIST's
    *training* digits with 1 to 1,000 true modes it counts within 10% of the truth, or within 2 modes below
    20. It assumes the samples are digits the classifier misreads about as it misreads real ones: blurred
    samples are misread more, and a rare true mode next to one holding most samples is indistinguishable
    from that mode's misreads (it is then not counted)."""
    rates, upper = confusion_bounds(counts)
    K, K_up = _stack_channels(rates), _stack_channels(upper)
    n = len(modes)
    observed = torch.bincount(modes, minlength=N_MODES).double()  # [1000]
    q = observed / n
    p = torch.full((N_MODES,), 1.0 / N_MODES, dtype=torch.float64)
    for _ in range(EM_ITERATIONS):
        p = p * (K @ (q / (p @ K).clamp_min(1e-300)))
    leak = n * (p @ K_up - p * K_up.diagonal())  # [1000] misreads expected into each mode from the others
    counted = (observed >= leak + LEAK_Z * leak.sqrt()) & (observed - leak >= 1)
    return {"modes_corrected": int(counted.sum()), "misread_samples_expected": float(leak.sum())}


def mode_statistics(images: torch.Tensor, confusion: torch.Tensor | None = None) -> dict[str, Any]:
    """Modes covered and KL to uniform for stacked images [N, 3, 28, 28] in [0, 1]; and the same counted
    over the samples whose three digits the classifier reads confidently (the classifier names *a* digit
    for any image, so blurred or ambiguous samples also land in modes: `confident_share` says how many
    are clear, 0.91 for real test images). With the classifier's `confusion` counts (confusion_counts), also
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
    """The classifier's confusion counts on MNIST's 10,000 test digits in `data_dir` (the digits of the stacked
    test split, each once), measured once per process (`--seeds` asks for it once per seed)."""
    digits, labels = datasets.get("mnist").load_images("test", data_dir)
    return confusion_counts(digits, labels)


def score_stacked(snap, request: MetricRequest) -> dict[str, Any]:
    samples = generate(snap.generator, request.n_samples, seed=request.seed, device=request.device)
    confusion = test_split_confusion(request.data_dir or snap.config.data.dir)
    return {**mode_statistics(samples, confusion), "n_samples": request.n_samples,
            "confusion_from": "MNIST test digits", **classifier_provenance("mnist")}


def score_stacked_images(samples: "ImageSet", request: MetricRequest) -> dict[str, Any]:
    """--metric stacked-modes of any stacked images [N, 3, 28, 28] (no reference: the modes are the digits)."""
    if samples.x_shape != [3, 28, 28]:
        raise ConfigError(f"--metric stacked-modes reads stacked MNIST images [3, 28, 28] (a digit per channel); "
                          f"{samples.what} holds {samples.x_shape}")
    confusion = test_split_confusion(request.data_dir)
    return {**mode_statistics(samples.images, confusion), "n_samples": samples.count,
            "confusion_from": "MNIST test digits", **classifier_provenance("mnist")}


METRIC = Metric(
    name="stacked-modes", summary="(Stacked MNIST) modes covered of 1,000 and KL to uniform, each channel labelled "
                                  "by the shipped MNIST classifier",
    compute=score_stacked, needs=("whole-images", "stacked-mnist"), default_n=26_000, n_counts="samples of G",
    headline=("modes_corrected", "modes covered, corrected for misreads"),
    columns=("modes_corrected", "modes", "kl_uniform", "modes_confident", "confident_share"),
    on_images=score_stacked_images)
