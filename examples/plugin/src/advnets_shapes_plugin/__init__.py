"""An example advnets plugin: a small convolutional G and D, and a feature network (see README.md)."""

from __future__ import annotations

import torch
from torch import nn

WIDTH = 32  # channels of the widest convolutional layer


class ConvGenerator(nn.Module):
    """z [m, z_dim] (+ labels [m]) -> a linear layer to WIDTH x H/4 x W/4, two transposed convolutions that
    double the size, a sigmoid: images [m, C, H, W] with pixels in [0, 1]."""

    def __init__(self, request):
        super().__init__()
        channels, height, width = request.x_shape
        if height % 4 or width % 4:
            raise ValueError(f"shapes-conv needs a side that is a multiple of 4, got {height}x{width} (data.size)")
        self.start_shape = (WIDTH, height // 4, width // 4)
        self.embed = nn.Embedding(request.n_classes, request.z_dim) if request.n_classes else None
        self.start = nn.Linear(request.z_dim, WIDTH * (height // 4) * (width // 4))
        self.up = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(WIDTH, WIDTH // 2, 4, 2, 1), nn.ReLU(),
                                nn.ConvTranspose2d(WIDTH // 2, channels, 4, 2, 1), nn.Sigmoid())

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = z + self.embed(c)  # the class shifts the latent code
        return self.up(self.start(z).view(len(z), *self.start_shape))


class ConvDiscriminator(nn.Module):
    """images [m, C, H, W] (+ labels [m]) -> two strided convolutions, a linear logit (projection for the class)."""

    def __init__(self, request):
        super().__init__()
        channels, height, width = request.x_shape
        self.features = nn.Sequential(nn.Conv2d(channels, WIDTH // 2, 4, 2, 1), nn.LeakyReLU(0.2),
                                      nn.Conv2d(WIDTH // 2, WIDTH, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten())
        size = WIDTH * (height // 4) * (width // 4)
        self.out = nn.Linear(size, 1)
        self.embed = nn.Embedding(request.n_classes, size) if request.n_classes else None

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x)
        logit = self.out(h).squeeze(1)
        if self.embed is not None:
            logit = logit + (self.embed(c) * h).sum(1)  # the projection discriminator's class term
        return logit


class RandomConvFeatures(nn.Module):
    """Fixed random convolutional features (seeded, never trained): 64 numbers per image of any size."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.grey = nn.Conv2d(1, 32, 3, padding=1)
        self.colour = nn.Conv2d(3, 32, 3, padding=1)
        for conv in (self.grey, self.colour):
            nn.init.normal_(conv.weight, std=0.3, generator=generator)
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu((self.grey if x.shape[1] == 1 else self.colour)(x))  # [N, 32, H, W]
        return torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)  # [N, 64]


def register() -> None:
    """The entry point (pyproject.toml): what this package brings to advnets."""
    import advnets

    advnets.register_generator("shapes-conv", ConvGenerator)
    advnets.register_discriminator("shapes-conv", ConvDiscriminator)
    advnets.register_features("shapes-random-conv", RandomConvFeatures)
