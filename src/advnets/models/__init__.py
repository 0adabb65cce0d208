"""Generator and discriminator networks, built from their configs.

Every generator exposes ``z_dim``, ``x_shape`` and ``sample_z``; every discriminator ``x_shape``
and returns logits [m]. New architectures (convolutional, conditional) register here.
"""

from __future__ import annotations

import torch

from advnets.config import Config
from advnets.models.conditions import NO_CONDITION, Condition
from advnets.models.mlp import MLPDiscriminator, MLPGenerator, sample_prior

__all__ = ["Condition", "MLPDiscriminator", "MLPGenerator", "build_discriminator", "build_generator",
           "condition_for", "sample_prior"]


def build_generator(cfg: Config, x_shape: tuple[int, ...], data_mean: torch.Tensor | None = None) -> MLPGenerator:
    """G for ``cfg.generator``; `data_mean` [*x_shape] sets a sigmoid output's starting bias."""
    return MLPGenerator(cfg.generator, x_shape, data_mean, condition_for(cfg, x_shape))


def build_discriminator(cfg: Config, x_shape: tuple[int, ...]) -> MLPDiscriminator:
    return MLPDiscriminator(cfg.discriminator, x_shape, condition_for(cfg, x_shape))


def condition_for(cfg: Config, x_shape: tuple[int, ...]) -> Condition:
    """What G and D are given besides z and x: class labels (data.conditional), observed pixels
    and their mask (data.inpainting), or nothing."""
    from advnets.data.sources import N_CLASSES

    if cfg.data.conditional:
        return Condition("class", n_classes=N_CLASSES)
    if cfg.data.inpainting:
        return Condition("mask", x_shape=tuple(x_shape))
    return NO_CONDITION
