"""advnets figure: draw one of the paper's figures, or training curves, from a run."""

from __future__ import annotations

import argparse

from advnets.commands.options import add_generator_choice, output_file, positive_int
from advnets.commands.presentation import refuse_to_overwrite
from advnets.errors import ConfigError
from advnets.figures import FIGURES

DESCRIPTION = "Draw a figure from a run's files."

EXAMPLES = """examples:
  advnets figure fig2 runs/q --seed 0 --out fig2.png         # samples + nearest training images
  advnets figure fig3 runs/q --rows 5 --interp-steps 10 --slerp --out fig3.png
  advnets figure curves runs/q --out curves.png
  advnets train toy-1d --out runs/t1 && advnets figure fig1 runs/t1 --out fig1.png
  advnets figure fig1 runs/t1 --steps 50 200 400 600 --out fig1.png
  advnets figure modes runs/00000-toy-ring --n 2500 --out modes.png"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=list(FIGURES),
                   help="fig1: Figure 1 from a 1-D run; fig2: samples with nearest training images; fig3: "
                        "interpolation in z; curves: training curves; modes: 2-D samples over the mode centres; "
                        "classes: a conditional model's samples, one row per class; inpaint: an inpainting "
                        "model's completions of test images (--rows images, --cols completions; the mask and "
                        "more options: advnets inpaint)")
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run directory (fig1 and curves need one) or a snapshot")
    p.add_argument("--out", type=output_file(".png", ".gif"), required=True, metavar="FILE.png",
                   help="output image (FILE.gif with --animate)")
    p.add_argument("--seed", type=int, default=0, help="sample seed (default 0; printed on the figure)")
    p.add_argument("--steps", type=int, nargs=4, metavar="STEP", help="fig1: the probes for panels (a)-(d)")
    p.add_argument("--animate", action="store_true", help="fig1, modes: the figure over training, one frame per "
                   "probe or progress plot, as an animated GIF (--out FILE.gif)")
    p.add_argument("--rows", type=positive_int, help="fig2, fig3: rows (default 5)")
    p.add_argument("--cols", type=positive_int, help="fig2: samples per row before the neighbour column (default 4); "
                   "classes: samples per class (default 10)")
    p.add_argument("--interp-steps", type=positive_int, help="fig3: images per row, endpoints included (default 10)")
    p.add_argument("--slerp", action="store_true", help="fig3: spherical instead of linear interpolation")
    p.add_argument("--n", type=positive_int, help="modes: number of samples (default 2500)")
    p.add_argument("--data-dir", metavar="DIR", help="fig2: data directory (default: the run's, $ADVNETS_DATA, cache)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
    from advnets import figures

    refuse_to_overwrite(args.out, args.force)
    if args.animate:
        if args.kind not in figures.ANIMATIONS:
            raise ConfigError(f"--animate: only {' and '.join(figures.ANIMATIONS)} are drawn over training, not {args.kind}")
        if args.out.suffix != ".gif":
            raise ConfigError(f"--animate writes an animated GIF: --out must end in .gif (got {args.out.name})")
        print(f"wrote {args.out} ({figures.draw(args.kind, args.source, args.out, animate=True)})")
        return 0
    if args.out.suffix != ".png":
        raise ConfigError(f"--out must end in .png (got {args.out.name}; .gif is for --animate)")
    variant = {"variant": args.generator}
    options = {
        "fig1": {"steps": args.steps},
        "fig2": {"rows": args.rows or 5, "cols": args.cols or 4, "seed": args.seed, "data_dir": args.data_dir, **variant},
        "fig3": {"rows": args.rows or 5, "steps": args.interp_steps or 10, "seed": args.seed, "spherical": args.slerp,
                 **variant},
        "curves": {},
        "modes": {"n": args.n or 2500, "seed": args.seed, **variant},
        "classes": {"cols": args.cols or 10, "seed": args.seed, **variant},
        "inpaint": {"rows": args.rows or 8, "completions": args.cols or 6, "seed": args.seed, "data_dir": args.data_dir,
                    **variant},
    }[args.kind]
    summary = figures.draw(args.kind, args.source, args.out, **options)
    print(f"wrote {args.out} ({summary})")
    return 0
