"""Generator and discriminator networks, built from their configs.

Every generator exposes ``z_dim``, ``x_shape``, ``n_classes`` and ``sample_z``; every discriminator
``x_shape`` and returns logits [m]. A new architecture is a module here and an entry in
GENERATORS / DISCRIMINATORS (and its name among the config's ``arch`` choices).

    mlp.py         the paper's networks: ReLU/sigmoid G, maxout D with dropout on each layer's input
    conv.py        the CIFAR-10 convolutional ones: a "deconvolutional" G, a convolutional maxout D
    conditions.py  what a conditional network is given besides z or x (class labels, observed pixels)
    encoder.py     the inference network E: x -> z (future work 2)
    stacking.py    a deeper G whose last layers start as a trained G's (TFD stage 2)
"""

from __future__ import annotations

import torch
from torch import nn

from advnets.config import Config
from advnets.data import registry
from advnets.models.conditions import NO_CONDITION, Condition
from advnets.models.conv import ConvDiscriminator, DeconvGenerator
from advnets.models.encoder import Encoder
from advnets.models.mlp import MLPDiscriminator, MLPGenerator, sample_prior
from advnets.models.plugin import build_plugin_discriminator, build_plugin_generator

__all__ = ["Condition", "ConvDiscriminator", "DeconvGenerator", "Encoder", "MLPDiscriminator", "MLPGenerator",
           "build_discriminator", "build_encoder", "build_generator", "condition_for", "sample_prior"]

GENERATORS = {"mlp": MLPGenerator, "deconv": DeconvGenerator}  # generator.arch
DISCRIMINATORS = {"maxout": MLPDiscriminator, "mlp": MLPDiscriminator,
                  "conv-maxout": ConvDiscriminator}  # discriminator.arch


def build_generator(cfg: Config, x_shape: tuple[int, ...], data_mean: torch.Tensor | None = None,
                    condition: Condition | None = None) -> nn.Module:
    """G for ``cfg.generator`` (a built-in arch, or a registered one: advnets.plugins); `data_mean` [*x_shape]
    sets a sigmoid output's starting bias. `condition`: what G is given besides z, when the caller knows it
    (a planned run: advnets.train.plan), else found from the config (condition_for)."""
    condition = condition if condition is not None else condition_for(cfg, x_shape)
    if cfg.generator.arch not in GENERATORS:
        return build_plugin_generator(cfg, x_shape, condition)
    return GENERATORS[cfg.generator.arch](cfg.generator, x_shape, data_mean, condition)


def build_discriminator(cfg: Config, x_shape: tuple[int, ...], condition: Condition | None = None) -> nn.Module:
    """D for ``cfg.discriminator``; with discriminator.spectral_norm, every weight spectrally normalised.
    `condition`: as build_generator's."""
    condition = condition if condition is not None else condition_for(cfg, x_shape)
    if cfg.discriminator.arch not in DISCRIMINATORS:
        D = build_plugin_discriminator(cfg, x_shape, condition)
    else:
        D = DISCRIMINATORS[cfg.discriminator.arch](cfg.discriminator, x_shape, condition)
    return spectrally_normalised(D) if cfg.discriminator.spectral_norm else D


def spectrally_normalised(module: nn.Module) -> nn.Module:
    """`module` with the weight W of every linear and convolutional layer replaced by W / sigma(W), sigma
    its largest singular value, estimated by one power iteration per training-mode pass (Miyato et al.
    2018; PyTorch's parametrisation: the estimate's vectors are buffers, saved with the weights)."""
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(layer)
    return module


def build_encoder(cfg: Config, x_shape: tuple[int, ...]) -> Encoder:
    """E: x -> z for ``cfg.inference`` (hidden widths) and G's latent size."""
    return Encoder(x_shape, cfg.generator.z_dim, cfg.inference.hidden)


def condition_for(cfg: Config, x_shape: tuple[int, ...], n_classes: int | None = None) -> Condition:
    """What G and D are given besides z and x: class labels (data.conditional), observed pixels
    and their mask (data.inpainting), or nothing. `n_classes`: the data set's classes when the caller has
    its spec (else asked of the data registry)."""
    if cfg.data.conditional:
        return Condition("class", n_classes=registry.for_config(cfg.data).n_classes if n_classes is None else n_classes)
    if cfg.data.inpainting:
        return Condition("mask", x_shape=tuple(x_shape))
    return NO_CONDITION
