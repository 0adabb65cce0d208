"""What the rest of advnets knows about a data set: one :class:`DatasetSpec` each.

Modules outside ``advnets.data`` never name a data set; they ask the registry
(``advnets.data.registry``) for its spec and read what it says: the kind of data, the shape of one
example, whether it has class labels, its splits, how to load them, its files' checksums, and (for
synthetic data) the distribution itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

if TYPE_CHECKING:  # annotations only: toy.py defines its data sets with this module's spec
    from advnets.data.toy import GaussianMixture

IMAGE = "image"  # files of images, split into train / valid / test
TOY = "toy"  # a synthetic distribution with a known density, no files


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the config's data.name
    title: str  # for people: "MNIST"
    kind: str  # IMAGE or TOY
    x_shape: tuple[int, ...]  # one example: [C, H, W] for images, [dim] for synthetic data
    n_classes: int = 0  # > 0: the training split has class labels 0 .. n_classes - 1 (conditional models)
    splits: tuple[str, ...] = ()  # image data: the names read_split accepts (train, valid, test, ...)
    # image data: (split, data_dir, download) -> uint8 images [N, C, H, W] or [N, H, W] (grey), labels [N]
    read_split: Callable[[str, str | None, bool], tuple[np.ndarray, np.ndarray]] | None = None
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> SHA-256 checked before use
    classifier: str | None = None  # the shipped classifier that labels its images (advnets/weights/)
    # the published and measured generators a run's report stands it beside (advnets.metrics.references)
    has_references: bool = False
    # a data set whose content the data config decides (data.name images: data.path, size, channels): the
    # concrete spec for a config (registry.for_config); what it was made from (files, SHA-256) in `source`
    from_config: Callable[[Any], "DatasetSpec"] | None = None
    source: dict[str, Any] | None = None
    # synthetic data: the run's data config -> the distribution (modes, radius, std, means, ...)
    mixture: Callable[[Any], GaussianMixture] | None = None

    @property
    def is_image(self) -> bool:
        return self.kind == IMAGE

    @property
    def dim(self) -> int:
        """Synthetic data: the dimension of one example (1 or 2)."""
        return self.x_shape[0]

    def load_pixels(self, split: str, data_dir: str | None = None, download: bool = True
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Images as stored, uint8 [N, C, H, W], and labels int64 [N] (-1: none) of one split."""
        assert self.read_split is not None, f"{self.name} has no files"
        images, labels = self.read_split(split, data_dir, download)
        if images.ndim == 3:  # grey-scale [N, H, W] -> [N, 1, H, W]
            images = images[:, None]
        return images, labels.astype(np.int64)

    def load_images(self, split: str, data_dir: str | None = None, download: bool = True,
                    dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1], `dtype` [N, C, H, W] (pixels / 255), and labels int64 [N] of one split."""
        images, labels = self.load_pixels(split, data_dir, download)
        return torch.from_numpy(images).to(dtype).div_(255.0), torch.from_numpy(labels)
