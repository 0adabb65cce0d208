"""The inference network E: x -> z of the paper's future work 2, and the loss it is fitted with.

    "Learned approximate inference can be performed by training an auxiliary network to predict z
    given x ... this can be done after the generator net has finished training."

E is an MLP from data space to latent space (ReLU hidden layers, linear output), fitted on pairs
(z, G(z)), z ~ p_z drawn fresh every step:

    L(E) = E_z || E(G(z)) - z ||^2 / z_dim        (mean squared error per latent dimension)

Fitted for a finished G by ``advnets infer`` (advnets.inference), or alongside the game
(``inference.joint``, advnets.train.joint_encoder); measured by advnets.metrics.inference.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Encoder(nn.Module):
    """E(x): x [m, *x_shape] -> z [m, z_dim] (ReLU MLP, linear output)."""

    def __init__(self, x_shape: tuple[int, ...], z_dim: int, hidden: list[int] | tuple[int, ...] = (1200, 1200)):
        super().__init__()
        self.x_shape, self.z_dim, self.hidden_widths = tuple(x_shape), z_dim, list(hidden)
        widths = [math.prod(self.x_shape), *hidden]
        layers: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(n_in, n_out), nn.ReLU()]
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(widths[-1], z_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer [m, hidden[-1]] (used as features for semi-supervised learning)."""
        return self.hidden(x.reshape(len(x), -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # [m, z_dim]


def encoder_loss(encoder: nn.Module, generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """|| E(G(z)) - z ||^2 / z_dim, averaged over the batch; no gradient reaches G."""
    with torch.no_grad():
        x = generator(z)  # [m, *x_shape]
    return ((encoder(x) - z) ** 2).mean()
