"""Sample grids (images) and scatter plots (1-D / 2-D synthetic data) as PNG files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from advnets.fileio import atomic_output


def to_uint8(x: torch.Tensor, preprocessing=None) -> np.ndarray:
    """Pixels in [0, 1] -> uint8 in [0, 255] (rounded), same shape. With `preprocessing` (a run's
    data/preprocess.py Preprocessing), images of its model space are first mapped to [0, 1] for showing."""
    if preprocessing is not None:
        x = preprocessing.to_display(x.detach())
    return (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def image_grid(images: np.ndarray, ncol: int | None = None, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile uint8 images [n, C, H, W] (C = 1 or 3) into one [H', W'] or [H', W', 3] array."""
    n, c, h, w = images.shape
    ncol = ncol or math.ceil(math.sqrt(n))
    nrow = math.ceil(n / ncol)
    canvas = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad, c), pad_value, dtype=np.uint8)
    for i in range(n):
        r, col = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        canvas[top : top + h, left : left + w] = images[i].transpose(1, 2, 0)
    return canvas[..., 0] if c == 1 else canvas


def new_figure(**options):
    """A matplotlib Figure outside pyplot (options: figsize, dpi, ...): drawing a file this way never switches
    the caller's backend, nor leaves a figure open in a notebook or a GUI."""
    from matplotlib.figure import Figure

    return Figure(**options)


def save_figure(fig, out: str | Path, **options) -> None:
    """matplotlib's savefig, atomically (the format from `out`'s suffix, default PNG)."""
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format=Path(out).suffix[1:] or "png", **options)


def save_gif(frames: list[Path], out: str | Path, frame_ms: int = 400) -> None:
    """PNG frames as one looping animated GIF, atomically; frames of other sizes are centred on a white canvas
    of the largest."""
    pictures = [Image.open(f).convert("RGB") for f in frames]
    width, height = max(p.width for p in pictures), max(p.height for p in pictures)
    canvas = []
    for picture in pictures:
        frame = Image.new("RGB", (width, height), "white")
        frame.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
        canvas.append(frame.quantize(colors=255))
    with atomic_output(out) as tmp:
        canvas[0].save(tmp, format="GIF", save_all=True, append_images=canvas[1:], duration=frame_ms, loop=0)


def save_image(image: np.ndarray, path: str | Path) -> None:
    """One uint8 image [C, H, W] (C = 1 or 3) as a PNG of its own size, atomically."""
    pixels = image.transpose(1, 2, 0)
    with atomic_output(path) as tmp:
        Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(tmp, format="PNG")


def save_image_grid(images: np.ndarray, path: str | Path, ncol: int | None = None) -> None:
    with atomic_output(path) as tmp:
        Image.fromarray(image_grid(images, ncol)).save(tmp, format=Image.registered_extensions().get(
            Path(path).suffix.lower(), "PNG"))


def save_progress_image(samples: torch.Tensor, path: Path, title: str = "", preprocessing=None) -> None:
    """Images as a grid (shown through `preprocessing`'s display map where given, see to_uint8); 1-D
    and 2-D points as a histogram or a scatter plot (matplotlib)."""
    if samples.ndim == 4:
        save_image_grid(to_uint8(samples, preprocessing), path)
        return
    points = samples.detach().float().cpu().numpy()
    fig = new_figure(figsize=(4, 4), dpi=100)
    ax = fig.subplots()
    if points.shape[1] == 1:
        ax.hist(points[:, 0], bins=60, color="tab:green", alpha=0.8)
    else:
        ax.scatter(points[:, 0], points[:, 1], s=4, color="tab:green", alpha=0.6)
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
