"""advnets inpaint: complete test images with some pixels hidden (inpainting models)."""

from __future__ import annotations

import argparse

from advnets.commands.options import add_generator_choice, mask_name, non_negative_int, output_file, positive_int
from advnets.commands.presentation import refuse_to_overwrite

DESCRIPTION = ("Show test images, the pixels an inpainting model is given, and several of its completions, one row "
               "per image.")

EXAMPLES = """examples:
  advnets inpaint runs/inpaint-s0 --mask right-half --out right.png     # 8 test images x 6 completions
  advnets inpaint runs/inpaint-s0 --mask random:0.7 --n 4 --completions 10 --first 100 --out r70.png

The numbers behind such a figure: advnets evaluate RUN --metric inpainting --mask right-half"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run of an inpainting model (data.inpainting)")
    p.add_argument("--mask", type=mask_name, default="right-half", help="the hidden pixels: left-half, right-half, "
                   "top-half, bottom-half, center or random:P (a fraction P of the pixels; default right-half)")
    p.add_argument("--n", type=positive_int, default=8, help="test images, one row each (default 8)")
    p.add_argument("--completions", type=positive_int, default=6, help="completions per image (default 6)")
    p.add_argument("--first", type=non_negative_int, default=0, help="index of the first test image (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the completions and of random:P masks (default 0)")
    p.add_argument("--out", type=output_file(".png"), required=True, metavar="FILE.png", help="output image")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (default: the run's, $ADVNETS_DATA, cache)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
    from advnets import figures

    refuse_to_overwrite(args.out, args.force)
    summary = figures.draw("inpaint", args.source, args.out, mask=args.mask, rows=args.n, completions=args.completions,
                           seed=args.seed, first=args.first, data_dir=args.data_dir, variant=args.generator)
    print(f"wrote {args.out} ({summary})")
    return 0
