"""Masks for p(x_S | x_notS), the paper's future work 3: which pixels G must fill in.

A mask is a float tensor [n, 1, H, W] with 1 where a pixel is observed and 0 where it is missing
(the set S). Training draws each example's mask from one of the `families`, uniformly:

    halves     one of the left, right, top or bottom halves is missing
    quarters   one of the four quadrants is missing
    squares    a square of side H/4 .. 2H/3 at a uniformly random position is missing
    pixels     each pixel is missing with probability p, p ~ U(0.2, 0.9) per example

Evaluation names one mask for all images (`named_masks`): left-half, right-half, top-half,
bottom-half (the named half is missing), center (the central H/2 x W/2 square is missing), or
random:P (each pixel missing with probability P, drawn from the seed).
"""

from __future__ import annotations

import torch

from advnets.errors import ConfigError

FAMILIES = ("halves", "quarters", "squares", "pixels")
NAMED = ("left-half", "right-half", "top-half", "bottom-half", "center", "random:P")
HALVES = ("left-half", "right-half", "top-half", "bottom-half")


def _coords(h: int, w: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    rows = torch.arange(h, device=device).view(1, h, 1)  # [1, H, 1]
    cols = torch.arange(w, device=device).view(1, 1, w)  # [1, 1, W]
    return rows, cols


def _halves(side: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Missing [n, H, W] for side 0 left, 1 right, 2 top, 3 bottom."""
    rows, cols = _coords(h, w, side.device)
    s = side.view(-1, 1, 1)
    return (((s == 0) & (cols < w // 2)) | ((s == 1) & (cols >= w // 2))
            | ((s == 2) & (rows < h // 2)) | ((s == 3) & (rows >= h // 2)))


def random_masks(n: int, shape: tuple[int, int], families: list[str] | tuple[str, ...], generator: torch.Generator,
                 device: torch.device | str) -> torch.Tensor:
    """n masks [n, 1, H, W] (1 observed, 0 missing), each from a uniformly chosen family."""
    h, w = shape
    rows, cols = _coords(h, w, device)
    pick = torch.randint(0, len(families), (n,), generator=generator, device=device)  # [n]
    side = torch.randint(0, 4, (n,), generator=generator, device=device)  # halves / quadrant
    size = torch.randint(h // 4, 2 * h // 3 + 1, (n,), generator=generator, device=device)  # squares
    top = (torch.rand(n, generator=generator, device=device) * (h - size + 1)).long().view(-1, 1, 1)
    left = (torch.rand(n, generator=generator, device=device) * (w - size + 1)).long().view(-1, 1, 1)
    p = 0.2 + 0.7 * torch.rand(n, 1, 1, generator=generator, device=device)  # pixels
    u = torch.rand(n, h, w, generator=generator, device=device)
    size, quadrant = size.view(-1, 1, 1), side.view(-1, 1, 1)  # quadrant q: top if q < 2, left if q is even
    candidates = {
        "halves": _halves(side, h, w),
        "quarters": ((rows < h // 2) == (quadrant // 2 == 0)) & ((cols < w // 2) == (quadrant % 2 == 0)),
        "squares": (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size),
        "pixels": u < p,
    }
    missing = torch.zeros(n, h, w, dtype=torch.bool, device=device)
    for i, family in enumerate(families):
        missing |= candidates[family] & (pick == i).view(-1, 1, 1)
    return (~missing).float().unsqueeze(1)  # [n, 1, H, W]


def check_mask_name(name: str) -> float | None:
    """Validate a named mask; returns P for random:P, else None. Raises ConfigError with the choices."""
    if name.startswith("random:"):
        try:
            p = float(name.split(":", 1)[1])
        except ValueError:
            p = -1.0
        if not 0 < p < 1:
            raise ConfigError(f"--mask {name}: random:P needs a missing fraction P in (0, 1), e.g. random:0.5")
        return p
    if name not in NAMED:
        raise ConfigError(f"--mask {name!r} is not one of {', '.join(NAMED)}")
    return None


def named_masks(name: str, n: int, shape: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """n copies of one named mask [n, 1, H, W] (random:P: a fresh random subset per image, from `seed`)."""
    h, w = shape
    p = check_mask_name(name)
    rows, cols = _coords(h, w, "cpu")
    if p is not None:
        missing = torch.rand(n, h, w, generator=torch.Generator().manual_seed(seed)) < p
    elif name == "center":
        missing = ((rows >= h // 4) & (rows < h - h // 4) & (cols >= w // 4) & (cols < w - w // 4)).expand(n, h, w)
    else:
        missing = _halves(torch.full((n,), HALVES.index(name)), h, w)
    return (~missing).float().unsqueeze(1)


def pack_observed(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The condition of an inpainting model: [x * mask, mask] stacked on channels, [n, 2C, H, W]
    (missing pixels are zeroed, so the condition holds nothing of them)."""
    assert x.shape[0] == mask.shape[0] and x.shape[2:] == mask.shape[2:], (x.shape, mask.shape)
    return torch.cat([x * mask, mask.expand_as(x)], dim=1)


def unpack_observed(c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(observed pixels [n, C, H, W], mask [n, C, H, W]) from a packed condition."""
    channels = c.shape[1] // 2
    return c[:, :channels], c[:, channels:]
