"""advnets average: average the generator weights of several snapshots (checkpoint averaging)."""

from __future__ import annotations

import argparse

from advnets.commands.options import add_generator_choice, output_file
from advnets.commands.presentation import refuse_to_overwrite

DESCRIPTION = ("Write one generator whose weights are the mean of the given snapshots' generators (by default G's "
               "moving average where a run kept one); advnets sample / evaluate / figure read it like any snapshot.")

EXAMPLES = """examples:
  advnets average runs/m/network-00100000.safetensors runs/m/network-00150000.safetensors \\
      runs/m/network-latest.safetensors --validate --out g-avg.safetensors
  advnets evaluate g-avg.safetensors --metric parzen

Choose the snapshots on the validation score (--validate), not on the test set."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SNAPSHOT", help="two or more .safetensors snapshots or run directories")
    p.add_argument("--out", type=output_file(".safetensors"), required=True, metavar="FILE",
                   help="the .safetensors file to write")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--validate", action="store_true",
                   help="also print the validation Parzen score of the average (train[50000:51000], 10,000 samples, "
                        "seed 0): the score to choose snapshots by")
    p.add_argument("--data-dir", metavar="DIR", help="data directory for --validate")
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
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
