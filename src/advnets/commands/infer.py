"""advnets infer: an inference network E: x -> z for a trained G (future work 2)."""

from __future__ import annotations

import argparse

from advnets.commands.options import add_device, add_generator_choice, output_file, positive_float, positive_int
from advnets.commands.presentation import refuse_to_overwrite, say_and_record

DESCRIPTION = ("Fit E for the run's finished G on fresh pairs (z, G(z)) (or use the joint E trained alongside the "
               "game), report how well it inverts G, and draw test images beside their reconstructions G(E(x)). "
               "Prints one JSON line, appended to metrics.jsonl.")

EXAMPLES = """examples:
  advnets infer runs/mnist-s0 --out recon.png       # fits E (20,000 steps) once, then reuses it
  advnets infer runs/mnist-joint --joint --out recon.png     # the E trained alongside (inference.joint=true)

E is saved beside the snapshot as inference-net.safetensors (with the snapshot's hash and the
settings it was fitted with); a later call with the same settings reuses it, other settings need --refit.
Redraw the figure from the saved E: advnets infer runs/mnist-s0 --out recon.png --force"""


def add_arguments(p: argparse.ArgumentParser) -> None:
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
    add_device(p)
    add_generator_choice(p)


def run(args: argparse.Namespace) -> int:
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
