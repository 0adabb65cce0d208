"""The space the networks model (``data.preprocess``), and the way back to pictures.

    none   x = pixels / 255, in [0, 1]
    gcn    global contrast normalisation, the released CIFAR-10 code's (pylearn2's
           global_contrast_normalize with scale 55): each image's values, all channels together, have
           their mean removed and are scaled to norm `scale`,
               x = scale * (p - mean(p)) / ||p - mean(p)||_2     (p in [0, 1]; a flat image becomes 0)
           so each value has a root mean square of scale / sqrt(C*H*W), about 1 for CIFAR-10.

Everything that compares G's samples with data (training batches, validation and test scores, nearest
neighbours) reads images through :func:`load_images`, in the model's space. GCN forgets each image's
brightness and contrast, so there is no exact inverse; :meth:`Preprocessing.to_display` shows an image
(a sample or a training image alike) with its zero at mid-grey and its largest absolute value at black
or white, so that every image spans the display range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from advnets.data import registry
from advnets.data.spec import DatasetSpec

MIN_DIVISOR = 1e-8  # pylearn2's: a norm below this counts as 1 (the image stays at zero)


@dataclass(frozen=True)
class Preprocessing:
    kind: str = "none"
    scale: float = 55.0  # gcn: each image's norm

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Images [N, C, H, W] in [0, 1] -> the model's space, same shape and dtype."""
        if self.kind == "none":
            return images
        rows = images.reshape(len(images), -1)
        centred = rows - rows.mean(dim=1, keepdim=True)  # [N, d]
        norms = centred.norm(dim=1, keepdim=True)  # [N, 1]
        norms = torch.where(norms < MIN_DIVISOR, torch.ones_like(norms), norms)
        return (self.scale * centred / norms).reshape(images.shape)

    def to_display(self, x: torch.Tensor) -> torch.Tensor:
        """Images [N, C, H, W] of the model's space -> [0, 1] for showing: unchanged without
        preprocessing; after gcn, 0.5 + x / (2 max|x|) per image."""
        if self.kind == "none":
            return x
        peak = x.reshape(len(x), -1).abs().amax(dim=1).clamp_min(1e-12)  # [N]
        return 0.5 + x / (2 * peak.view(-1, *[1] * (x.ndim - 1)))

    def describe(self) -> str:
        return "pixels in [0, 1]" if self.kind == "none" else f"global contrast normalisation (scale {self.scale:g})"


IDENTITY = Preprocessing()


def for_data(data: Any) -> Preprocessing:
    """The preprocessing a run's data config (``cfg.data``) asks for."""
    return Preprocessing(data.preprocess, data.gcn_scale) if data.preprocess != "none" else IDENTITY


def load_images(data: Any, split: str, data_dir: str | None = None, dtype: torch.dtype = torch.float32,
                spec: DatasetSpec | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of the data set `data` (a run's ``cfg.data``; `spec`: its spec, when resolved already) in the
    model's space, [N, C, H, W] of `dtype`, and its labels int64 [N]; `data_dir` overrides data.dir."""
    spec = spec or registry.for_config(data)
    images, labels = spec.load_images(split, data_dir or data.dir, data.download, dtype=dtype)
    return for_data(data)(images), labels
