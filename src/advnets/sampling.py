"""The one sampling entry point: x = G(z), z ~ p_z, with sample i fixed by (seed, i).

All N latent vectors are drawn up front from one generator seeded with `seed`, so the first n
samples of a request for N are the same as a request for n, whatever the batch size.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def generate(generator: torch.nn.Module, n: int, seed: int = 0, batch_size: int = 1000,
             device: torch.device | str | None = None) -> torch.Tensor:
    """n samples [n, *x_shape] on the CPU, G in eval mode (no dropout anywhere)."""
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    z = generator.sample_z(n, torch.Generator().manual_seed(seed), device="cpu")  # [n, z_dim]
    out = [generator(z[i : i + batch_size].to(device)).cpu() for i in range(0, n, batch_size)]
    generator.train(was_training)
    return torch.cat(out) if out else torch.empty(0, *generator.x_shape)
