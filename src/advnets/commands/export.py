"""advnets export: write one generator alone (for sharing or shipping)."""

from __future__ import annotations

import argparse
from pathlib import Path

from advnets.commands.options import add_generator_choice
from advnets.commands.presentation import refuse_to_overwrite
from advnets.errors import ConfigError

DESCRIPTION = ("Write a snapshot that holds only the generator (no discriminator, no second copy of G); advnets "
               "sample / evaluate / figure read it like any snapshot.")

EXAMPLES = """examples:
  advnets export runs/mnist-s0 --out pretrained/mnist   # the averaged G, if kept
  advnets export runs/mnist-s0 --generator live --out g-live.safetensors"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN_DIR_OR_SNAPSHOT", help="a run directory or a .safetensors snapshot")
    p.add_argument("--out", required=True, metavar="DIR_OR_FILE",
                   help="a .safetensors file, or a directory (new or empty) to hold generator.safetensors")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
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
