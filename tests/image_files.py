"""A tiny data set of your own images, written by the tests: coloured shapes, one sub-folder per class."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("circle", "square", "triangle", "cross")


def shape_image(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One RGB image [size, size, 3] uint8: a shape of `kind` in a random colour, place and scale on black."""
    yy, xx = np.mgrid[:size, :size] / size
    cx, cy, r = rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65), rng.uniform(0.15, 0.3)
    if kind == "circle":
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r**2
    elif kind == "square":
        mask = (abs(xx - cx) < r) & (abs(yy - cy) < r)
    elif kind == "triangle":
        mask = (yy > cy - r) & (yy < cy + r) & (abs(xx - cx) < (yy - (cy - r)) / 2)
    else:
        mask = (abs(xx - cx) < r / 3) & (abs(yy - cy) < r) | (abs(yy - cy) < r / 3) & (abs(xx - cx) < r)
    image = np.zeros((size, size, 3), np.uint8)
    image[mask] = rng.integers(80, 256, 3)
    return image


def write_shapes(root: Path, per_class: int = 50, size: int = 16, seed: int = 0) -> tuple[Path, Path]:
    """A folder root/shapes/<class>/<i>.png and the same images as root/shapes.npz (images [N, H, W, 3],
    labels [N], in the folder's order)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder = root / "shapes"
    images, labels = [], []
    for label, kind in enumerate(CLASSES):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = shape_image(kind, size, rng)
            Image.fromarray(image).save(folder / kind / f"{i:04d}.png")
            images.append(image)
            labels.append(label)
    np.savez(root / "shapes.npz", images=np.stack(images), labels=np.array(labels))
    return folder, root / "shapes.npz"
