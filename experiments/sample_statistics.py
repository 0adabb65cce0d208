"""Simple statistics of a generator's samples beside real images, to read a Parzen score by.

Parzen windows can reward soft, average-looking images (Theis et al. 2016: k-means centroids beat
real images), so a Parzen gain is worth checking against plain numbers. For 10,000 samples (seed 0)
of each snapshot, and for 10,000 training images as a reference:
- ink: the mean pixel value (pixels in [0, 1]);
- grey share: among stroke pixels (above 0.1), the share below 0.9; blurred samples have more grey;
- nearest distance: the mean squared L2 distance from each of the first 2,000 test images to its
  nearest sample (lower: the test images are better covered).

    python experiments/sample_statistics.py pretrained/mnist-paper runs/avg/s1-....safetensors
"""

from __future__ import annotations

import argparse

import torch

from advnets.data import registry as datasets
from advnets.errors import AdvnetsError
from advnets.metrics.nearest import nearest_rows
from advnets.sampling import generate, require_whole_images
from advnets.snapshot import load_snapshot

N_IMAGES, N_QUERIES = 10_000, 2_000


def statistics(images: torch.Tensor, test: torch.Tensor) -> str:
    """The table row's numbers for `images` [N, d] against `test` [M, d], all in [0, 1]."""
    stroke = images > 0.1
    grey = float(((images < 0.9) & stroke).sum() / stroke.sum())
    nearest = float(nearest_rows(test, images)[1].mean())
    return f"{float(images.mean()):.4f} | {grey:.3f} | {nearest:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("snapshots", nargs="+", help="run directories or .safetensors snapshots")
    parser.add_argument("--data-dir", help="data directory (default: $ADVNETS_DATA, the cache)")
    args = parser.parse_args()
    try:
        snaps = [load_snapshot(s) for s in args.snapshots]
        for snap in snaps:
            require_whole_images(snap, "sample statistics")
        name = snaps[0].config.data.name

        def split(which: str, n: int) -> torch.Tensor:
            return torch.from_numpy(datasets.get(name).load_pixels(which, args.data_dir)[0][:n]).reshape(n, -1).float() / 255

        test = split("test", N_QUERIES)
        print("| images | ink | grey share | nearest distance |\n|---|---:|---:|---:|")
        print(f"| {N_IMAGES:,} training images | {statistics(split('train', N_IMAGES), test)} |")
        for source, snap in zip(args.snapshots, snaps):
            samples = generate(snap.generator, N_IMAGES, seed=0).reshape(N_IMAGES, -1)
            print(f"| {source} ({snap.variant} G, step {snap.step}) | {statistics(samples, test)} |")
    except AdvnetsError as e:
        parser.exit(1, f"{parser.prog}: error: {e}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
