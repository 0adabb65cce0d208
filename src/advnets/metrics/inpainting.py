"""Measuring p(x_S | x_notS): do completions keep what the visible pixels say, and do they vary?

For test images with one named mask (data/masks.py):

- class kept: the project's MNIST classifier labels each completion (one per image) with the
  image's true class; beside it, the same classifier on the visible pixels alone (missing pixels
  set to 0), i.e. what the observed part tells without G, and on the original images;
- spread: for each of the first `n_spread` images, `completions` completions; the mean pairwise L2
  distance between them over the missing pixels, divided by the mean L2 distance over the same
  pixels between two test images of the same class. 0 means G ignores z (one completion per input,
  e.g. a blurry mean); about 1 means completions differ as much as real digits of that class;
- the mean L2 distance (missing pixels) of a completion to the original, against the distance of
  the per-image mean of the completions to it (a blurry mean is closer; sharp samples are not).
"""

from __future__ import annotations

from typing import Any

import torch

from advnets.classifier import classifier_for
from advnets.data import registry as datasets
from advnets.data.masks import check_mask_name, named_masks
from advnets.errors import ConfigError
from advnets.metrics.spec import Metric, MetricRequest
from advnets.sampling import complete


def _missing_l2(a: torch.Tensor, b: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """L2 distance over the missing pixels, per leading index: a, b [..., C, H, W]; missing [C, H, W] or broadcastable."""
    return (((a - b) * missing) ** 2).flatten(-3).sum(-1).sqrt()


def same_class_spread(images: torch.Tensor, labels: torch.Tensor, missing: torch.Tensor, pairs: int = 5000,
                      seed: int = 0) -> float:
    """Mean L2 distance over the missing pixels between two random test images of the same class."""
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, len(images), (pairs,), generator=g)
    candidates = [torch.nonzero(labels == c).squeeze(1) for c in range(int(labels.max()) + 1)]
    j = torch.stack([candidates[int(labels[k])][torch.randint(0, len(candidates[int(labels[k])]), (1,), generator=g)]
                     for k in i]).squeeze(1)
    keep = i != j
    return float(_missing_l2(images[i[keep]], images[j[keep]], missing[i[keep]]).mean())


@torch.no_grad()
def inpainting_report(generator: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, mask: str,
                      classifier: torch.nn.Module, seed: int = 0, completions: int = 8, n_spread: int = 1000,
                      device: torch.device | str = "cpu") -> dict[str, Any]:
    """images [n, 1, H, W] in [0, 1] with labels [n]; see the module docstring for what is measured."""
    n = len(images)
    masks = named_masks(mask, n, tuple(images.shape[-2:]), seed=seed)  # [n, 1, H, W], 1 = observed
    missing = 1 - masks
    one = complete(generator, images, masks, 1, seed, device)[:, 0]  # [n, 1, H, W]
    predicted = classifier.predict(one)
    kept = predicted == labels
    per_class = [float(kept[labels == c].float().mean()) for c in range(int(labels.max()) + 1)]
    visible_only = float((classifier.predict(images * masks) == labels).float().mean())
    originals = float((classifier.predict(images) == labels).float().mean())

    m = min(n_spread, n)
    several = complete(generator, images[:m], masks[:m], completions, seed, device)  # [m, k, 1, H, W]
    flat = (several * missing[:m, None]).flatten(2)  # [m, k, d]
    pairwise = torch.cdist(flat.double(), flat.double())  # [m, k, k]
    spread = float(pairwise.sum() / (m * completions * (completions - 1)))
    reference = same_class_spread(images, labels, missing, seed=seed)
    to_original = float(_missing_l2(several, images[:m, None], missing[:m, None]).mean())
    mean_to_original = float(_missing_l2(several.mean(1), images[:m], missing[:m]).mean())
    return {
        "mask": mask, "n_images": n, "class_kept": float(kept.float().mean()), "per_class": per_class,
        "class_from_visible_only": visible_only, "class_of_originals": originals,
        "spread": spread, "same_class_spread": reference, "spread_ratio": spread / reference,
        "completions": completions, "n_spread": m, "l2_to_original": to_original,
        "l2_of_mean_completion_to_original": mean_to_original,
        "missing_fraction": float(missing.mean()),
    }


def score_inpainting(snap, request: MetricRequest) -> dict[str, Any]:
    """The first request.n_samples test images with mask request.mask (default right-half) hidden."""
    mask = request.mask or "right-half"
    check_mask_name(mask)
    name, n = snap.config.data.name, request.n_samples
    images, labels = datasets.get(name).load_images("test", request.data_dir or snap.config.data.dir)
    if not 1 <= n <= len(images):
        raise ConfigError(f"--n-samples {n}: the test split has {len(images)} images")
    report = inpainting_report(snap.generator, images[:n], labels[:n], mask, classifier_for(name),
                               seed=request.seed, device=request.device)
    return {"split": "test", **report}


METRIC = Metric(
    name="inpainting", summary="test images completed under --mask: the class the completions keep (by the "
                               "shipped classifier) and how much they differ",
    compute=score_inpainting, needs=("inpainting", "classifier"), default_n=10_000, n_counts="test images",
    headline=("class_kept", "class kept"), columns=("mask", "class_kept", "class_from_visible_only", "spread_ratio"),
    options=("mask",))
