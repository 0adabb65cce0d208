"""Training-step speed: advnets' Algorithm-1 step against a plain eager PyTorch loop, same run.

Both train the paper's MNIST networks (G 100-1200-1200-784, D maxout 240x5 x2 with dropout) with
momentum SGD on real MNIST at the same batch size. The plain loop is written the way such scripts
usually are: a DataLoader over a TensorDataset, Sigmoid + BCELoss, torch.optim.SGD, and `.item()`
on both losses every step.

    python benchmarks/train_step.py --data-dir ../shared/data --device cpu --batch-sizes 64 100 1024

Prints one table row per (implementation, batch size): steps/s and samples/s, median of --repeats
timed windows of --steps steps each (the implementations' windows interleaved), after --warmup steps.
advnets is timed at each of --precisions (train.precision: fp32, and bf16 mixed precision).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from torch import nn

from advnets.config import load_config
from advnets.data.mnist import load_idx_split
from advnets.train.algorithm import train_iteration
from advnets.train.game import build_game


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(steps_by_name: dict, device, steps: int, warmup: int, repeats: int) -> dict[str, float]:
    """Median steps/s of each step function over `repeats` windows of `steps` calls, the
    implementations' windows interleaved so that drifts in machine speed hit them all alike."""
    for step in steps_by_name.values():
        for _ in range(warmup):
            step()
    sync(device)
    rates: dict[str, list[float]] = {name: [] for name in steps_by_name}
    for _ in range(repeats):
        for name, step in steps_by_name.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            sync(device)
            rates[name].append(steps / (time.perf_counter() - t0))
    return {name: statistics.median(r) for name, r in rates.items()}


def advnets_step(data_dir: str, batch: int, device: torch.device, precision: str = "fp32"):
    cfg = load_config("paper-mnist", [f"data.dir={data_dir}", f"train.batch_size={batch}", f"device={device}",
                                      f"train.precision={precision}"])
    game = build_game(cfg, device)
    sums = torch.zeros(4, device=device)

    def step():
        nonlocal sums
        sums += train_iteration(game)  # statistics stay on the device, as in the training loop

    return step


class PlainMaxout(nn.Module):
    def __init__(self, n_in, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.lin = nn.Linear(n_in, units * pieces)

    def forward(self, x):
        return self.lin(x).view(-1, self.units, self.pieces).max(2)[0]


def plain_eager_step(data_dir: str, batch: int, device: torch.device):
    """The usual hand-written GAN script (PyTorch-GAN gan.py style), same networks and SGD."""
    images, _ = load_idx_split("mnist", "train", data_dir)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images).float().div(255).view(-1, 784))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True)
    G = nn.Sequential(nn.Linear(100, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                      nn.Linear(1200, 784), nn.Sigmoid()).to(device)
    D = nn.Sequential(nn.Dropout(0.2), PlainMaxout(784, 240, 5), nn.Dropout(0.5), PlainMaxout(240, 240, 5),
                      nn.Dropout(0.5), nn.Linear(240, 1), nn.Sigmoid()).to(device)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1, momentum=0.5)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1, momentum=0.5)
    bce = nn.BCELoss()
    batches = iter(())

    def step():
        nonlocal batches
        try:
            (x,) = next(batches)
        except StopIteration:
            batches = iter(loader)
            (x,) = next(batches)
        x = x.to(device)
        ones = torch.ones(len(x), 1, device=device)
        zeros = torch.zeros(len(x), 1, device=device)
        z = (torch.rand(len(x), 100, device=device) * 2 - 1) * 3**0.5
        fake = G(z)
        opt_d.zero_grad()
        loss_d = 0.5 * (bce(D(x), ones) + bce(D(fake.detach()), zeros))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce(D(fake), ones)
        loss_g.backward()
        opt_g.step()
        return loss_d.item(), loss_g.item()

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 100, 1024])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"],
                   help="advnets' train.precision values to time")
    p.add_argument("--json", help="also append the rows as JSON lines to this file")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice, one per core)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.processor() or platform.machine()}, {torch.backends.cpu.get_cpu_capability()}, " \
        f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, device {device} ({machine}); median of {args.repeats} x {args.steps} steps")
    print(f"{'implementation':16s} {'batch':>6s} {'steps/s':>9s} {'samples/s':>10s} {'vs plain':>9s}")
    rows = []
    for batch in args.batch_sizes:
        torch.manual_seed(0)
        makers = {"plain-eager": lambda: plain_eager_step(args.data_dir, batch, device)}
        for precision in args.precisions:
            makers[f"advnets-{precision}"] = lambda p=precision: advnets_step(args.data_dir, batch, device, p)
        steps = max(5, args.steps * 100 // batch) if device.type == "cpu" else args.steps
        rates = time_interleaved({name: make() for name, make in makers.items()}, device, steps, args.warmup,
                                 args.repeats)
        for name, rate in rates.items():
            row = {"impl": name, "batch": batch, "steps_per_s": rate, "samples_per_s": rate * batch,
                   "ratio_vs_plain": rate / rates["plain-eager"], "device": str(device), "machine": machine,
                   "torch": torch.__version__}
            rows.append(row)
            print(f"{name:16s} {batch:6d} {row['steps_per_s']:9.1f} {row['samples_per_s']:10.0f} "
                  f"{row['ratio_vs_plain']:8.2f}x", flush=True)
    if args.json:
        with open(args.json, "a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
