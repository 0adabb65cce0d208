"""Mode collapse on the 2-D mixtures: the paper's algorithm over seeds, next to the published numbers.

For each preset (toy-ring, toy-grid), G loss (minimax, non-saturating) and k (1, 5), trains --seeds
runs and scores each with `advnets evaluate --metric modes` (2,500 samples, seed 0). Prints a
markdown table (mean +- standard error over seeds) and writes every run's row as JSON lines.

    python experiments/toy_modes.py --seeds 5 --out runs/toy-modes

--resume continues a stopped experiment in the same --out folder: runs already scored in
results.jsonl are kept, an unfinished run is trained again from scratch. --losses and --ks pick a
part of the grid, so that two processes can share one folder; the table is built from every row in
results.jsonl. --members trains each row's seeds side by side in one process (advnets.members, `advnets train
--members`), each seed still its own run folder: faster for these small networks, and equal to the runs one by one
to float rounding, not bit for bit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from advnets.config import load_config
from advnets.members import train_seeds
from advnets.metrics.registry import MetricRequest, evaluate
from advnets.metrics.summary import format_mean_se
from advnets.snapshot import load_snapshot
from advnets.train.loop import train
from advnets.train.rundir import read_stats

PUBLISHED = {"toy-ring": "6.3 +- 0.5 / 98.2", "toy-grid": "17.3 +- 0.8 / 94.8"}  # vanilla GAN, PacGAN's setup


def results_table(rows: list[dict], presets: list[str]) -> str:
    table = ["| preset | G loss | k | seeds | modes | high quality % | reverse KL | collapsed seeds | "
             "published vanilla GAN (modes / HQ %) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    loss_order = {"minimax": 0, "non-saturating": 1}
    for preset in presets:
        # every (loss, k) present in the results, whichever --ks produced them
        for loss, k in sorted({(r["loss"], r["k"]) for r in rows if r["preset"] == preset},
                              key=lambda lk: (loss_order[lk[0]], lk[1])):
            group = [r for r in rows if (r["preset"], r["loss"], r["k"]) == (preset, loss, k)]
            kls = [r["reverse_kl"] for r in group if r["reverse_kl"] is not None]
            collapsed = sum(r["modes"] <= 1 for r in group)
            modes = format_mean_se([r["modes"] for r in group], "+-")
            high_quality = format_mean_se([r["high_quality"] for r in group], "+-")
            table.append(f"| {preset} | {loss} | {k} | {len(group)} | {modes} | {high_quality} | "
                         f"{format_mean_se(kls, '+-')} | {collapsed}/{len(group)} | {PUBLISHED.get(preset, '-')} |")
    return "\n".join(table)


def record(results: Path, run_dir: Path, facts: dict) -> None:
    """The run's modes (2,500 samples, seed 0) with `facts`, appended to results.jsonl and printed."""
    row = evaluate("modes", load_snapshot(run_dir), MetricRequest(n_samples=2_500, seed=0))
    row.update(facts)
    with results.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"{row['preset']} {row['loss']} k={row['k']} seed {row['train_seed']}: {row['modes']}/{row['total_modes']} "
          f"modes, {row['high_quality']:.1f}% HQ ({row['seconds']} s)", flush=True)


def train_row_as_members(cfg, seeds: list[int], folder: Path, results: Path, facts: dict) -> None:
    """A row's seeds trained side by side (advnets.members), each then scored; `seconds` is the row's shared time."""
    for seed in seeds:  # stopped before it was scored: train it again from the start
        shutil.rmtree(folder / f"s{seed}", ignore_errors=True)
    t0 = time.perf_counter()
    outcomes = train_seeds(cfg, seeds, folder)
    seconds = round(time.perf_counter() - t0, 1)
    for outcome in outcomes:
        if outcome.failure:
            print(f"seed {outcome.seed} stopped: {outcome.failure}", flush=True)
            continue
        record(results, outcome.run_dir, {**facts, "train_seed": outcome.seed, "seconds": seconds,
                                          "members": len(seeds)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--out", default="runs/toy-modes", help="a new folder for the runs and results.jsonl")
    p.add_argument("--presets", nargs="+", default=["toy-ring", "toy-grid"])
    p.add_argument("--losses", nargs="+", default=["minimax", "non-saturating"], choices=["minimax", "non-saturating"])
    p.add_argument("--ks", nargs="+", type=int, default=[1, 5])
    p.add_argument("--resume", action="store_true", help="continue in an existing --out folder")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="more config overrides for every run, e.g. optim.lr_decay_clock=iterations")
    p.add_argument("--members", action="store_true", help="train each row's seeds side by side in this process "
                   "(advnets.members: OUT/PRESET-LOSS-kK/s<seed>), not one after another")
    args = p.parse_args()
    out = Path(args.out)
    if out.exists() and not args.resume:
        raise SystemExit(f"error: {out} exists; pass --resume to continue it, or choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = {(r["preset"], r["loss"], r["k"], r["train_seed"]) for r in read_stats(results.parent, results.name)}
    for preset in args.presets:
        for loss in args.losses:
            for k in args.ks:
                seeds = [seed for seed in range(args.seeds) if (preset, loss, k, seed) not in done]
                overrides = [f"loss.generator={loss}", f"train.k={k}", "train.progress=false", "device=cpu",
                             *args.overrides]
                if args.members and seeds:
                    train_row_as_members(load_config(preset, overrides), seeds, out / f"{preset}-{loss}-k{k}",
                                         results, {"preset": preset, "loss": loss, "k": k})
                    continue
                for seed in seeds:
                    run_dir = out / f"{preset}-{loss}-k{k}-s{seed}"
                    if run_dir.exists():  # stopped before it was scored: train it again from the start
                        shutil.rmtree(run_dir)
                    run_dir.mkdir()
                    t0 = time.perf_counter()
                    train(load_config(preset, [f"seed={seed}", *overrides]), run_dir)
                    record(results, run_dir, {"preset": preset, "loss": loss, "k": k, "train_seed": seed,
                                              "seconds": round(time.perf_counter() - t0, 1)})
    table = results_table(read_stats(results.parent, results.name), args.presets)
    print(table)
    (out / "table.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
