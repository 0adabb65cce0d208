"""Parzen-window speed: advnets' implementation against a plain broadcast one, same run, same data.

The task is the protocol's sigma selection: the log-likelihood of --n-valid images under 10,000
kernel centres, for each of the paper's 10 sigmas. The plain implementation is written the way the
released code's ``parzen_ll.py`` works: for each sigma, for each batch of 10 images, the
[batch, centres, 784] difference tensor, squared and summed, then a log-mean-exp (float32). advnets
computes |x|^2 - 2 x.mu + |mu|^2 in float64 once per block and reuses it for the 10 sigmas.

    python benchmarks/parzen.py --data-dir ../shared/data --device cpu --n-valid 200

Centres are 10,000 MNIST training images and the scored images the first --n-valid validation images,
so the numbers are the protocol's real ones (the train-image critique baseline). Prints seconds per
implementation, the ratio, and the largest disagreement between the two.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import torch

from advnets.data.mnist import load_idx_split
from advnets.metrics.parzen_window import SIGMA_GRID, parzen_log_likelihood


def broadcast_parzen(x: torch.Tensor, centres: torch.Tensor, sigma: float, batch_size: int = 10) -> torch.Tensor:
    """The textbook formula, float32, the full difference tensor per batch (what advnets avoids)."""
    d = x.shape[1]
    out = []
    for start in range(0, len(x), batch_size):
        diff = (x[start : start + batch_size, None, :] - centres[None, :, :]) / sigma  # [b, n, d]
        e = -0.5 * (diff**2).sum(-1)  # [b, n]
        out.append(torch.logsumexp(e, dim=1) - math.log(len(centres)) - d * math.log(sigma * math.sqrt(2 * math.pi)))
    return torch.cat(out)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--n-valid", type=int, default=200, help="images scored (the protocol uses 1,000)")
    p.add_argument("--n-centres", type=int, default=10_000)
    args = p.parse_args()
    device = torch.device(args.device)
    train = torch.from_numpy(load_idx_split("mnist", "train", args.data_dir)[0][: args.n_centres])
    valid = torch.from_numpy(load_idx_split("mnist", "valid", args.data_dir)[0][: args.n_valid])
    centres = train.reshape(len(train), -1).float().div(255).to(device)  # [n, 784]
    x = valid.reshape(len(valid), -1).float().div(255).to(device)  # [v, 784]
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, device {device} ({machine}); {args.n_valid} images x {len(centres)} centres "
          f"x {len(SIGMA_GRID)} sigmas")

    sync(device)
    t0 = time.perf_counter()
    ours = parzen_log_likelihood(x, centres, SIGMA_GRID)  # [10, v] float64
    sync(device)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    plain = torch.stack([broadcast_parzen(x, centres, s) for s in SIGMA_GRID])  # [10, v] float32
    sync(device)
    t_plain = time.perf_counter() - t0

    gap = ((plain.double() - ours).abs() / ours.abs()).max().item()
    print(f"{'implementation':22s} {'seconds':>9s} {'images/s':>9s}")
    print(f"{'plain broadcast (f32)':22s} {t_plain:9.2f} {args.n_valid / t_plain:9.1f}")
    print(f"{'advnets (f64)':22s} {t_ours:9.2f} {args.n_valid / t_ours:9.1f}")
    print(f"advnets is {t_plain / t_ours:.1f}x faster; largest relative difference {gap:.1e}; "
          f"best mean log-likelihood {ours.mean(1).max().item():.2f} (advnets), {plain.mean(1).max().item():.2f} (plain)")


if __name__ == "__main__":
    main()
