"""A deeper G that starts from a trained one: the released code's TFD stage 2 (docs/paper.md section 4).

Stage 1 trains G_1: z -> ReLU 8000 -> sigmoid 8000 -> sigmoid 2304. Stage 2 puts a new block B in
front of it, B: z -> ReLU 8000 -> sigmoid 100 (bias -2), and trains G_2 = G_1(B(z)) with a fresh D:
the layers of G_2 after B start as G_1's trained weights, B starts from the usual initialisation.

In config terms G_2 is one MLP whose hidden layers end with G_1's (hidden [8000, 100, 8000, 8000],
activations [relu, sigmoid, relu, sigmoid]) and `generator.init_from` names the stage-1 run or
snapshot; `stack_onto` copies G_1's linear layers into G_2's last ones after checking that they
line up (widths, activations, output, image shape). From a run that kept a moving average of G
(train.ema_decay), the average is copied, as every advnets command reads it by default. This module
copies between networks; finding and loading the trained G is the run builder's
(``advnets.train.init_from.initialise_from``).
"""

from __future__ import annotations

import torch
from torch import nn

from advnets.errors import ConfigError


def linear_layers(generator: nn.Module) -> list[nn.Linear]:
    """G's affine maps in order: its hidden layers, then the output layer."""
    return [m for m in generator.hidden if isinstance(m, nn.Linear)] + [generator.out]


def _layer_kinds(generator: nn.Module) -> list[str]:
    return [repr(m) if not isinstance(m, nn.Linear) else f"Linear{tuple(m.weight.shape)}" for m in generator.hidden]


@torch.no_grad()
def stack_onto(generator: nn.Module, trained: nn.Module, where: str) -> dict[str, int]:
    """Copy the `trained` G's linear layers into the last layers of `generator` after checking that
    they line up; `where` names the trained G in errors. Returns how many layers were copied and new."""
    if trained.condition.kind != "none" or generator.condition.kind != "none":
        raise ConfigError(f"{where}: only unconditional generators can be stacked")
    if tuple(trained.x_shape) != tuple(generator.x_shape) or trained.output != generator.output:
        raise ConfigError(f"{where} makes {list(trained.x_shape)} images with a {trained.output} output; this G "
                          f"makes {list(generator.x_shape)} with a {generator.output} output")
    old, new = linear_layers(trained), linear_layers(generator)
    old_kinds, new_kinds = _layer_kinds(trained), _layer_kinds(generator)
    if len(new) <= len(old) or new_kinds[len(new_kinds) - len(old_kinds):] != old_kinds or any(
            a.weight.shape != b.weight.shape for a, b in zip(old, new[len(new) - len(old):])):
        def widths(layers: list[nn.Linear]) -> str:
            return "-".join(str(n) for n in [layers[0].in_features] + [m.out_features for m in layers])

        raise ConfigError(f"{where}: its G ({widths(old)}) is not the end of this G ({widths(new)}) with the same "
                          "activations; generator.hidden must be new layers followed by the trained G's")
    for target, trained_layer in zip(new[len(new) - len(old):], old):
        target.weight.copy_(trained_layer.weight)
        target.bias.copy_(trained_layer.bias)
    return {"layers_copied": len(old), "layers_new": len(new) - len(old)}
