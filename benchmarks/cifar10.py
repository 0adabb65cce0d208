"""What the CIFAR-10 presets cost per epoch (docs/cifar10.md, issue 23).

For each preset: its networks' parameters, the floating-point operations of one training iteration
(counted by torch.utils.flop_counter while it runs: D on the real and the generated minibatch, both
backward passes, G's forward and backward; matrix products and convolutions, which are nearly all of
it), and the time of an iteration measured on --device, hence an epoch (40,000 training images: 400
iterations at batch 100, 312 at 128). From the counted operations it also gives the least time an
epoch could take on an H200 at its peak float32 rate (67 TFLOP/s dense: PyTorch's default float32
matrix products do not use TF32), and an estimate at half that rate (large matrix products reach
more, the small layers and the per-kernel launch cost less) — estimates, not measurements; run with
--device cuda on a GPU for the measured row.

No CIFAR-10 files are needed: the presets read random images written here in the official format (the
time of an iteration does not depend on the pixels). conv-mnist reads MNIST (--data-dir).

    python benchmarks/cifar10.py --data-dir ../shared/data                 # this CPU, 5 iterations each
    python benchmarks/cifar10.py --data-dir ../shared/data --device cuda --steps 50
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from advnets.config import load_config
from advnets.data import cifar10
from advnets.train.algorithm import train_iteration
from advnets.train import build_game, plan_training

PRESETS = ("paper-cifar10-fc", "paper-cifar10-conv", "conv-mnist")
TRAIN_IMAGES = {"cifar10": 40_000, "mnist": 50_000}
H200_FP32_PEAK = 67e12  # dense float32 FLOP/s, NVIDIA's H200 SXM data sheet
ASSUMED_EFFICIENCY = 0.5  # the estimate's share of that peak (an assumption, stated in the table)


def write_random_cifar(root: Path, per_batch: int = 1_000) -> None:
    """root/cifar-10-batches-py/ with random images in the official pickled format."""
    folder = root / cifar10.FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in rng.integers(0, 10, per_batch)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(preset: str, data_dir: str, device: torch.device, steps: int) -> dict:
    cfg = load_config(preset, [f"data.dir={data_dir}", "data.download=false", f"device={device}"])
    game = build_game(plan_training(cfg))
    params_g = sum(p.numel() for p in game.g.net.parameters())
    params_d = sum(p.numel() for p in game.d.net.parameters())
    with FlopCounterMode(display=False) as counter:
        train_iteration(game)
    flops = counter.get_total_flops()
    train_iteration(game)  # warm-up
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_iteration(game)
    sync(device)
    seconds = (time.perf_counter() - t0) / steps
    per_epoch = TRAIN_IMAGES[cfg.data.name] // cfg.train.batch_size
    return {"preset": preset, "batch": cfg.train.batch_size, "params_g": params_g, "params_d": params_d,
            "gflop_per_iteration": flops / 1e9, "seconds_per_iteration": seconds, "iterations_per_epoch": per_epoch,
            "epoch_seconds": seconds * per_epoch,
            "h200_bound_seconds": flops * per_epoch / H200_FP32_PEAK,
            "h200_estimate_seconds": flops * per_epoch / (ASSUMED_EFFICIENCY * H200_FP32_PEAK)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"), help="MNIST's folder (for conv-mnist)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=5, help="timed iterations per preset (default 5)")
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    args = p.parse_args()
    device = torch.device(args.device)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    print(f"{where}; torch {torch.__version__}; {args.steps} timed iterations after one counted and one warm-up")
    print("| preset | batch | G parameters | D parameters | GFLOP per iteration | s per iteration | epoch here "
          f"| H200 epoch at fp32 peak (bound) | at {ASSUMED_EFFICIENCY:.0%} of it (estimate) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        write_random_cifar(Path(tmp))
        for preset in args.presets:
            data_dir = args.data_dir if preset == "conv-mnist" else tmp
            if data_dir is None:
                print(f"| {preset} | skipped: MNIST needed (--data-dir) |")
                continue
            r = measure(preset, data_dir, device, args.steps)
            print(f"| {preset} | {r['batch']} | {r['params_g']:,} | {r['params_d']:,} | {r['gflop_per_iteration']:.1f} "
                  f"| {r['seconds_per_iteration']:.3f} | {r['epoch_seconds'] / 60:.1f} min "
                  f"({r['iterations_per_epoch']} iterations) | {r['h200_bound_seconds']:.1f} s "
                  f"| {r['h200_estimate_seconds']:.1f} s |")


if __name__ == "__main__":
    main()
