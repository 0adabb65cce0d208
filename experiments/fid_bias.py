"""How FID, KID and precision/recall move with the number of images scored (docs/evaluation.md, "How many
images"): the curve behind advnets' small-sample warning (advnets.metrics.warnings.MIN_IMAGES).

On the shipped MNIST classifier's features, against MNIST's 10,000 test images:
- real: n training images (a perfect generator: every difference from the value at 10,000 is the
  estimator's own, from the size alone);
- a generator: n samples of a trained snapshot (default: the main job's fast-mnist run).
Each n is drawn --draws times (other images, other samples); the table gives the mean and the spread
(standard deviation over the draws). Then the other way round: 10,000 samples against m test images.

    python experiments/fid_bias.py --data-dir ../shared/data [--snapshot runs/main/fast-mnist-...]
        [--plot docs/figures/fid-bias-mnistclf.png]
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


def plot(tables: dict[str, dict[int, dict]], path: str) -> None:
    """FID's excess over its value at 10,000 (log-log) and recall, against n, one line per table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, table in tables.items():
        sizes = [n for n in table if n < 10_000]
        excess = [table[n]["fid"][0] - table[10_000]["fid"][0] for n in sizes]
        left.errorbar(sizes, excess, yerr=[table[n]["fid"][1] for n in sizes], marker="o", ms=3, capsize=2,
                      label=label)
        right.errorbar(list(table), [table[n]["recall"][0] for n in table],
                       yerr=[table[n]["recall"][1] for n in table], marker="o", ms=3, capsize=2, label=label)
    left.set(xscale="log", yscale="log", xlabel="images scored (n)", ylabel="FID(n) - FID(10,000)",
             title="FID's bias from the size alone")
    left.axvline(2000, color="0.5", ls=":", lw=1)
    left.text(2100, left.get_ylim()[1] * 0.5, "warning below 2,000", fontsize=8, color="0.4")
    right.set(xscale="log", xlabel="images scored (n)", ylabel="recall (k = 3)", title="recall against n")
    for ax in (left, right):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--snapshot", help="a trained MNIST run or snapshot (default: the newest fast-mnist run of "
                        "the main job under runs/main)")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--plot", metavar="PNG", help="also draw the curves (FID's excess, recall) to this file")
    args = parser.parse_args()
    spec = datasets.get("mnist")
    test = classifier_features("mnist", spec.load_images("test", args.data_dir)[0])
    train = classifier_features("mnist", spec.load_images("train", args.data_dir)[0])
    source = args.snapshot or str(sorted(Path("runs/main").glob("fast-mnist-*"))[-1])
    snap = load_snapshot(source)
    samples = classifier_features("mnist", generate(snap.generator, 20_000, seed=0))
    print(f"MNIST classifier features; reference: the 10,000 test images; {args.draws} draws per size")
    real = curve(train, test, args.draws)
    print_table("Real training images (a perfect generator), n of them", real)
    fake = curve(samples, test, args.draws)
    print_table(f"Samples of {source} ({snap.variant} G, step {snap.step}), n of them", fake)
    print_table(f"10,000 samples of {source} against n test images", curve(samples, test, args.draws, True))
    if args.plot:
        plot({"real training images": real, f"generator ({snap.config.name}, step {snap.step})": fake}, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
