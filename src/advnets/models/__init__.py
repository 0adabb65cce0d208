"""Generator and discriminator networks, built from their configs.

Every generator exposes ``z_dim``, ``x_shape`` and ``sample_z``; every discriminator ``x_shape``
and returns logits [m]. New architectures (convolutional, conditional) register here.
"""

from __future__ import annotations

import torch

from advnets.config import Config
from advnets.models.mlp import MLPDiscriminator, MLPGenerator, sample_prior

__all__ = ["MLPDiscriminator", "MLPGenerator", "build_discriminator", "build_generator", "sample_prior"]


def build_generator(cfg: Config, x_shape: tuple[int, ...], data_mean: torch.Tensor | None = None) -> MLPGenerator:
    """G for ``cfg.generator``; `data_mean` [*x_shape] sets a sigmoid output's starting bias."""
    return MLPGenerator(cfg.generator, x_shape, data_mean, n_classes(cfg))


def build_discriminator(cfg: Config, x_shape: tuple[int, ...]) -> MLPDiscriminator:
    return MLPDiscriminator(cfg.discriminator, x_shape, n_classes(cfg))


def n_classes(cfg: Config) -> int:
    """Classes a conditional model is given (data.conditional), else 0."""
    from advnets.data.sources import N_CLASSES

    return N_CLASSES if cfg.data.conditional else 0
