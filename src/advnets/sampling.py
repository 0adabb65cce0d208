"""The one sampling entry point: x = G(z), z ~ p_z, with sample i fixed by (seed, i).

All N latent vectors are drawn up front from one generator seeded with `seed`, so the first n
samples of a request for N are the same as a request for n, whatever the batch size.
"""

from __future__ import annotations

import torch

from advnets.errors import ConfigError


def require_whole_images(snap, what: str) -> None:
    """Refuse, in one line, to draw whole samples from an inpainting model (it needs observed pixels)."""
    if getattr(snap.generator, "condition", None) is not None and snap.generator.condition.kind == "mask":
        raise ConfigError(f"{what} needs a model of whole images; {snap.path} is an inpainting model "
                          "(use advnets inpaint, or advnets evaluate --metric inpainting)")


def balanced_labels(n: int, n_classes: int) -> torch.Tensor:
    """0, 1, ..., n_classes - 1, 0, 1, ...: [n] labels, every class equally often (up to one)."""
    return torch.arange(n) % n_classes


@torch.no_grad()
def generate(generator: torch.nn.Module, n: int, seed: int = 0, batch_size: int = 1000,
             device: torch.device | str | None = None, labels: torch.Tensor | int | None = None,
             z: torch.Tensor | None = None, observed: torch.Tensor | None = None) -> torch.Tensor:
    """n samples [n, *x_shape] on the CPU, G in eval mode (no dropout anywhere).

    A class-conditional G takes `labels`: one class for all (an int), a tensor [n], or by default
    balanced_labels (sample i has class i mod n_classes). An inpainting G needs `observed`, the
    packed condition [x * mask, mask] [n, 2C, H, W] (data/masks.py). `z` [n, z_dim] replaces the
    seeded draw."""
    device = torch.device(device) if device is not None else next(generator.parameters()).device
    kind = getattr(generator, "condition", None)
    kind = kind.kind if kind is not None else "none"
    if kind == "class":
        if labels is None:
            labels = balanced_labels(n, generator.n_classes)
        elif isinstance(labels, int):
            labels = torch.full((n,), labels, dtype=torch.long)
    elif labels is not None:
        raise ValueError("labels given to a generator that is not class-conditional")
    if (kind == "mask") != (observed is not None):
        raise ValueError("an inpainting generator needs `observed` pixels, and only it takes them")
    condition = labels if kind == "class" else observed
    was_training = generator.training
    generator.eval()
    if z is None:
        z = generator.sample_z(n, torch.Generator().manual_seed(seed), device="cpu")  # [n, z_dim]

    def part(i: int) -> torch.Tensor:
        c = condition[i : i + batch_size].to(device) if condition is not None else None
        return generator(z[i : i + batch_size].to(device), c).cpu()

    out = [part(i) for i in range(0, n, batch_size)]
    generator.train(was_training)
    return torch.cat(out) if out else torch.empty(0, *generator.x_shape)


def complete(generator: torch.nn.Module, images: torch.Tensor, masks: torch.Tensor, completions: int = 1,
             seed: int = 0, device: torch.device | str | None = None) -> torch.Tensor:
    """Completions [n, completions, *x_shape] of images [n, *x_shape] (in [0, 1]) whose pixels
    where masks [n, 1, H, W] is 0 are hidden: G sees only the others. Completion j of image i is
    the j-th latent draw of its own stream (seed, i), so adding images or completions leaves the
    others unchanged."""
    from advnets.data.masks import pack_observed

    n = len(images)
    observed = pack_observed(images, masks)  # [n, 2C, H, W]
    z = torch.stack([generator.sample_z(completions, torch.Generator().manual_seed(seed * 1_000_003 + i), "cpu")
                     for i in range(n)])  # [n, k, z_dim]
    x = generate(generator, n * completions, z=z.reshape(n * completions, -1), device=device,
                 observed=observed.repeat_interleave(completions, dim=0))
    return x.view(n, completions, *x.shape[1:])


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, spherical: bool = False) -> torch.Tensor:
    """Latent points [steps, z_dim] from z0 to z1 (both [z_dim]), endpoints included.

    linear:    z(t) = (1 - t) z0 + t z1
    spherical: z(t) = sin((1 - t) W) / sin W z0 + sin(t W) / sin W z1, W the angle between z0 and z1
               (falls back to linear when they are parallel)
    """
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]  # [steps, 1]
    a, b = z0.double()[None], z1.double()[None]  # [1, z_dim]
    if spherical:
        cos = float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-12))
        omega = torch.tensor(cos).clamp(-1, 1).acos()
        if omega.abs() > 1e-6:
            return ((torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)).to(z0.dtype)
    return ((1 - t) * a + t * b).to(z0.dtype)
