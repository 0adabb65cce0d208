"""The ``advnets`` command line: thin subcommands over the library.

User errors (bad config values, missing or corrupt files, existing outputs) print one line,
``advnets: error: ...``, and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import itertools
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, NoReturn

from advnets import __version__
from advnets.errors import (AdvnetsError, ConfigError, TrainingDiverged, TrainingInterrupted,
                            describe_os_error, shell_command)
from advnets.figures import FIGURES

# The library (PyTorch) is imported inside the functions, for the one command that runs: the parser
# lists every command, and `advnets --help` or `advnets presets` should not wait for PyTorch.

EXAMPLES = {
    "main": """examples:
  advnets train quick-mnist --set data.dir=../shared/data     # a few minutes on a CPU
  advnets train paper-mnist --set device=cuda --out runs/mnist-s0
  advnets sample runs/mnist-s0 --n 100 --out samples.png
  advnets presets""",
    "train": """examples:
  advnets train paper-mnist --dry-run                          # print the resolved config
  advnets train quick-mnist --set seed=3 train.steps=3000 --out runs/q3
  advnets train my-config.yaml --data-dir ~/data
  advnets train --resume runs/q3 --set train.steps=6000       # continue to step 6000

Keys for --set are the dotted names printed by --dry-run (e.g. train.k, optim.lr, data.dir).
On --resume only these may change: device, data.dir, data.download, train.steps and the
train.*_every / train.progress bookkeeping keys, and optim.lr_anneal_from / optim.lr_anneal while
the annealing has not begun (old and new); anything else is refused. To branch a run (keep the
original), copy its directory first:
  cp -r runs/q3 runs/q3-anneal
  advnets train --resume runs/q3-anneal --set train.steps=9000 optim.lr_anneal_from=6000 optim.lr_anneal=1.0002""",
    "evaluate": """examples:
  advnets evaluate runs/00000-paper-mnist --metric parzen             # the paper's protocol
  advnets evaluate runs/00000-paper-mnist --metric parzen --baseline train
  advnets evaluate runs/00000-paper-mnist --metric parzen --baseline kmeans   # about 80 s on 2 CPU cores
  advnets evaluate runs/00001-toy-ring --metric modes                   # 2,500 samples
  advnets evaluate runs/00002-toy-1d-normal --metric optimal-d          # Proposition 1, about a minute
  advnets evaluate runs/00003-inpaint-mnist --metric inpainting --mask right-half
  advnets infer runs/00000-paper-mnist && advnets evaluate runs/00000-paper-mnist --metric inference

Protocol (docs/paper.md section 5): Gaussian kernels on --n-samples samples; sigma from
logspace(-1, 0, 10) chosen by the best mean log-likelihood of validation images train[50000:51000];
reported: mean and std/sqrt(N) over the 10,000 test images; pixels in [0, 1]; no dropout.""",
    "figure": """examples:
  advnets figure fig2 runs/q --seed 0 --out fig2.png         # samples + nearest training images
  advnets figure fig3 runs/q --rows 5 --interp-steps 10 --slerp --out fig3.png
  advnets figure curves runs/q --out curves.png
  advnets train toy-1d --out runs/t1 && advnets figure fig1 runs/t1 --out fig1.png
  advnets figure fig1 runs/t1 --steps 50 200 400 600 --out fig1.png
  advnets figure modes runs/00000-toy-ring --n 2500 --out modes.png""",
    "inpaint": """examples:
  advnets inpaint runs/inpaint-s0 --mask right-half --out right.png     # 8 test images x 6 completions
  advnets inpaint runs/inpaint-s0 --mask random:0.7 --n 4 --completions 10 --first 100 --out r70.png

The numbers behind such a figure: advnets evaluate RUN --metric inpainting --mask right-half""",
    "infer": """examples:
  advnets infer runs/mnist-s0 --out recon.png       # fits E (20,000 steps) once, then reuses it
  advnets infer runs/mnist-joint --joint --out recon.png     # the E trained alongside (inference.joint=true)

E is saved beside the snapshot as inference-net.safetensors (with the snapshot's hash and the
settings it was fitted with); a later call with the same settings reuses it, other settings need --refit.
Redraw the figure from the saved E: advnets infer runs/mnist-s0 --out recon.png --force""",
    "semisup": """examples:
  advnets semisup --method pixels --labels 100 --draws 5                   # the baseline, seconds
  advnets semisup --method d-features --run runs/mnist-s0 --labels 100     # D's hidden layers
  advnets infer runs/mnist-s0 && advnets semisup --method e-features --run runs/mnist-s0
  advnets semisup --method kplus1 --labels 100 --draws 5 --epochs 10 --out semisup.jsonl

Protocol: labelled images drawn per class from train[0:50000] (draw d is fixed by d), the rest of
that split unlabelled, test error on the 10,000 test images. Linear methods choose their L2 penalty
by 5-fold cross-validation on the labelled images alone.""",
    "sample": """examples:
  advnets sample runs/00000-quick-mnist --n 10000 --seed 0 --out samples.npy
  advnets sample runs/00000-quick-mnist/network-latest.safetensors --n 64 --out grid.png

.npy: images as uint8 in [0, 255], shape [N, C, H, W] (MNIST: [N, 1, 28, 28]); synthetic 1-D/2-D
data as float32 [N, dim]. .png: a grid of images (a scatter plot for 2-D data).
Sample i depends only on (--seed, i): the first 64 of --n 10000 equal --n 64.""",
    "export": """examples:
  advnets export runs/mnist-s0 --out pretrained/mnist   # the averaged G, if kept
  advnets export runs/mnist-s0 --generator live --out g-live.safetensors""",
    "average": """examples:
  advnets average runs/m/network-00100000.safetensors runs/m/network-00150000.safetensors \\
      runs/m/network-latest.safetensors --validate --out g-avg.safetensors
  advnets evaluate g-avg.safetensors --metric parzen

Choose the snapshots on the validation score (--validate), not on the test set.""",
    "report": """example:
  advnets report runs/00000-quick-mnist        # writes runs/00000-quick-mnist/report.html""",
    "presets": """example:
  advnets presets""",
}


class Parser(argparse.ArgumentParser):
    """argparse with advnets' error contract: a bad argument is a ConfigError, which main() prints as
    one line on stderr with exit status 2 (not argparse's usage block)."""

    def error(self, message: str) -> NoReturn:
        # "argument --n: must be >= 1, got 0" -> "--n must be >= 1, got 0" (this module's types say "must")
        match = re.fullmatch(r"argument ([^:]+): (.*)", message, flags=re.S)
        if match:
            name, reason = match.groups()
            message = f"{name} {reason}" if reason.startswith("must ") else f"{name}: {reason}"
        raise ConfigError(f"{' '.join(message.split())}; see {self.prog} --help")


# Argument types: each checks one kind of value at parse time, before anything is loaded or written.


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def multiple_of(n: int, what: str) -> Callable[[str], int]:
    def check(text: str) -> int:
        value = _int(text)
        if value < n or value % n:
            raise argparse.ArgumentTypeError(f"must be a positive multiple of {n} ({what}), got {value}")
        return value

    return check


def output_file(*suffixes: str) -> Callable[[str], Path]:
    """A path whose name ends in one of `suffixes` (whether it may exist is --force's business)."""
    def check(text: str) -> Path:
        path = Path(text)
        if path.suffix not in suffixes:
            raise argparse.ArgumentTypeError(f"must end in {' or '.join(suffixes)} (got {path.name})")
        return path

    return check


def mask_name(text: str) -> str:
    """One of the named masks of advnets.data.masks."""
    from advnets.data.masks import check_mask_name

    try:
        check_mask_name(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix(f"--mask {text}: ").removeprefix("--mask ")) from None
    return text


def seed_list(text: str) -> list[int]:
    """Seeds as "0-35", "0,4,7" or both ("0-3,9"): each at most once, in the order given."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        low = _int(first)
        high = _int(last) if last else low
        if low < 0 or high < low:
            raise argparse.ArgumentTypeError(f"must be seeds >= 0 as A-B (A <= B) or A,B,C, got {text!r}")
        seeds.extend(s for s in range(low, high + 1) if s not in seeds)
    if len(seeds) > 100_000:
        raise argparse.ArgumentTypeError(f"names {len(seeds)} seeds; at most 100,000")
    return seeds


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def add_generator_choice(p: argparse.ArgumentParser) -> None:
    from advnets.snapshot import VARIANTS

    p.add_argument("--generator", choices=VARIANTS, default="auto",
                   help="which generator of a run that kept a moving average of G's weights (train.ema_decay): "
                        "ema, the average; live, G itself (from a run directory: the snapshot whose live G "
                        "validated best); auto (default): the average when there is one")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


# ----------------------------------------------------------------------------------------------
# each command's arguments (COMMANDS below lists the commands)


def _train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", metavar="PRESET_OR_YAML",
                   help="a preset name (see `advnets presets`) or a YAML file; optional with --resume")
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="override config keys, e.g. --set seed=1 train.steps=2000")
    p.add_argument("--out", metavar="DIR", help="run directory to create (must not exist or be empty); "
                   "default: the next runs/NNNNN-NAME")
    p.add_argument("--runs-root", metavar="DIR", default="runs", help="where numbered run directories go")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its training state, exactly")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (same as --set data.dir=DIR)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--verbose", action="store_true", help="print the resolved config before training "
                   "(it is always saved as RUN_DIR/config.yaml)")
    p.set_defaults(func=cmd_train)


def _sample_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run directory or a .safetensors snapshot")
    p.add_argument("--n", type=positive_int, help="number of samples (into one --out FILE)")
    p.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    p.add_argument("--seeds", type=seed_list, metavar="LIST", help="instead of --n: one image per seed, "
                   "e.g. 0-35 or 0,4,7 (the image of seed s is sample 0 of --seed s), as --out DIR/seedNNNN.png")
    p.add_argument("--label", type=int, metavar="C", help="conditional models: the class of every sample "
                   "(default: classes 0, 1, ..., 9, 0, 1, ... in turn)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE_OR_DIR",
                   help="output file: .npy or .png; with --seeds, a folder")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    add_generator_choice(p)
    p.set_defaults(func=cmd_sample)


def _evaluate_arguments(p: argparse.ArgumentParser) -> None:
    from advnets.metrics import registry as metrics
    from advnets.metrics.parzen import BASELINES

    listed = [metrics.get(name) for name in metrics.names()]
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run directory or a .safetensors snapshot")
    p.add_argument("--metric", required=True, choices=metrics.names(), metavar="METRIC",
                   help="; ".join(f"{m.name}: {m.summary}" for m in listed).replace("%", "%%"))
    p.add_argument("--mask", type=mask_name, help="inpainting: the hidden pixels, one of left-half, right-half, "
                   "top-half, bottom-half, center, random:P (default right-half)")
    p.add_argument("--n-samples", type=positive_int, default=None,
                   help="default: " + "; ".join(f"{m.name} {m.default_n} {m.n_counts}" for m in listed))
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
    p.add_argument("--data-dir", metavar="DIR", help="data directory (default: the run's data.dir, "
                   "$ADVNETS_DATA, the user cache)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    add_generator_choice(p)
    p.set_defaults(func=cmd_evaluate)


def _figure_arguments(p: argparse.ArgumentParser) -> None:
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
    p.set_defaults(func=cmd_figure)


def _inpaint_arguments(p: argparse.ArgumentParser) -> None:
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
    p.set_defaults(func=cmd_inpaint)


def _infer_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run of an unconditional image model")
    p.add_argument("--joint", action="store_true", help="use the E trained alongside the game (inference.joint) "
                   "instead of fitting one")
    p.add_argument("--steps", type=positive_int, default=20_000, help="E's Adam steps (default 20000)")
    p.add_argument("--batch-size", type=positive_int, default=100, help="pairs (z, G(z)) per step (default 100)")
    p.add_argument("--lr", type=positive_float, default=1e-3,
                   help="Adam's learning rate, annealed to 0 by a cosine (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of E's initialisation and pairs, and of the report's samples")
    p.add_argument("--n", type=positive_int, default=10_000,
                   help="test images reconstructed for the report (default 10000)")
    p.add_argument("--out", type=output_file(".png"), metavar="FILE.png",
                   help="also draw test images and generated ones beside G(E(.))")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (default: the run's, $ADVNETS_DATA, cache)")
    p.add_argument("--refit", action="store_true", help="fit a new E even if inference-net.safetensors exists "
                   "(replaces it)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    add_generator_choice(p)
    p.set_defaults(func=cmd_infer)


def _semisup_arguments(p: argparse.ArgumentParser) -> None:
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
    p.set_defaults(func=cmd_semisup)


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run directory or a .safetensors snapshot")
    p.add_argument("--out", required=True, metavar="DIR_OR_FILE",
                   help="a .safetensors file, or a directory (new or empty) to hold generator.safetensors")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    add_generator_choice(p)
    p.set_defaults(func=cmd_export)


def _average_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SNAPSHOT", help="two or more .safetensors snapshots or run directories")
    p.add_argument("--out", type=output_file(".safetensors"), required=True, metavar="FILE",
                   help="the .safetensors file to write")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--validate", action="store_true",
                   help="also print the validation Parzen score of the average (train[50000:51000], 10,000 samples, "
                        "seed 0): the score to choose snapshots by")
    p.add_argument("--data-dir", metavar="DIR", help="data directory for --validate")
    add_generator_choice(p)
    p.set_defaults(func=cmd_average)


def _report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory")
    p.add_argument("--out", type=output_file(".html"), metavar="FILE.html",
                   help="output file (default RUN_DIR/report.html, replaced if present)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory for Figure 2's nearest training images")
    p.set_defaults(func=cmd_report)


def _presets_arguments(p: argparse.ArgumentParser) -> None:
    p.set_defaults(func=cmd_presets)


@dataclasses.dataclass(frozen=True)
class Command:
    summary: str  # the line in `advnets --help`
    description: str | None
    epilog: str | None  # examples
    add_arguments: Callable[[argparse.ArgumentParser], None]  # its arguments, and the cmd_* that runs it


COMMANDS = {  # a command: its summary, description, examples, and the function that adds its arguments
    "train": Command("train a GAN from a preset or YAML config", "Train a GAN with Algorithm 1.",
                     EXAMPLES["train"], _train_arguments),
    "sample": Command("draw samples from a trained generator", "Draw samples x = G(z), z ~ p_z.",
                      EXAMPLES["sample"], _sample_arguments),
    "evaluate": Command("evaluate a trained generator (Parzen window, Table 1)",
                        "Evaluate a snapshot with a named protocol; prints one JSON line and appends it to "
                        "metrics.jsonl beside the snapshot.", EXAMPLES["evaluate"], _evaluate_arguments),
    "figure": Command("draw one of the paper's figures, or training curves, from a run",
                      "Draw a figure from a run's files.", EXAMPLES["figure"], _figure_arguments),
    "inpaint": Command("complete test images with some pixels hidden (inpainting models)",
                       "Show test images, the pixels an inpainting model is given, and several of its "
                       "completions, one row per image.", EXAMPLES["inpaint"], _inpaint_arguments),
    "infer": Command("an inference network E: x -> z for a trained G (future work 2)",
                     "Fit E for the run's finished G on fresh pairs (z, G(z)) (or use the joint E trained "
                     "alongside the game), report how well it inverts G, and draw test images beside their "
                     "reconstructions G(E(x)). Prints one JSON line, appended to metrics.jsonl.",
                     EXAMPLES["infer"], _infer_arguments),
    "semisup": Command("semi-supervised MNIST with few labels, from a GAN (future work 4)",
                       "Test error of one method with --labels labels (equal per class, drawn from "
                       "train[0:50000]) over --draws label draws; the rest of the split is unlabelled. Prints "
                       "one line per draw and a summary JSON line.", EXAMPLES["semisup"], _semisup_arguments),
    "export": Command("write one generator alone (for sharing or shipping)",
                      "Write a snapshot that holds only the generator (no discriminator, no second copy of G); "
                      "advnets sample / evaluate / figure read it like any snapshot.",
                      EXAMPLES["export"], _export_arguments),
    "average": Command("average the generator weights of several snapshots (checkpoint averaging)",
                       "Write one generator whose weights are the mean of the given snapshots' generators (by "
                       "default G's moving average where a run kept one); advnets sample / evaluate / figure "
                       "read it like any snapshot.", EXAMPLES["average"], _average_arguments),
    "report": Command("write a self-contained report.html of a run",
                      "Write one HTML page (images embedded) with a run's numbers, curves and figures.",
                      EXAMPLES["report"], _report_arguments),
    "presets": Command("list the built-in presets", "List the built-in presets.", EXAMPLES["presets"],
                       _presets_arguments),
}


def build_parser(command: str | None = "*") -> Parser:
    """The command line's parser, with the arguments of `command` only ("*": of every command). Listing
    the commands needs none of their arguments, and some arguments' choices come from the library's
    registries (which import PyTorch): `advnets --help` and `advnets presets` stay fast."""
    parser = Parser(prog="advnets", formatter_class=_formatter, epilog=EXAMPLES["main"],
                    description="Generative Adversarial Nets (Goodfellow et al., 2014): train, sample, evaluate.")
    parser.add_argument("--version", action="version", version=f"advnets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, spec in COMMANDS.items():
        p = sub.add_parser(name, help=spec.summary, description=spec.description, epilog=spec.epilog,
                           formatter_class=_formatter)
        if command in ("*", name):
            spec.add_arguments(p)
    return parser


# ----------------------------------------------------------------------------------------------


def refuse_to_overwrite(out: Path, force: bool, folder: bool = False) -> None:
    """A user's existing file is replaced only when they pass --force; nothing is written into a run
    another process trains, nor over a run's own files (advnets.outputs)."""
    from advnets.outputs import check_output

    check_output(out, force, folder)


def cmd_presets(args: argparse.Namespace) -> int:
    from advnets.config import preset_names, preset_path

    import textwrap

    width = max(60, min(shutil.get_terminal_size().columns, 120))
    for name in preset_names():
        lines = preset_path(name).read_text().splitlines()
        comment = " ".join(line.lstrip("#").strip() for line in itertools.takewhile(lambda l: l.startswith("#"), lines))
        print(textwrap.fill(comment, width, initial_indent=f"{name:22s} ", subsequent_indent=" " * 23))
    from advnets import plugins

    registered = [(f"{key} {name}", entry.provenance) for key, table in (
        ("generator.arch", plugins.generators()), ("discriminator.arch", plugins.discriminators()),
        ("--features", plugins.features())) for name, entry in table.items()]
    registered += [(f"data.name {spec.name}", {}) for spec in plugins.datasets()]
    if registered:  # what installed plugins bring (the advnets.plugins entry points)
        print("\nfrom plugins (use with any preset):")
        for what, where in registered:
            origin = " ".join(filter(None, (where.get("distribution"), where.get("version")))) or where.get("module", "")
            print(f"  {what:40s} {origin}")
    return 0


def check_stray_overrides(args: argparse.Namespace) -> None:
    """`--set KEY=VALUE ...` takes every word after it, a preset named last included: say so."""
    stray = [item for item in args.set if "=" not in item]
    if stray:
        where = "" if args.config is None else f" (the preset is {args.config})"
        overrides = [item for item in args.set if "=" in item] or ["train.steps=10"]
        raise ConfigError(f"--set took '{stray[0]}' as an override, but it has no '='{where}: name the preset "
                          f"before --set, e.g. {shell_command('advnets', 'train', stray[0], '--set', *overrides)}")


def resolve_train_config(args: argparse.Namespace):
    """The config to train with, and for --resume the training state's header (advnets.train.resume
    checks that the config may continue the run)."""
    from advnets.config import load_config
    from advnets.train.resume import resume_config

    check_stray_overrides(args)
    if args.resume is not None:
        return resume_config(args.resume, args.config, list(args.set), args.data_dir)
    if args.config is None:
        raise ConfigError("give a preset or YAML file to train (see `advnets presets`), or --resume RUN_DIR")
    cfg = load_config(args.config, list(args.set))
    if args.data_dir:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dir=args.data_dir))
    return cfg, None


def check_before_training(cfg, ranks) -> None:
    """What would stop a run early, checked before anything is printed or created: the device, the
    trained G it starts from, the data files (read once here; the run reads them from the cache), and
    whether the minibatch fits the data and the run fits the device's memory."""
    from advnets.runtime import resolve_device
    from advnets.train.budget import check_training_fits, training_split_size
    from advnets.train.game import check_init_source

    device = resolve_device(cfg.device)
    if cfg.generator.init_from:
        check_init_source(cfg.generator.init_from)
    check_training_fits(cfg, device, ranks, training_split_size(cfg))


def cmd_train(args: argparse.Namespace) -> int:
    check_stray_overrides(args)  # a typo is refused before PyTorch loads (seconds on a busy machine); what
    if args.config is not None and args.resume is None:  # needs the data registry is checked next
        from advnets.config import load_config

        load_config(args.config, list(args.set), static=True)
    from advnets.distributed import RankLost
    from advnets.train.stopping import stop_requests

    # Stop signals are caught from here on, before any run folder is claimed or locked: a signal that
    # arrives while the run starts stops it after its first iteration, saved (never a silent death or a
    # traceback with the lock file just made).
    with stop_requests(restore=not WHOLE_PROCESS) as stop:
        try:
            return _train_command(args, stop)
        except RankLost as e:  # said while the handlers hold: torchrun's SIGTERM to the survivors follows at once
            if e.speak:
                print(f"advnets: error: {e}; {where_the_run_stands(Path(args.resume or args.out))}", file=sys.stderr,
                      flush=True)
            return 2


def where_the_run_stands(run_dir: Path) -> str:
    """After a rank was lost: the run's last checkpoint, and the command that continues it."""
    from advnets.train.checkpoint import read_training_header

    nodes = int(os.environ.get("WORLD_SIZE", "1")) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    resume = shell_command("torchrun", "--nproc-per-node", os.environ.get("LOCAL_WORLD_SIZE", "1"),
                           *(["--nnodes", str(nodes)] if nodes > 1 else []), "-m", "advnets", "train", "--resume",
                           run_dir)
    try:
        kept = f"the last checkpoint, step {read_training_header(run_dir)['step']}, is intact in {run_dir}"
    except AdvnetsError:
        kept = f"rank 0's {run_dir} holds the last checkpoint"
    return f"{kept}; continue it with: {resume}"


def _train_command(args: argparse.Namespace, stop) -> int:
    started = time.perf_counter()
    from advnets.config import to_yaml
    from advnets.distributed import ranks_from_environment
    from advnets.train import train
    from advnets.train.game import with_data_found
    from advnets.train.rundir import RunClaim

    ranks = ranks_from_environment()  # torchrun's RANK / WORLD_SIZE / LOCAL_RANK; one process without them
    if ranks.distributed:
        if args.resume is None and args.out is None and not args.dry_run:
            raise ConfigError("under torchrun, name the run folder with --out (every rank must agree on it)")
        if not ranks.is_main:
            sys.stdout = open(os.devnull, "w")  # rank 0 prints for all; errors still reach stderr
    resuming = args.resume is not None and not args.dry_run
    # A run to resume is locked before its state is read (rank 0 holds it for all ranks)
    held = RunClaim.existing(args.resume) if resuming and ranks.is_main else None
    with held or contextlib.nullcontext():
        cfg, header = resolve_train_config(args)
        if args.dry_run:
            print(to_yaml(cfg), end="")
            return 0
        cfg = with_data_found(cfg, resume=header is not None)  # your images: read (and checked) before anything else
        check_before_training(cfg, ranks)  # the device, the data and the memory: their errors come first
        if resuming and header is not None and header["step"] >= cfg.train.steps:
            print(f"{args.resume} is already at step {header['step']} >= train.steps={cfg.train.steps}; "
                  "raise train.steps to continue")
            return 0
        if resuming and header is None:
            print(f"note: {args.resume} stopped before its first checkpoint; training it again from step 0 "
                  "with its config.yaml")
        claim = held or (RunClaim.new(args.out, cfg.name, args.runs_root) if not resuming and ranks.is_main else None)
        run_dir = claim.path if claim is not None else Path(args.resume or args.out)
        with claim or contextlib.nullcontext():
            if args.verbose:
                print(to_yaml(cfg), end="")
            t = cfg.train
            print(f"{'resuming' if header is not None else 'training'} {cfg.name}: {t.steps} steps of batch "
                  f"{t.batch_size} on {cfg.data.name}, seed {cfg.seed} -> {run_dir} (config.yaml; the whole config: "
                  "--verbose)", flush=True)
            try:
                result = train(cfg, run_dir, resume=header is not None, claim=claim, ranks=ranks, stop=stop)
            except (AdvnetsError, OSError, MemoryError, RuntimeError) as e:
                raise training_failure(e, run_dir) from None
    s = result.last_stats
    if s:
        training = float(s.get("wall_s") or 0.0)  # the run's training time, over all its sessions
        average = f"{result.step / training:.1f} steps/s on average" if training else "steps/s unknown"
        print(f"done: step {result.step}, epoch {s['epoch']:.2f}, loss_d {s['loss_d']:.4f}, loss_g {s['loss_g']:.4f}, "
              f"D(x) {s['d_real']:.3f}, D(G(z)) {s['d_fake']:.3f}, diversity {s['diversity']:.3f}; "
              f"{training:.1f} s of training ({average}), {time.perf_counter() - started:.1f} s for this command")
        if s.get("best_valid") is not None:
            which = "G's moving average" if cfg.train.ema_decay else "G"
            print(f"best validation Parzen of {which}: {s['best_valid']:.1f} at step {s['best_step']} "
                  "(network-best.safetensors)")
        if s.get("best_valid_live") is not None:
            print(f"best validation Parzen of the live G: {s['best_valid_live']:.1f} at step {s['best_step_live']} "
                  "(network-best-live.safetensors)")
    print(f"samples: {shell_command('advnets', 'sample', run_dir, '--n', '100', '--out', 'samples.png')}")
    return 0


def training_failure(e: BaseException, run_dir: Path) -> BaseException:
    """What to raise for a training run that failed with `e`: a programming error as it is (its traceback is
    what a bug report needs); running out of memory or disk, one line saying what was kept and how to go on."""
    from advnets.train.checkpoint import TRAINING_STATE, read_training_header

    out_of_memory = isinstance(e, MemoryError) or is_out_of_memory(e)
    if isinstance(e, RuntimeError) and not out_of_memory:
        return e
    saved = (run_dir / TRAINING_STATE).is_file()
    if out_of_memory:  # what the budget check (advnets.train.budget) did not foresee
        what = f"out of memory ({str(e).splitlines()[0][:120] if str(e) else 'MemoryError'})"
        if not saved:
            return AdvnetsError(f"{what}; nothing was kept: make the networks or train.batch_size smaller, "
                                "or free memory")
        e = OSError(errno.ENOMEM, what)
    if isinstance(e, OSError) and saved:
        step = read_training_header(run_dir)["step"]
        return AdvnetsError(f"{describe_os_error(e)}; the run stopped, its last checkpoint (step {step}) is intact: "
                            f"continue it with {shell_command('advnets', 'train', '--resume', run_dir)}")
    return e


def is_out_of_memory(e: BaseException) -> bool:
    """Whether PyTorch's RuntimeError `e` is an allocation that failed (CPU or CUDA)."""
    text = str(e)
    return type(e).__name__ == "OutOfMemoryError" or "can't allocate memory" in text or "out of memory" in text


def cmd_sample(args: argparse.Namespace) -> int:
    import io

    import numpy as np
    import torch

    from advnets.fileio import atomic_write_bytes
    from advnets.data.preprocess import for_data
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


def say_and_record(snapshot_path, row: dict) -> None:
    """A metric row: printed as one JSON line, appended to metrics.jsonl beside the snapshot, and its `warning`
    (a number not to trust as it stands, e.g. AIS that has not converged) said on standard error."""
    from advnets.metrics import registry as metrics

    print(json.dumps(row))
    metrics.append_metrics(snapshot_path, row)
    if row.get("warning"):
        print(f"warning: {row['warning']}", file=sys.stderr)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from advnets.metrics import registry as metrics
    from advnets.metrics.spec import MetricRequest
    from advnets.runtime import resolve_device
    from advnets.snapshot import load_snapshot, resolve_snapshot_path

    device = resolve_device(args.device)
    refuse_to_overwrite(metrics.metrics_path(resolve_snapshot_path(args.source, args.generator)), True)  # appended to
    snap = load_snapshot(args.source, device, args.generator)
    request = MetricRequest(n_samples=args.n_samples, seed=args.seed, data_dir=args.data_dir, device=device,
                            baseline=args.baseline, mask=args.mask, ais_steps=args.ais_steps, chains=args.chains,
                            leapfrog=args.leapfrog, variance=args.variance, features=args.features)
    if args.seeds is not None:
        row = metrics.evaluate_over_seeds(args.metric, snap, request, args.seeds)
    else:
        row = metrics.evaluate(args.metric, snap, request)
    say_and_record(snap.path, row)
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
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


def cmd_inpaint(args: argparse.Namespace) -> int:
    from advnets import figures

    refuse_to_overwrite(args.out, args.force)
    summary = figures.draw("inpaint", args.source, args.out, mask=args.mask, rows=args.n, completions=args.completions,
                           seed=args.seed, first=args.first, data_dir=args.data_dir, variant=args.generator)
    print(f"wrote {args.out} ({summary})")
    return 0


def cmd_infer(args: argparse.Namespace) -> int:
    from advnets.inference import infer
    from advnets.metrics import registry as metrics
    from advnets.runtime import resolve_device
    from advnets.snapshot import ENCODER_FILE, load_snapshot, resolve_snapshot_path

    if args.out is not None:
        refuse_to_overwrite(args.out, args.force)
    snapshot_path = resolve_snapshot_path(args.source, args.generator)
    refuse_to_overwrite(metrics.metrics_path(snapshot_path), True)  # E and its metrics row go beside the snapshot
    refuse_to_overwrite(snapshot_path.parent / ENCODER_FILE, True)
    device = resolve_device(args.device)
    snap = load_snapshot(args.source, device, args.generator)
    row = infer(snap, joint=args.joint, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                n_test=args.n, data_dir=args.data_dir, refit=args.refit, figure=args.out)
    say_and_record(snap.path, row)
    return 0


def cmd_semisup(args: argparse.Namespace) -> int:
    from advnets.semisup.run import run_semisup

    if args.out is not None:
        refuse_to_overwrite(args.out, True)  # appended to
    draws = list(range(args.first_draw, args.first_draw + args.draws))
    summary = run_semisup(args.method, args.labels // 10, draws, args.data_dir, args.run, args.epochs, args.out,
                          args.generator)
    print(json.dumps(summary))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from advnets.snapshot import EXPORTED_SNAPSHOT, export_generator, load_snapshot

    out = Path(args.out)
    if out.suffix != ".safetensors":
        refuse_to_overwrite(out, True, folder=True)
        if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not args.force)):
            raise ConfigError(f"{out} already exists and is not an empty directory; choose another --out "
                              "(or pass --force to replace its generator.safetensors)")
        out = out / EXPORTED_SNAPSHOT
    refuse_to_overwrite(out, args.force)
    snap = load_snapshot(args.source, "cpu", args.generator)
    export_generator(snap, out)
    size = out.stat().st_size / 1e6
    print(f"wrote {out} ({snap.variant} generator of {snap.config.name}, step {snap.step}, {size:.1f} MB)")
    return 0


def cmd_average(args: argparse.Namespace) -> int:
    from advnets.weight_average import average_snapshots, save_average, validation_score

    refuse_to_overwrite(args.out, args.force)
    snap, provenance = average_snapshots(args.sources, args.generator)
    validation = validation_score(snap, args.data_dir) if args.validate else None  # before writing: may refuse
    save_average(snap, provenance, args.out)
    print(f"wrote {args.out} (mean of {len(provenance)} {snap.variant} generators, steps "
          f"{', '.join(str(p['step']) for p in provenance)})")
    if validation is not None:
        print(f"validation Parzen: {validation[0]:.2f} (sigma {validation[1]:.4f})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from advnets.report import build_report

    print(f"wrote {build_report(args.run_dir, args.out, args.data_dir)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((word for word in argv if not word.startswith("-")), None)  # the subcommand, if any
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return args.func(args)
    except AdvnetsError as e:
        print(f"advnets: error: {e}", file=sys.stderr)
        return e.exit_status
    except TrainingInterrupted as e:
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 says it for every rank
            print(f"advnets: {e}", file=sys.stderr)
        return e.exit_status
    except TrainingDiverged as e:
        print(f"advnets: error: {e}", file=sys.stderr)
        return e.exit_status
    except BrokenPipeError:  # the reader went away (advnets presets | head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # a full or read-only disk, a missing folder, no permission: one line, no traceback
        print(f"advnets: error: {describe_os_error(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("advnets: aborted", file=sys.stderr)
        return 130


# True when this process is the command (the console script, python -m advnets): then a stop signal that
# arrives after a run has ended, while the process exits, is ignored rather than turned into a traceback.
WHOLE_PROCESS = False


SHORT_OPENMP_SPIN = "3000"  # GNU OpenMP's turns of spinning before an idle thread sleeps (its default: 300,000)


def shorten_openmp_spinning() -> None:
    """Let OpenMP's idle threads spin only briefly before they sleep (GOMP_SPINCOUNT=3000, for the GNU OpenMP
    runtime of PyTorch's Linux builds) unless the user chose a wait policy or spin count. By default they
    spin for about 300,000 turns between operations and so fight any other busy process for the cores:
    beside one, 300 updates of paper-mnist's networks on 2 threads took 39.9 s with the default spin and
    21.8 s with this one, and the 1-D preset's 13.5 s instead of 39.9 s; idle, the difference was within the
    benchmark's spread (docs/benchmarks.md, "CPU threads"; benchmarks/threads.py). It changes when threads
    wait, not what they compute. It must be in the environment before PyTorch's OpenMP runtime loads, so
    the command line sets it first."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = SHORT_OPENMP_SPIN


def run() -> NoReturn:
    """The console script's entry point: the command line as a whole process."""
    global WHOLE_PROCESS
    WHOLE_PROCESS = True
    shorten_openmp_spinning()
    sys.exit(main())


if __name__ == "__main__":
    run()
