"""The joint variant of the inference network (``inference.joint``): E trained alongside the game,
one Adam step on fresh (z, G(z)) pairs after every G update (loss: advnets.models.encoder), with its
own random stream (advnets.runtime "encoder"), so that the game itself runs exactly as without it."""

from __future__ import annotations

import torch
from torch import nn

from advnets import runtime
from advnets.models.encoder import Encoder, encoder_loss


class JointEncoder:
    def __init__(self, generator: nn.Module, hidden: list[int], lr: float, batch_size: int, seed: int):
        """`seed` is the run's seed; E's weights and pairs come from its "encoder" stream."""
        device = next(generator.parameters()).device
        with runtime.seeded("encoder", seed):
            self.model = Encoder(generator.x_shape, generator.z_dim, hidden).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.rng = runtime.stream("encoder", seed, device)
        self.batch_size = batch_size

    def update(self, generator: nn.Module) -> None:
        was_training = generator.training
        generator.eval()  # G's samples as sampling draws them
        loss = encoder_loss(self.model, generator, generator.sample_z(self.batch_size, self.rng))
        generator.train(was_training)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
