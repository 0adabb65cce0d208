"""advnets semisup: semi-supervised MNIST with few labels, from a GAN (future work 4)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from advnets.commands.options import add_generator_choice, multiple_of, non_negative_int, positive_int
from advnets.commands.presentation import refuse_to_overwrite

DESCRIPTION = ("Test error of one method with --labels labels (equal per class, drawn from train[0:50000]) over "
               "--draws label draws; the rest of the split is unlabelled. Prints one line per draw and a summary "
               "JSON line.")

EXAMPLES = """examples:
  advnets semisup --method pixels --labels 100 --draws 5                   # the baseline, seconds
  advnets semisup --method d-features --run runs/mnist-s0 --labels 100     # D's hidden layers
  advnets infer runs/mnist-s0 && advnets semisup --method e-features --run runs/mnist-s0
  advnets semisup --method kplus1 --labels 100 --draws 5 --epochs 10 --out semisup.jsonl

Protocol: labelled images drawn per class from train[0:50000] (draw d is fixed by d), the rest of
that split unlabelled, test error on the 10,000 test images. Linear methods choose their L2 penalty
by 5-fold cross-validation on the labelled images alone."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from advnets.semisup.run import METHODS

    p.add_argument("--method", required=True, choices=METHODS,
                   help="pixels: logistic regression on raw pixels; d-features / e-features: the same on the "
                        "hidden layers of --run's D / inference network; kplus1: a GAN whose D classifies K+1 "
                        "classes (Salimans et al. 2016)")
    p.add_argument("--labels", type=multiple_of(10, "equal per class"), default=100,
                   help="labelled images, a multiple of 10 (default 100)")
    p.add_argument("--draws", type=positive_int, default=5, help="label draws 0 .. N-1 (default 5)")
    p.add_argument("--first-draw", type=non_negative_int, default=0, help="number of the first draw (default 0)")
    p.add_argument("--run", metavar="RUN_DIR", help="d-features, e-features: a trained MNIST GAN")
    p.add_argument("--epochs", type=positive_int, default=10,
                   help="kplus1: epochs over the unlabelled images (default 10)")
    p.add_argument("--out", type=Path, metavar="FILE.jsonl", help="append one JSON line per draw")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (default $ADVNETS_DATA, the user cache)")
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
    from advnets.semisup.run import run_semisup

    if args.out is not None:
        refuse_to_overwrite(args.out, True)  # appended to
    draws = list(range(args.first_draw, args.first_draw + args.draws))
    summary = run_semisup(args.method, args.labels // 10, draws, args.data_dir, args.run, args.epochs, args.out,
                          args.generator)
    print(json.dumps(summary))
    return 0
