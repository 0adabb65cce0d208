"""advnets sample: draw samples from a trained generator."""

from __future__ import annotations

import argparse
from pathlib import Path

from advnets.commands.options import add_device, add_generator_choice, output_file, positive_int, seed_list
from advnets.commands.presentation import refuse_to_overwrite
from advnets.errors import ConfigError

DESCRIPTION = "Draw samples x = G(z), z ~ p_z."

EXAMPLES = """examples:
  advnets sample runs/00000-quick-mnist --n 10000 --seed 0 --out samples.npy
  advnets sample runs/00000-quick-mnist/network-latest.safetensors --n 64 --out grid.png

.npy: images as uint8 in [0, 255], shape [N, C, H, W] (MNIST: [N, 1, 28, 28]); synthetic 1-D/2-D
data as float32 [N, dim]. .png: a grid of images (a scatter plot for 2-D data).
Sample i depends only on (--seed, i): the first 64 of --n 10000 equal --n 64."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run directory or a .safetensors snapshot")
    p.add_argument("--n", type=positive_int, help="number of samples (into one --out FILE)")
    p.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    p.add_argument("--seeds", type=seed_list, metavar="LIST", help="instead of --n: one image per seed, "
                   "e.g. 0-35 or 0,4,7 (the image of seed s is sample 0 of --seed s), as --out DIR/seedNNNN.png")
    p.add_argument("--label", type=int, metavar="C", help="conditional models: the class of every sample "
                   "(default: classes 0, 1, ..., 9, 0, 1, ... in turn)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE_OR_DIR",
                   help="output file: .npy or .png; with --seeds, a folder")
    add_device(p)
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
    import io

    import numpy as np
    import torch

    from advnets.data.preprocess import for_data
    from advnets.fileio import atomic_write_bytes
    from advnets.runtime import resolve_device
    from advnets.sampling import generate, require_whole_images
    from advnets.snapshot import load_snapshot
    from advnets.viz import save_progress_image, to_uint8

    out = args.out
    if (args.n is None) == (args.seeds is None):
        raise ConfigError("give --n N (N samples into one file) or --seeds LIST (one image per seed); see "
                          "advnets sample --help")
    if args.seeds is None:
        try:
            output_file(".npy", ".png")(str(out))  # the check an --out FILE gets elsewhere, here after --seeds is known
        except argparse.ArgumentTypeError as e:
            raise ConfigError(f"--out {e}; see advnets sample --help") from None
        refuse_to_overwrite(out, args.force)
    elif out.suffix or (out.exists() and not out.is_dir()):
        raise ConfigError(f"--out with --seeds is a folder for seedNNNN.png files, got {out}")
    else:
        refuse_to_overwrite(out, True, folder=True)
    device = resolve_device(args.device)
    snap = load_snapshot(args.source, device, args.generator)
    require_whole_images(snap, "advnets sample")
    n_classes = snap.generator.n_classes
    if args.label is not None and not n_classes:
        raise ConfigError(f"--label: {args.source} holds an unconditional generator (trained without data.conditional)")
    if args.label is not None and not 0 <= args.label < n_classes:
        raise ConfigError(f"--label must be in 0..{n_classes - 1}, got {args.label}")
    if args.seeds is not None:
        return write_seed_images(snap, args.seeds, out, device, args.label, args.force)
    x = generate(snap.generator, args.n, seed=args.seed, device=device, labels=args.label)  # [n, *x_shape]
    shown = for_data(snap.config.data)
    if out.suffix == ".png":
        save_progress_image(x, out, title=f"{snap.config.name} step {snap.step} seed {args.seed}",
                            preprocessing=shown)  # atomically
    else:  # pixels as uint8, unless the model's space is not pixels (contrast-normalised: float32 as modelled)
        array = to_uint8(x) if x.ndim == 4 and shown.kind == "none" else x.to(torch.float32).numpy()
        buf = io.BytesIO()
        np.save(buf, array)
        atomic_write_bytes(out, buf.getvalue())
    which = ", averaged G" if snap.variant == "ema" else ""
    print(f"wrote {args.n} samples of {snap.config.name} (step {snap.step}{which}, seed {args.seed}) to {out}")
    return 0


def write_seed_images(snap, seeds: list[int], out: Path, device, label: int | None, force: bool) -> int:
    """`advnets sample --seeds`: the image of seed s (sample 0 of seed s) as OUT/seed{s:04d}.png."""
    from advnets.data.preprocess import for_data
    from advnets.sampling import generate
    from advnets.viz import save_image, to_uint8

    paths = [out / f"seed{seed:04d}.png" for seed in seeds]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]} already exists ({len(existing)} of the {len(paths)} files); choose another "
                          "--out or pass --force to overwrite them")
    shown = for_data(snap.config.data)
    for seed, path in zip(seeds, paths):
        x = generate(snap.generator, 1, seed=seed, device=device, labels=label)  # [1, C, H, W]
        save_image(to_uint8(x, shown)[0], path)
    print(f"wrote {len(paths)} images of {snap.config.name} (step {snap.step}), one per seed, to {out}/seedNNNN.png")
    return 0
