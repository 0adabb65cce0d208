"""Training-step speed: advnets' Algorithm-1 step against a plain eager PyTorch loop, same run.

All train the paper's MNIST networks (G 100-1200-1200-784, D maxout 240x5 x2 with dropout) with
momentum SGD on real MNIST at the same batch size:

- plain-eager: the loop such scripts usually are: a DataLoader over a TensorDataset, Sigmoid +
  BCELoss, torch.optim.SGD, and `.item()` on both losses every step;
- advnets-PRECISION: advnets' iteration run eagerly (train.graph=off);
- advnets-graph-PRECISION (CUDA): advnets' iteration captured as one CUDA graph and replayed
  (train.graph=on, advnets.train.graph);
- bare-graph-PRECISION (CUDA): the reference for what the hardware allows: the same networks and
  update written bare (no schedules, no bookkeeping, samples with replacement), captured the same way.
  It lives here, not in the library.

    python benchmarks/train_step.py --data-dir ../shared/data --device cpu --batch-sizes 64 100 1024
    python benchmarks/train_step.py --data-dir data --device cuda --tf32      # also TF32 matmuls (fp32 rows)

Prints one table row per (implementation, batch size): steps/s and samples/s, median of --repeats
timed windows of --steps steps each (the implementations' windows interleaved), after --warmup steps,
and the ratios to the plain loop and (on CUDA) to the bare captured step of the same precision.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from advnets.config import load_config
from advnets.data.mnist import load_idx_split
from advnets.train.algorithm import train_iteration
from advnets.train import build_game, plan_training
from advnets.train.graph import CapturedIteration


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_interleaved(steps_by_name: dict, device, steps: int, warmup: int, repeats: int,
                     failed: dict[str, str] | None = None) -> dict[str, float]:
    """Median steps/s of each step function over `repeats` windows of `steps` calls, the
    implementations' windows interleaved so that drifts in machine speed hit them all alike. A step
    function that raises is dropped from the table, its error recorded in `failed`."""
    failed = {} if failed is None else failed
    steps_by_name = dict(steps_by_name)
    rates: dict[str, list[float]] = {name: [] for name in steps_by_name}

    def attempt(name, calls: int) -> float | None:
        try:
            t0 = time.perf_counter()
            for _ in range(calls):
                steps_by_name[name]()
            sync(device)
            return calls / (time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001 - the other implementations are still measured
            failed[name] = describe(e)
            del steps_by_name[name], rates[name]
            return None

    for name in list(steps_by_name):
        attempt(name, warmup)
    for _ in range(repeats):
        for name in list(steps_by_name):
            rate = attempt(name, steps)
            if rate is not None:
                rates[name].append(rate)
    return {name: statistics.median(r) for name, r in rates.items()}


def advnets_step(data_dir: str, batch: int, device: torch.device, precision: str = "fp32", graph: bool = False):
    cfg = load_config("paper-mnist", [f"data.dir={data_dir}", f"train.batch_size={batch}", f"device={device}",
                                      f"train.precision={precision}"])
    game = build_game(plan_training(cfg))
    sums = torch.zeros(4, device=device)
    if graph:
        return CapturedIteration(game, sums)  # one replay per call; statistics summed inside the graph

    def step():
        sums.add_(train_iteration(game))  # statistics stay on the device, as in the training loop

    return step


def bare_graph_step(data_dir: str, batch: int, device: torch.device, precision: str = "fp32"):
    """The reference limit: the paper's networks and simultaneous update, bare, as one CUDA graph."""
    images, _ = load_idx_split("mnist", "train", data_dir)
    data = torch.from_numpy(images).to(device).reshape(len(images), -1)  # uint8 [N, 784], on the device
    torch.manual_seed(0)
    g_layers = [nn.Linear(100, 1200), nn.Linear(1200, 1200), nn.Linear(1200, 784)]
    d_layers = [nn.Linear(784, 1200), nn.Linear(240, 1200), nn.Linear(240, 1)]
    g_params = [p.to(device).requires_grad_() for layer in g_layers for p in (layer.weight, layer.bias)]
    d_params = [p.to(device).requires_grad_() for layer in d_layers for p in (layer.weight, layer.bias)]
    params = g_params + d_params
    velocity = [torch.zeros_like(p) for p in params]
    lr, mu = torch.tensor(0.1, device=device), torch.tensor(0.5, device=device)
    sums = torch.zeros(2, device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16", cache_enabled=False)

    def generator(z):
        w1, b1, w2, b2, w3, b3 = g_params
        return torch.sigmoid(F.linear(F.relu(F.linear(F.relu(F.linear(z, w1, b1)), w2, b2)), w3, b3))

    def discriminator(x):
        w1, b1, w2, b2, w3, b3 = d_params
        h = x * (torch.rand_like(x) < 0.8) / 0.8
        h = F.linear(h, w1, b1).view(len(x), 240, 5).amax(2)
        h = h * (torch.rand_like(h) < 0.5) / 0.5
        h = F.linear(h, w2, b2).view(len(x), 240, 5).amax(2)
        h = h * (torch.rand_like(h) < 0.5) / 0.5
        return F.linear(h, w3, b3).squeeze(1).float()

    def iteration():
        x = data[torch.randint(0, len(data), (batch,), device=device)].float() / 255
        z = (torch.rand(batch, 100, device=device) * 2 - 1) * 3**0.5
        with autocast:
            real, fake = discriminator(x), discriminator(generator(z))
        loss_d = 0.5 * (F.softplus(-real).mean() + F.softplus(fake).mean())
        loss_g = F.softplus(-fake).mean()
        grads = torch.autograd.grad(loss_d, d_params, retain_graph=True)
        grads = torch.autograd.grad(loss_g, g_params) + grads
        with torch.no_grad():
            torch._foreach_mul_(velocity, mu)
            torch._foreach_add_(velocity, torch._foreach_mul(grads, -lr))
            torch._foreach_add_(params, velocity)
            lr.div_(1.000004)
            sums.add_(torch.stack([loss_d, loss_g]))

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            iteration()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        iteration()
    return graph.replay


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
    p.add_argument("--tf32", action="store_true", help="CUDA: let fp32 matmuls use TF32 (rows named fp32-tf32)")
    p.add_argument("--no-graph", action="store_true", help="CUDA: leave out the captured implementations")
    p.add_argument("--json", help="also append the rows as JSON lines to this file")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice, one per core)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    graphs = device.type == "cuda" and not args.no_graph
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.processor() or platform.machine()}, {torch.backends.cpu.get_cpu_capability()}, " \
        f"{torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, device {device} ({machine}); median of {args.repeats} x {args.steps} steps")
    print(f"{'implementation':22s} {'batch':>6s} {'steps/s':>9s} {'samples/s':>10s} {'vs plain':>9s} {'vs bare':>8s}")
    rows = []
    for batch in args.batch_sizes:
        torch.manual_seed(0)
        makers = {"plain-eager": lambda: plain_eager_step(args.data_dir, batch, device)}
        for precision in args.precisions:
            name = precision + ("-tf32" if args.tf32 and precision == "fp32" else "")
            makers[f"advnets-{name}"] = lambda p=precision: advnets_step(args.data_dir, batch, device, p)
            if graphs:
                makers[f"advnets-graph-{name}"] = lambda p=precision: advnets_step(args.data_dir, batch, device, p, True)
                makers[f"bare-graph-{name}"] = lambda p=precision: bare_graph_step(args.data_dir, batch, device, p)
        steps = max(5, args.steps * 100 // batch) if device.type == "cpu" else args.steps
        made, failed = build_guarded(makers)
        rates = time_interleaved(made, device, steps, args.warmup, args.repeats, failed)
        for name, error in failed.items():  # a failing implementation is a row saying why, not the end of the table
            row = {"impl": name, "batch": batch, "error": error, "device": str(device), "machine": machine,
                   "torch": torch.__version__}
            rows.append(row)
            print(f"{name:22s} {batch:6d}  FAILED: {error}", flush=True)
            if args.json:
                append_row(args.json, row)
        for name, rate in rates.items():
            bare = rates.get("bare-graph-" + name.split("-", 1)[1].removeprefix("graph-"))
            plain = rates.get("plain-eager")
            row = {"impl": name, "batch": batch, "steps_per_s": rate, "samples_per_s": rate * batch,
                   "ratio_vs_plain": rate / plain if plain else None, "ratio_vs_bare": rate / bare if bare else None,
                   "device": str(device), "machine": machine, "torch": torch.__version__}
            rows.append(row)
            vs_bare = f"{row['ratio_vs_bare']:7.2f}x" if bare else f"{'-':>8s}"
            plain = f"{row['ratio_vs_plain']:8.2f}x" if row["ratio_vs_plain"] else f"{'-':>9s}"
            print(f"{name:22s} {batch:6d} {row['steps_per_s']:9.1f} {row['samples_per_s']:10.0f} "
                  f"{plain} {vs_bare}", flush=True)
            if args.json:
                append_row(args.json, row)  # each row as soon as it is measured


def append_row(path: str, row: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
        f.flush()


def describe(error: BaseException) -> str:
    """An error and its root cause in one line (a failed CUDA-graph capture reports capture_end's error,
    with what broke the capture in __context__)."""
    from advnets.train.graph import root_cause

    return f"{type(error).__name__}: {root_cause(error)}"


def build_guarded(makers: dict) -> tuple[dict, dict[str, str]]:
    """Each implementation's step function, and for those whose construction failed, why."""
    made, failed = {}, {}
    for name, make in makers.items():
        try:
            made[name] = make()
        except Exception as e:  # noqa: BLE001 - one implementation failing must not lose the table
            failed[name] = describe(e)
    return made, failed


if __name__ == "__main__":
    main()
