"""How FID, KID and precision/recall move with the number of images scored (docs/evaluation.md, "How many
images"): the curve behind advnets' small-sample warning (advnets.metrics.warnings.MIN_IMAGES).

On the shipped MNIST classifier's features, against MNIST's 10,000 test images:
- real: n training images (a perfect generator: every difference from the value at 10,000 is the
  estimator's own, from the size alone);
- a generator: n samples of a trained snapshot (default: the main job's fast-mnist run).
Each n is drawn --draws times (other images, other samples); the table gives the mean and the spread
(standard deviation over the draws). Then the other way round: 10,000 samples against m test images.

    python experiments/fid_bias.py --data-dir ../shared/data [--snapshot runs/main/fast-mnist-...]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from advnets.data import registry as datasets
from advnets.metrics.classifier_features import (classifier_features, frechet_distance, kid,
                                                 precision_recall_density_coverage)
from advnets.sampling import generate
from advnets.snapshot import load_snapshot

SIZES = (50, 100, 200, 500, 1000, 2000, 5000, 10000)
KEYS = ("fid", "kid", "precision", "recall")


def scores(real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
    return {"fid": frechet_distance(real, fake), "kid": kid(real, fake)["kid"],
            **{k: v for k, v in precision_recall_density_coverage(real, fake).items() if k in ("precision", "recall")}}


def curve(pool: torch.Tensor, test: torch.Tensor, draws: int, vary_reference: bool = False) -> dict[int, dict]:
    """For each size n: the mean and std over `draws` of each score, n images of `pool` (or, with
    `vary_reference`, all of `pool` against n test images)."""
    out = {}
    for n in SIZES:
        rows = []
        for draw in range(draws if n < 10_000 else 1):
            g = torch.Generator().manual_seed(draw)
            if vary_reference:
                rows.append(scores(test[torch.randperm(len(test), generator=g)[:n]], pool[:10_000]))
            else:
                rows.append(scores(test, pool[torch.randperm(len(pool), generator=g)[:n]]))
        out[n] = {k: (statistics.fmean(r[k] for r in rows), statistics.pstdev([r[k] for r in rows])) for k in KEYS}
    return out


def print_table(title: str, table: dict[int, dict]) -> None:
    print(f"\n{title}\n\n| n | FID | KID | precision | recall |\n|---:|---:|---:|---:|---:|")
    for n, row in table.items():
        cells = [f"{row['fid'][0]:.2f} ± {row['fid'][1]:.2f}", f"{row['kid'][0]:.2f} ± {row['kid'][1]:.2f}",
                 f"{row['precision'][0]:.3f} ± {row['precision'][1]:.3f}",
                 f"{row['recall'][0]:.3f} ± {row['recall'][1]:.3f}"]
        print(f"| {n:,} | " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--snapshot", help="a trained MNIST run or snapshot (default: the newest fast-mnist run of "
                        "the main job under runs/main)")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    spec = datasets.get("mnist")
    test = classifier_features("mnist", spec.load_images("test", args.data_dir)[0])
    train = classifier_features("mnist", spec.load_images("train", args.data_dir)[0])
    source = args.snapshot or str(sorted(Path("runs/main").glob("fast-mnist-*"))[-1])
    snap = load_snapshot(source)
    samples = classifier_features("mnist", generate(snap.generator, 20_000, seed=0))
    print(f"MNIST classifier features; reference: the 10,000 test images; {args.draws} draws per size")
    print_table("Real training images (a perfect generator), n of them", curve(train, test, args.draws))
    print_table(f"Samples of {source} ({snap.variant} G, step {snap.step}), n of them",
                curve(samples, test, args.draws))
    print_table(f"10,000 samples of {source} against m test images", curve(samples, test, args.draws, True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
