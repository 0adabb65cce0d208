"""advnets evaluate: evaluate a trained generator (Parzen window, Table 1), or images from anywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from advnets.commands.options import (add_device, add_generator_choice, mask_name, positive_float, positive_int,
                                      seed_list)
from advnets.commands.presentation import refuse_to_overwrite, say, say_and_record
from advnets.errors import ConfigError

DESCRIPTION = ("Evaluate a snapshot, or images from any generator, with a named protocol; prints one JSON line "
               "(a snapshot's is also appended to metrics.jsonl beside it).")

EXAMPLES = """examples:
  advnets evaluate runs/00000-paper-mnist --metric parzen             # the paper's protocol
  advnets evaluate runs/00000-paper-mnist --metric parzen --baseline train
  advnets evaluate runs/00000-paper-mnist --metric parzen --baseline kmeans   # about 80 s on 2 CPU cores
  advnets evaluate runs/00001-toy-ring --metric modes                   # 2,500 samples
  advnets evaluate runs/00002-toy-1d-normal --metric optimal-d          # Proposition 1, about a minute
  advnets evaluate runs/00003-inpaint-mnist --metric inpainting --mask right-half
  advnets infer runs/00000-paper-mnist && advnets evaluate runs/00000-paper-mnist --metric inference
  advnets evaluate their-gan/pngs --metric mnistclf-features --reference mnist:test   # images from anywhere
  advnets evaluate samples.npz --metric features --features mnistclf --reference ref.npz   # saved statistics
  advnets evaluate their-gan/pngs --metric parzen --reference mnist:test

Protocol (docs/paper.md section 5): Gaussian kernels on --n-samples samples; sigma from
logspace(-1, 0, 10) chosen by the best mean log-likelihood of validation images train[50000:51000];
reported: mean and std/sqrt(N) over the 10,000 test images; pixels in [0, 1]; no dropout."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from advnets.metrics import registry as metrics
    from advnets.metrics.parzen_window import BASELINES

    listed = [metrics.get(name) for name in metrics.names()]
    p.add_argument("source", metavar="SOURCE", help="a run directory or a .safetensors snapshot (its G's samples), "
                   "or images from anywhere: a folder of image files (class sub-folders give their classes) or a "
                   ".npy / .npz of uint8 images [N, H, W], [N, H, W, C] or [N, C, H, W]")
    p.add_argument("--metric", required=True, choices=metrics.names(), metavar="METRIC",
                   help="; ".join(f"{m.name}: {m.summary}" for m in listed).replace("%", "%%"))
    p.add_argument("--mask", type=mask_name, help="inpainting: the hidden pixels, one of left-half, right-half, "
                   "top-half, bottom-half, center, random:P (default right-half)")
    p.add_argument("--n-samples", type=positive_int, default=None,
                   help="default: " + "; ".join(f"{m.name} {m.default_n} {m.n_counts}" for m in listed)
                   + "; images from anywhere: the first N (default: all of them)")
    p.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    p.add_argument("--seeds", type=seed_list, metavar="LIST", help="instead of --seed: the metric once per sample "
                   "seed (e.g. 0-4), reported as mean and standard error over the seeds, with each seed's value")
    p.add_argument("--baseline", choices=BASELINES,
                   help="score a critique baseline instead of G's samples (Theis et al. 2016): N real training "
                        "images, or N k-means centroids of the training set")
    p.add_argument("--ais-steps", type=positive_int, metavar="T", help="ais: intermediate distributions (default "
                   "10,000, converged on a linear decoder at MNIST's sizes; Wu et al. used up to 10,000)")
    p.add_argument("--chains", type=positive_int, metavar="N", help="ais: chains per image (default 4; theirs 16)")
    p.add_argument("--leapfrog", type=positive_int, metavar="L", help="ais: leapfrog steps per HMC transition "
                   "(default 5; theirs 10)")
    p.add_argument("--variance", type=positive_float, metavar="S2", help="ais: the observation model's variance "
                   "s^2 (default: chosen on validation images)")
    p.add_argument("--features", metavar="NAME", help="features: the registered feature network "
                   "(advnets.register_features; mnistclf: the shipped MNIST classifier's)")
    p.add_argument("--split", choices=("test", "valid"), help="parzen, mnistclf-features, features: the images the "
                   "samples are compared with: test (default: the numbers to report) or valid (the validation split, "
                   "to choose between models: advnets study)")
    p.add_argument("--reference", metavar="REF", help="what the samples are compared with: a data set's split "
                   "(mnist:test; NAME alone: its test split), a folder or array of images, or a statistics file of "
                   "advnets reference-stats (default for a run: its data set's test split)")
    p.add_argument("--size", type=positive_int, metavar="PIXELS", help="images from a folder or array: each "
                   "centre-cropped to a square and resized to PIXELS x PIXELS (as data.size)")
    p.add_argument("--channels", type=int, choices=(1, 3), help="images from a folder or array: 1 (grey) or 3 (RGB), "
                   "as data.channels (default: as stored)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (default: the run's data.dir, "
                   "$ADVNETS_DATA, the user cache)")
    add_device(p)
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
    from advnets.metrics import image_sets
    from advnets.metrics import registry as metrics
    from advnets.metrics.spec import MetricRequest
    from advnets.runtime import resolve_device

    device = resolve_device(args.device)
    if args.reference is not None and args.split is not None:
        raise ConfigError("--split picks a split of the run's own data set; --reference names the reference instead")
    images = image_sets.is_image_source(args.source)
    metrics.get(args.metric)  # an unknown metric first, before anything is read
    read_from_files = images or (args.reference is not None and Path(args.reference).expanduser().exists())
    if (args.size or args.channels) and not read_from_files:
        raise ConfigError("--size and --channels shape images read from a folder or array (SOURCE or --reference); "
                          "a run's samples and a data set's split are as they are")
    reference = None if args.reference is None else image_sets.resolve(args.reference, args.data_dir, args.size,
                                                                         args.channels)
    request = MetricRequest(n_samples=args.n_samples, seed=args.seed, data_dir=args.data_dir, device=device,
                            baseline=args.baseline, mask=args.mask, ais_steps=args.ais_steps, chains=args.chains,
                            leapfrog=args.leapfrog, variance=args.variance, features=args.features,
                            split=args.split, reference=reference)
    if images:
        return _evaluate_images(args, request)
    from advnets.snapshot import load_snapshot, resolve_snapshot_path

    refuse_to_overwrite(metrics.metrics_path(resolve_snapshot_path(args.source, args.generator)), True)  # appended to
    snap = load_snapshot(args.source, device, args.generator)
    if args.seeds is not None:
        row = metrics.evaluate_over_seeds(args.metric, snap, request, args.seeds)
    else:
        row = metrics.evaluate(args.metric, snap, request)
    say_and_record(snap.path, row)
    return 0


def _evaluate_images(args: argparse.Namespace, request) -> int:
    """Images from anywhere: the row printed (nothing is written beside a user's images)."""
    import dataclasses

    from advnets.metrics import image_sets
    from advnets.metrics import registry as metrics

    if args.seeds is not None:
        raise ConfigError("--seeds draws a generator's samples again; images are scored as given (one row)")
    samples = image_sets.resolve(args.source, args.data_dir, args.size, args.channels, option="SOURCE",
                                 stats_allowed=False)
    if args.n_samples is not None:
        samples = image_sets.first(samples, args.n_samples)
    say(metrics.evaluate_images(args.metric, samples, dataclasses.replace(request, n_samples=samples.count)))
    return 0
