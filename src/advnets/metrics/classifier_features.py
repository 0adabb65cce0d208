"""Feature-space metrics on the shipped MNIST classifier's penultimate features (``docs/protocols.md``):
the offline, download-free counterparts of FID, KID and precision/recall, named for what they are.

    fid_mnistclf          Frechet distance between Gaussians fitted to the features of G's samples and
                          of the test images:  |mu_g - mu_t|^2 + Tr(S_g + S_t - 2 (S_g S_t)^(1/2))
    kid_mnistclf (± se)   unbiased squared MMD with the cubic polynomial kernel k(a, b) = (a.b / d + 1)^3
                          (Binkowski et al. 2018): the U-statistic over all pairs of the two sets, with
                          its standard error; for sets over KID_ALL_PAIRS_MAX, the mean and standard
                          deviation over random subsets instead (kid_estimator says which)
    precision, recall     k = 3 nearest-neighbour manifolds (Kynkaanniemi et al. 2019)
    density, coverage     k = 5 (Naeem et al. 2020)
    class_histogram       the share of G's samples the classifier reads as each class, and its KL to
    class_kl_uniform      uniform (mode dropping: a generator of ones puts most of its mass on class 1)

Lower fid/kid are better; precision, recall and coverage lie in [0, 1], higher is better (density
can exceed 1). The Frechet distance is computed here from each set's mean and covariance (so that a saved
reference's statistics give the same number as its images, advnets.metrics.feature_stats; tests check it
against torchmetrics' and the formula), KID here (all pairs) or torchmetrics' (subsets), precision/recall and
density/coverage the prdc package's; tests check each against a direct computation. These are *not*
Inception-feature FID/KID: their numbers are not comparable to published FIDs, only to each other.

The features come from advnets.metrics.feature_networks (the test and validation splits' computed once per
file and classifier, cached in the user cache under both SHA-256s). Every row names the feature network and
its SHA-256.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import TYPE_CHECKING, Any

import torch

from advnets.classifier import classifier_for, classifier_provenance
from advnets.data import registry as datasets
from advnets.errors import ConfigError
from advnets.metrics.feature_networks import (classifier_features, feature_network,  # noqa: F401 (reference_features:
                                              reference_features, reference_stats)  # re-exported, where it was)
from advnets.metrics.spec import Metric, MetricRequest, require

if TYPE_CHECKING:
    from advnets.metrics.feature_stats import FeatureStats
    from advnets.metrics.image_sets import ImageSet

KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
KID_ALL_PAIRS_MAX = 50_000  # larger sets: the subset estimate (all pairs cost n^2 kernel values)
PR_K, DC_K = 3, 5


class _Identity(torch.nn.Module):
    """torchmetrics' feature extractor slot, given features [N, dim] already: they pass through."""

    def __init__(self, dim: int):
        super().__init__()
        self.num_features = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def frechet_from_moments(mean_real: torch.Tensor, cov_real: torch.Tensor, mean_fake: torch.Tensor,
                         cov_fake: torch.Tensor) -> float:
    """The Frechet distance of two Gaussians, |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)), with
    Tr (S_r S_g)^(1/2) the sum of the square roots of S_r S_g's eigenvalues (real parts), in float64."""
    mean_term = float((mean_real - mean_fake).square().sum())
    root_trace = float(torch.linalg.eigvals(cov_real @ cov_fake).sqrt().real.sum())
    return mean_term + float(cov_real.trace() + cov_fake.trace()) - 2 * root_trace


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID of two feature sets [N, d]: the Frechet distance of the Gaussians fitted to them."""
    from advnets.metrics.feature_stats import gaussian_moments

    return frechet_from_moments(*gaussian_moments(real), *gaussian_moments(fake))


def kernel_distance(real: torch.Tensor, fake: torch.Tensor, subsets: int = KID_SUBSETS,
                    subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> tuple[float, float]:
    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(subset_size, len(real), len(fake))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "will save all extracted features": 10,000 x 128 here, by design
        kid = KernelInceptionDistance(feature=_Identity(real.shape[1]), subsets=subsets, subset_size=size,
                                      normalize=False)
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # the subsets are drawn with torch's global generator
        mean, std = kid.compute()
    return float(mean), float(std)


def _kernel_sums(a: torch.Tensor, b: torch.Tensor, block: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """sum_j k(a_i, b_j) for every a_i [m] and sum_i k(a_i, b_j) for every b_j [n], k(a, b) = (a.b / d + 1)^3,
    one block of rows at a time (never the [m, n] matrix)."""
    d = a.shape[1]
    rows, columns = [], torch.zeros(len(b), dtype=a.dtype, device=a.device)
    for i in range(0, len(a), block):
        kernel = ((a[i : i + block] @ b.T) / d + 1).pow_(3)
        rows.append(kernel.sum(1))
        columns += kernel.sum(0)
    return torch.cat(rows), columns


def kernel_distance_all_pairs(real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    """KID as the unbiased U-statistic over all pairs of real x [m, d] and fake y [n, d] (float64),

        MMD^2_u = sum_{i != i'} k(x_i, x_i') / (m (m-1)) + sum_{j != j'} k(y_j, y_j') / (n (n-1))
                  - 2 sum_{i, j} k(x_i, y_j) / (m n),

    and its standard error from the U-statistic's first-order (Hoeffding) variance,

        Var ~ 4/m Var_i(a_i - b_i) + 4/n Var_j(c_j - e_j),

    a_i = mean_{i' != i} k(x_i, x_i'), b_i = mean_j k(x_i, y_j), c_j = mean_{j' != j} k(y_j, y_j'),
    e_j = mean_i k(x_i, y_j): each sample's own contribution to the estimate, whose spread it is."""
    x, y = real.double(), fake.double()
    m, n, d = len(x), len(y), x.shape[1]
    self_x, self_y = ((x * x).sum(1) / d + 1) ** 3, ((y * y).sum(1) / d + 1) ** 3  # k(x_i, x_i): left out
    a = (_kernel_sums(x, x)[0] - self_x) / (m - 1)
    c = (_kernel_sums(y, y)[0] - self_y) / (n - 1)
    cross_rows, cross_columns = _kernel_sums(x, y)  # the x-y kernel once, summed both ways
    b, e = cross_rows / n, cross_columns / m
    mmd2 = a.mean() + c.mean() - 2 * b.mean()
    variance = 4 / m * (a - b).var() + 4 / n * (c - e).var()
    return float(mmd2), float(variance.sqrt())


def kid(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """KID of two feature sets: all pairs (kid ± kid_se) up to KID_ALL_PAIRS_MAX images per set, else the
    subset estimate (kid ± kid_std over KID_SUBSETS subsets, drawn with `seed`)."""
    if max(len(real), len(fake)) <= KID_ALL_PAIRS_MAX:
        value, se = kernel_distance_all_pairs(real, fake)
        return {"kid": value, "kid_se": se, "kid_estimator": "all-pairs"}
    value, std = kernel_distance(real, fake, seed=seed)
    return {"kid": value, "kid_std": std, "kid_estimator": "subsets", "kid_subsets": KID_SUBSETS,
            "kid_subset_size": min(KID_SUBSET_SIZE, len(real), len(fake))}


def precision_recall_density_coverage(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # it prints its input sizes; standard output is the result's
        pr = compute_prdc(real.numpy(), fake.numpy(), nearest_k=PR_K)
        dc = compute_prdc(real.numpy(), fake.numpy(), nearest_k=DC_K)
    return {"precision": float(pr["precision"]), "recall": float(pr["recall"]), "density": float(dc["density"]),
            "coverage": float(dc["coverage"])}


def feature_scores(reference: "FeatureStats", fake: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """fid, kid (± kid_se or kid_std), precision, recall, density, coverage of sample features [N, d] against a
    reference's statistics (its features, mean and covariance)."""
    from advnets.metrics.feature_stats import gaussian_moments

    return {"fid": frechet_from_moments(reference.mean, reference.cov, *gaussian_moments(fake)),
            **kid(reference.features, fake, seed), **precision_recall_density_coverage(reference.features, fake)}


def feature_metrics(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """Every number of this module for two feature sets [N, d] (float64), named as mnistclf-features rows."""
    from advnets.metrics.feature_stats import stats_of

    return mnistclf_names(feature_scores(stats_of(real, {}, {}), fake, seed))


def mnistclf_names(scores: dict[str, Any]) -> dict[str, Any]:
    """feature_scores' keys as --metric mnistclf-features names them (fid_mnistclf, kid_mnistclf ...)."""
    return {(f"{key.split('_')[0]}_mnistclf{key[3:]}" if key in ("fid", "kid", "kid_se", "kid_std") else key): value
            for key, value in scores.items()}


@torch.no_grad()
def class_histogram(dataset: str, images: torch.Tensor) -> dict[str, Any]:
    """Which class the shipped classifier reads each image as: the share of each class [n_classes], and the
    KL divergence of that histogram from uniform, sum_c p_c log(p_c n_classes) (0: every class equally
    often; log 10 = 2.30: one class only). Mode dropping shows here first: a generator of ones has p_1 near 1."""
    model = classifier_for(dataset)
    predicted = model.predict(images.float())  # [N] class indices
    n_classes = datasets.get(dataset).n_classes
    shares = torch.bincount(predicted.cpu(), minlength=n_classes).double() / len(predicted)
    kept = shares[shares > 0]
    return {"class_histogram": [round(float(p), 5) for p in shares],
            "class_kl_uniform": float((kept * torch.log(kept * n_classes)).sum())}


def score_features_images(samples: "ImageSet", request: MetricRequest) -> dict[str, Any]:
    """--metric mnistclf-features of any MNIST-shaped images against request.reference (images or statistics)."""
    from advnets.metrics.image_sets import needs_reference
    from advnets.metrics.trust import size_warnings, with_warnings

    if samples.x_shape != [1, 28, 28]:
        raise ConfigError(f"--metric mnistclf-features reads MNIST-shaped images [1, 28, 28]; {samples.what} holds "
                          f"{samples.x_shape} (--metric features --features NAME reads others)")
    reference = needs_reference(request, "--metric mnistclf-features")
    network, identity = feature_network("mnistclf")
    stats = reference_stats(reference, "mnistclf", network, identity, samples.x_shape, request.data_dir)
    fake = classifier_features("mnist", samples.images)
    row = {**mnistclf_names(feature_scores(stats, fake, request.seed)), **class_histogram("mnist", samples.images),
           "n_samples": samples.count, "n_reference": stats.count, "pr_k": PR_K, "dc_k": DC_K,
           **classifier_provenance("mnist"), "features_weights_sha256": identity["features_weights_sha256"]}
    return with_warnings(row, size_warnings("FID/KID/precision-recall (MNIST classifier features)", samples.count,
                                            stats.count))


def score_features(snap, request: MetricRequest) -> dict[str, Any]:
    from advnets.metrics.image_sets import score_run

    require(snap, ("whole-images", "classifier"), "--metric mnistclf-features")
    return score_run(snap, request, score_features_images)


METRIC = Metric(
    name="mnistclf-features",
    summary="FID, KID, precision/recall (k=3) and density/coverage (k=5) on the shipped MNIST classifier's "
            "features, against the test images (not Inception features: compare only with each other)",
    compute=score_features, needs=("image-data", "classifier"), default_n=10_000, n_counts="samples of G",
    headline=("fid_mnistclf", "FID (MNIST classifier)"),
    columns=("fid_mnistclf", "kid_mnistclf", "precision", "recall", "density", "coverage", "class_kl_uniform"),
    options=("split", "reference"), on_images=score_features_images)
