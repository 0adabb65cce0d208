"""Parzen-window log-likelihood, the paper's Table 1 protocol (``docs/paper.md`` section 5).

Isotropic Gaussian kernels of width s are placed on n samples mu_j of the model:

    log p(x) = logmeanexp_j( -|x - mu_j|^2 / (2 s^2) ) - d log(s sqrt(2 pi))

s is chosen from logspace(-1, 0, 10) by the best *mean* log-likelihood of the validation images;
the reported number is the mean over the test images and its standard error std / sqrt(N).

Squared distances come from |x|^2 - 2 x.mu + |mu|^2 in float64 (never the [batch, n, d] difference
tensor), computed once per block of x and reused for every s; the log-mean-exp is float64 too.

Registered as --metric parzen: the protocol for a snapshot's G, or for a critique baseline (Theis et
al. 2016: real training images, or k-means centroids of the training set, as the centres) scored by
the same code on the same split. :class:`ValidationParzen` is the protocol's sigma-selection step
alone, the score training selects snapshots by (validation data only, never test). Images from anywhere as the
centres, against any reference (advnets evaluate FOLDER --reference REF): :func:`score_parzen_images`, sigma
chosen as :func:`sigma_and_scored` says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from advnets.data import preprocess as preprocessing
from advnets.data.spec import DatasetSpec
from advnets.errors import ConfigError
from advnets.metrics.image_sets import ImageSet
from advnets.metrics.kmeans import kmeans
from advnets.metrics.spec import Metric, MetricRequest, require
from advnets.metrics.trust import grid_edge, with_warnings
from advnets.progress import Progress
from advnets.sampling import generate

N_VALID = 1_000  # the paper picks sigma on the first 1,000 validation images
BASELINES = ("train", "kmeans")  # Theis et al. (2016): training images, k-means centroids as centres
KMEANS_ITERATIONS = 20
SIGMA_GRID = tuple(float(s) for s in np.logspace(-1, 0, 10))  # 0.1 ... 1.0


def squared_distances(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """|x_i - mu_j|^2 for x [b, d] and centres [n, d], as float64 [b, n], clamped at 0."""
    x, centres = x.double(), centres.double()
    sq = (x * x).sum(1, keepdim=True) - 2.0 * x @ centres.T + (centres * centres).sum(1)[None, :]
    return sq.clamp_min_(0.0)


def parzen_log_likelihood(x: torch.Tensor, centres: torch.Tensor, sigmas: tuple[float, ...] | list[float],
                          batch_size: int = 500, desc: str | None = None) -> torch.Tensor:
    """log p(x_i) under the Parzen window of each sigma: float64 [len(sigmas), N], on x's device.
    With `desc`, its progress is shown (advnets.progress)."""
    x = x.reshape(len(x), -1)
    centres = centres.reshape(len(centres), -1).to(x.device)
    n, d = centres.shape
    sig = torch.tensor(list(sigmas), dtype=torch.float64, device=x.device)  # [S]
    log_norm = d * torch.log(sig * math.sqrt(2 * math.pi)) + math.log(n)  # [S]
    out = []
    with Progress(len(x), desc or "", "image", enabled=desc is not None) as bar:
        for start in range(0, len(x), batch_size):
            sq = squared_distances(x[start : start + batch_size], centres)  # [b, n]
            # [S, b]: log sum_j exp(-sq / (2 s^2)) - log n - d log(s sqrt(2 pi))
            scores = torch.stack([torch.logsumexp(sq * (-0.5 / s**2), dim=1) for s in sigmas])
            out.append(scores - log_norm[:, None])
            bar.update(len(sq))
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
                    sigmas: tuple[float, ...] = SIGMA_GRID, batch_size: int = 500, show: bool = False) -> ParzenResult:
    """Choose sigma on `valid` (best mean), then score `test`; all in [0, 1] pixel units (`show`: progress)."""
    valid_ll = parzen_log_likelihood(valid, centres, sigmas, batch_size,
                                     "Parzen, choosing sigma" if show else None).mean(dim=1)  # [S]
    best = int(torch.argmax(valid_ll))
    test_ll = parzen_log_likelihood(test, centres, (sigmas[best],), batch_size,
                                    "Parzen, test images" if show else None)[0]  # [N_test]
    se = test_ll.std(unbiased=True) / math.sqrt(len(test_ll)) if len(test_ll) > 1 else torch.tensor(float("nan"))
    return ParzenResult(
        mean=float(test_ll.mean()), se=float(se), sigma=sigmas[best],
        valid_scores={f"{s:.4f}": float(v) for s, v in zip(sigmas, valid_ll)},
        n_samples=len(centres), n_valid=len(valid), n_test=len(test),
    )


def _model_rows(data: Any, split: str, data_dir: str | None, spec: DatasetSpec | None = None) -> torch.Tensor:
    """A split of the data set a run's ``cfg.data`` names (`spec`: its spec, when resolved already), as float64
    rows [N, d] in the model's space (pixels in [0, 1], the protocol's units, unless the run models
    contrast-normalised images)."""
    images, _ = preprocessing.load_images(data, split, data_dir, dtype=torch.float64, spec=spec)
    return images.reshape(len(images), -1)


def score_parzen(snap, request: MetricRequest) -> dict[str, Any]:
    """Table 1's protocol for `snap`'s G (request.n_samples samples of seed request.seed), or for
    request.baseline ("train": n real training images; "kmeans": n k-means centroids of them)."""
    data, device, n = snap.config.data, request.device, request.n_samples
    baseline = request.baseline
    if request.reference is not None:  # G's samples against any reference: the protocol as for images from anywhere
        from advnets.metrics.image_sets import run_samples

        if baseline is not None:
            raise ConfigError("--baseline scores the run's own data set's images: leave out --reference")
        require(snap, ("whole-images",), "--metric parzen")
        return score_parzen_images(run_samples(snap, request), request)
    if baseline is None:
        require(snap, ("whole-images",), "--metric parzen")
    elif baseline not in BASELINES:
        raise ConfigError(f"unknown Parzen baseline '{baseline}' (available: {', '.join(BASELINES)})")
    data_dir = request.data_dir or snap.config.data.dir
    valid_split = _model_rows(data, "valid", data_dir)
    valid = valid_split[:N_VALID].to(device)
    if request.reference_split == "valid":  # model selection: scored on the validation images sigma was not chosen on
        test = (valid_split[N_VALID:] if len(valid_split) > N_VALID else valid_split).to(device)
    else:
        test = _model_rows(data, "test", data_dir).to(device)
    extra: dict[str, Any] = {}
    if baseline is None:
        centres = generate(snap.generator, n, seed=request.seed, device=device).reshape(n, -1)
    else:
        train = _model_rows(data, "train", data_dir)
        if n > len(train):
            raise ConfigError(f"--n-samples {n} exceeds the {len(train)} training images")
        if baseline == "train":
            rows = torch.randperm(len(train), generator=torch.Generator().manual_seed(request.seed))[:n]
            centres = train[rows]
        else:
            fit = kmeans(train.float().to(device), n, seed=request.seed, iterations=KMEANS_ITERATIONS)
            centres = fit.centroids
            extra = {"kmeans_iterations": fit.iterations, "kmeans_changed": fit.changed,
                     "kmeans_inertia": fit.inertia}
    result = parzen_protocol(centres.to(device), valid, test, show=True)
    row = {"split": request.reference_split, "baseline": baseline, **extra, **_result_fields(result),
           "device": str(device)}
    return with_warnings(row, grid_edge(result.sigma, SIGMA_GRID, "Parzen's sigma"))


def _result_fields(result: ParzenResult) -> dict[str, Any]:
    return {"mean": result.mean, "se": result.se, "sigma": result.sigma, "valid_scores": result.valid_scores,
            "n_samples": result.n_samples, "n_valid": result.n_valid, "n_test": result.n_test}


def sigma_and_scored(reference: ImageSet, data_dir: str | None) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The images sigma is chosen on and those scored, as float64 rows, for a reference from anywhere: a built-in
    data set's test split as the protocol has it (sigma on valid[:1000]); its valid split as model selection
    has it (sigma on valid[:1000], scored on the rest); any other images split in two by a fixed permutation
    (seed 0): sigma on min(1,000, half) of them, the others scored. The third value says which."""
    from advnets.data import registry as datasets

    rows = reference.images.reshape(reference.count, -1).double()
    spec = datasets.get(reference.dataset) if reference.dataset and reference.dataset != "images" else None
    if spec is not None and "valid" in spec.splits:
        valid = spec.load_images("valid", data_dir, dtype=torch.float64)[0]
        valid = valid.reshape(len(valid), -1)
        if reference.split == "valid":
            return valid[:N_VALID], valid[N_VALID:], f"{reference.dataset}:valid[:{N_VALID}], scored on the rest"
        return valid[:N_VALID], rows, f"{reference.dataset}:valid[:{N_VALID}]"
    if reference.count < 4:
        raise ConfigError(f"--metric parzen: the reference {reference.what} holds {reference.count} images; sigma is "
                          "chosen on some and the others are scored: give at least 4 (thousands for a number to quote)")
    order = torch.randperm(reference.count, generator=torch.Generator().manual_seed(0))
    k = min(N_VALID, reference.count // 2)
    return rows[order[:k]], rows[order[k:]], f"{k} of the reference's images (seed 0), scored on the other " \
                                             f"{reference.count - k}"


def score_parzen_images(samples: ImageSet, request: MetricRequest) -> dict[str, Any]:
    """Table 1's protocol with any images as the centres, against request.reference (images, not statistics)."""
    from advnets.metrics.image_sets import needs_reference, reference_name

    reference = needs_reference(request, "--metric parzen")
    if not isinstance(reference, ImageSet):
        raise ConfigError(f"--metric parzen scores the reference images themselves; {reference_name(reference)} is a "
                          "statistics file (features only): give the images or the data set's split")
    if reference.x_shape != samples.x_shape:
        raise ConfigError(f"--metric parzen: the reference {reference.what} holds images {reference.x_shape} and the "
                          f"samples are {samples.x_shape}: compare images of one shape (--size, --channels)")
    sigma_rows, scored, how = sigma_and_scored(reference, request.data_dir)
    centres = samples.images.reshape(samples.count, -1).double().to(request.device)
    result = parzen_protocol(centres, sigma_rows.to(request.device), scored.to(request.device), show=True)
    row = {"reference": reference_name(reference), "baseline": None, **_result_fields(result), "sigma_chosen_on": how}
    return with_warnings(row, grid_edge(result.sigma, SIGMA_GRID, "Parzen's sigma"))


METRIC = Metric(
    name="parzen", summary="Table 1's protocol: Parzen-window log-likelihood of the test images (image data)",
    compute=score_parzen, needs=("image-data",), default_n=10_000, n_counts="samples of G (the paper's)",
    headline=("mean", "test"), columns=("baseline", "mean", "se", "sigma"), options=("baseline", "split", "reference"),
    on_images=score_parzen_images)


class ValidationParzen:
    """The cheap score for model selection during training (validation data only, never test):
    the mean Parzen log-likelihood of the first 1,000 validation images under `n_samples` samples
    of G from a fixed seed, at the best sigma of the paper's grid, i.e. the protocol's own sigma
    selection step. (The released code monitored a cruder one: 100 samples, sigma 0.2.)"""

    def __init__(self, data: Any, data_dir: str | None, n_samples: int, seed: int, device: torch.device,
                 spec: DatasetSpec | None = None):
        # [1000, d] (data: a run's cfg.data; spec: its spec when the run has resolved it)
        self.valid = _model_rows(data, "valid", data_dir, spec)[:N_VALID].to(device)
        self.n_samples, self.seed, self.device = n_samples, seed, device

    def __call__(self, generator: torch.nn.Module) -> tuple[float, float]:
        """(best mean validation log-likelihood, its sigma) for `generator`."""
        centres = generate(generator, self.n_samples, seed=self.seed, device=self.device)
        scores = parzen_log_likelihood(self.valid, centres.reshape(self.n_samples, -1), SIGMA_GRID).mean(dim=1)
        best = int(torch.argmax(scores))
        return float(scores[best]), SIGMA_GRID[best]
