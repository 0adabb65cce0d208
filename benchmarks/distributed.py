"""What torch.distributed costs a run (docs/distributed.md, issue 22).

1. Communication per update, from the presets' networks: the gradients each network update all-reduces
   (float32: 4 bytes per parameter), and what a ring all-reduce moves per rank, 2 (N - 1) / N times
   that, against the link bandwidths of docs/distributed.md: the time an update spends communicating.
2. --measure: `advnets train PRESET` for --steps updates, one process against torchrun with 2 gloo
   ranks on this machine's CPU (global minibatch unchanged), updates per second of each.

    python benchmarks/distributed.py                                  # the table, no training
    python benchmarks/distributed.py --measure --data-dir ../shared/data --steps 1000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import torch

from advnets.config import load_config
from advnets.data import registry as datasets
from advnets.models import build_discriminator, build_generator

PRESETS = ("paper-mnist", "stacked-mnist", "paper-tfd", "toy-ring")
LINKS = {"NVLink 4 (H100/H200, ~450 GB/s per direction)": 450e9, "InfiniBand NDR 400 Gb/s": 50e9,
         "100 Gb/s Ethernet": 12.5e9, "10 Gb/s Ethernet": 1.25e9}


def parameter_counts(preset: str) -> tuple[int, int, int]:
    """(G's, D's parameters, updates of D per iteration) of a preset's networks."""
    cfg = load_config(preset, ["device=cpu"])
    spec = datasets.get(cfg.data.name)
    x_shape = spec.x_shape if spec.is_image else (spec.dim,)
    g = sum(p.numel() for p in build_generator(cfg, x_shape, None).parameters())
    d = sum(p.numel() for p in build_discriminator(cfg, x_shape).parameters())
    return g, d, cfg.train.k if cfg.train.schedule == "alternating" else 1


def communication_table(ranks: int = 8) -> None:
    print(f"| preset | G parameters | D parameters | all-reduced per iteration | per rank on a ring of {ranks} | "
          + " | ".join(LINKS) + " |")
    print("|---|---:|---:|---:|---:|" + "---:|" * len(LINKS))
    for preset in PRESETS:
        g, d, k = parameter_counts(preset)
        reduced = 4 * (g + k * d)  # bytes: G once, D k times, float32
        moved = 2 * (ranks - 1) / ranks * reduced
        times = " | ".join(f"{moved / bandwidth * 1e3:.3f} ms" for bandwidth in LINKS.values())
        print(f"| {preset} | {g:,} | {d:,} | {reduced / 1e6:.1f} MB | {moved / 1e6:.1f} MB | {times} |")


def measure(preset: str, steps: int, data_dir: str | None) -> None:
    common = ["train", preset, "--set", f"train.steps={steps}", "train.progress=false", "train.valid_every=0",
              f"train.sample_every={steps}", f"train.checkpoint_every={steps}", f"train.log_every={min(steps, 100)}"]
    if data_dir:
        common += [f"data.dir={data_dir}"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, launcher, threads in (
                ("1 process, 2 threads", [sys.executable, "-m", "advnets"], "2"),
                ("1 process, 1 thread", [sys.executable, "-m", "advnets"], "1"),
                ("torchrun, 2 gloo ranks x 1 thread", [sys.executable, "-m", "torch.distributed.run",
                                                      "--nproc-per-node", "2", "--master-port", "29519", "-m",
                                                      "advnets"], "1")):
            out = f"{tmp}/{len(rows)}"
            argv = [*launcher, *common[:2], "--out", out, *common[2:]]
            started = time.perf_counter()
            done = subprocess.run(argv, env={**os.environ, "OMP_NUM_THREADS": threads}, capture_output=True,
                                  text=True)
            seconds = time.perf_counter() - started
            if done.returncode:
                raise SystemExit(f"{label} failed: {done.stderr.strip().splitlines()[-1]}")
            rate = float(done.stdout.split(" steps/s")[0].rsplit(", ", 1)[-1])
            rows.append((label, rate, seconds))
    print(f"\n{preset}, {steps} updates of the global minibatch, {torch.get_num_threads()} CPU threads available")
    print("| launch | updates/s (the run's own count) | wall time incl. start-up |")
    print("|---|---:|---:|")
    for label, rate, seconds in rows:
        print(f"| {label} | {rate:.1f} | {seconds:.1f} s |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--measure", action="store_true", help="also train 1 process vs 2 gloo ranks")
    p.add_argument("--preset", default="paper-mnist")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"))
    args = p.parse_args()
    communication_table()
    if args.measure:
        measure(args.preset, args.steps, args.data_dir)


if __name__ == "__main__":
    main()
