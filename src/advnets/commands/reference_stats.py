"""advnets reference-stats: a reference set's statistics in a feature network's features, saved once."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from advnets.commands.options import positive_int
from advnets.commands.presentation import refuse_to_overwrite
from advnets.errors import ConfigError

DESCRIPTION = ("Save a reference set's statistics in a feature network's features (its features for KID and "
               "precision/recall, their mean and covariance for FID, which network and which images) to an .npz, "
               "for advnets evaluate SOURCE --reference FILE: the same numbers as the images give, without them.")

EXAMPLES = """examples:
  advnets reference-stats mnist:test --features mnistclf --out mnist-test.npz
  advnets reference-stats ~/my-images --features mine --size 64 --out mine-ref.npz
  advnets evaluate their-gan/pngs --metric mnistclf-features --reference mnist-test.npz"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("reference", metavar="REFERENCE", help="a data set's split (mnist:test; NAME alone: its test "
                   "split), a folder of images or a .npy / .npz of uint8 images")
    p.add_argument("--features", required=True, metavar="NAME", help="the registered feature network (mnistclf: the "
                   "shipped MNIST classifier's; your own: advnets.register_features)")
    p.add_argument("--out", required=True, metavar="FILE.npz", help="where to write the statistics")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--size", type=positive_int, metavar="PIXELS", help="images from a folder or array: resized to "
                   "PIXELS x PIXELS (as data.size; samples scored against the file must be the same size)")
    p.add_argument("--channels", type=int, choices=(1, 3), help="images from a folder or array: 1 (grey) or 3 (RGB)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory for a data set's split (default: "
                   "$ADVNETS_DATA, the user cache)")


def run(args: argparse.Namespace) -> int:
    from advnets.metrics import image_sets
    from advnets.metrics.feature_stats import save_stats
    from advnets.metrics.feature_networks import feature_network, reference_stats

    out = Path(args.out)
    if out.suffix.lower() != ".npz":
        raise ConfigError(f"--out {out}: name a .npz file (statistics files are NumPy archives)")
    refuse_to_overwrite(out, args.force)
    images = image_sets.resolve(args.reference, args.data_dir, args.size, args.channels, option="REFERENCE",
                                stats_allowed=False)
    network, identity = feature_network(args.features)
    stats = reference_stats(images, args.features, network, identity, images.x_shape, args.data_dir)
    save_stats(stats, out)
    print(json.dumps({"wrote": str(out), "reference": images.what, "count": stats.count,
                      "features": args.features, "dim": int(stats.features.shape[1]),
                      "features_weights_sha256": identity["features_weights_sha256"]}))
    return 0
