"""Several seeds in one process (`advnets train --members`) against the same seeds trained one after another.

Two measures, each a ratio measured in one run on this machine:

- the command: the wall time of one `advnets train PRESET --members 0-(K-1)` against K `advnets train PRESET
  --set seed=i` run one after another (everything a user waits for: start-up, data, bookkeeping, files);
- the loop alone: member-updates per second of K stacked members (advnets.members.iteration) against updates per
  second of the lone iteration (advnets.train.algorithm.train_iteration) run for each seed in turn, each on the
  threads its own plan chooses (the lone toy runs: one thread; the members: the plan of K times the work).

    python benchmarks/members.py --data-dir ../shared/data                   # every case
    python benchmarks/members.py --cases toy-1d toy-ring --skip-commands     # the loop alone, quickly
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUIET = ["train.progress=false", "train.sample_every=1000000", "train.checkpoint_every=1000000",
         "train.valid_every=0"]

CASES = {  # name -> (preset, members K, updates per run for the command, iterations timed in the loop alone)
    "toy-1d": ("toy-1d", 8, 200, 20),
    "toy-ring": ("toy-ring", 8, 2000, 300),
    "fast-mnist": ("fast-mnist", 4, 200, 30),
    "paper-mnist": ("paper-mnist", 3, 200, 30),
}


def time_commands(preset: str, k: int, steps: int, where: Path, env: dict) -> tuple[float, float]:
    """(seconds of K lone commands one after another, seconds of one --members command)."""
    common = [sys.executable, "-m", "advnets", "train", preset, "--set", f"train.steps={steps}", *QUIET]
    started = time.perf_counter()
    for seed in range(k):
        subprocess.run([*common, f"seed={seed}", "--out", str(where / f"lone-{preset}-{seed}")], env=env, check=True,
                       capture_output=True)
    lone = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([*common[:5], "--members", f"0-{k - 1}", "--out", str(where / f"members-{preset}"),
                    "--set", *common[6:]], env=env, check=True, capture_output=True)
    return lone, time.perf_counter() - started


def time_loops(preset: str, k: int, iterations: int, data_dir: str | None) -> tuple[float, float, int, int]:
    """(lone updates/s, members' member-updates/s, the lone plan's threads, the members' threads)."""
    import torch

    from advnets.config import load_config
    from advnets.members.iteration import Members, members_iteration
    from advnets.members.run import members_threads
    from advnets.train import plan_training
    from advnets.train.algorithm import train_iteration
    from advnets.train.build import build_game

    overrides = [*QUIET, *([f"data.dir={data_dir}"] if data_dir else [])]
    plans = [plan_training(load_config(preset, [f"seed={seed}", *overrides])) for seed in range(k)]
    lone_threads = plans[0].threads[0]
    member_threads = members_threads(plans)[0].threads[0]
    torch.set_num_threads(lone_threads)
    seconds = 0.0
    for plan in plans:  # each seed in turn, its building and warm-up iteration not timed
        game = build_game(plan)
        train_iteration(game)
        started = time.perf_counter()
        for _ in range(iterations):
            train_iteration(game)
        seconds += time.perf_counter() - started
    lone = k * iterations / seconds
    torch.set_num_threads(member_threads)
    members = Members([build_game(plan) for plan in plans])
    members_iteration(members)  # warm-up (records the draws)
    started = time.perf_counter()
    for _ in range(iterations):
        members_iteration(members)
    stacked = k * iterations / (time.perf_counter() - started)
    return lone, stacked, lone_threads, member_threads


def device_rows(preset: str, ks: list[int], iterations: int, data_dir: str | None, device: str) -> list[dict]:
    """On `device` (benchmarks/gpu.py's "members" part): per K, updates/s of K lone games run in turn, eagerly and
    (on CUDA) as a captured graph, against member-updates/s of the K stacked members (eager: members are not
    captured yet)."""
    import torch

    from advnets.config import load_config
    from advnets.members.iteration import Members, members_iteration
    from advnets.train import plan_training
    from advnets.train.build import build_game
    from advnets.train.graph import iteration_runner

    def synced_seconds(run, n: int) -> float:
        run()  # warm-up (a graph's capture, the members' draws recorded)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(n):
            run()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - started

    rows = []
    overrides = [*QUIET, f"device={device}", *([f"data.dir={data_dir}"] if data_dir else [])]
    for k in ks:
        plans = [plan_training(load_config(preset, [f"seed={seed}", *overrides])) for seed in range(k)]
        row = {"part": "members", "preset": preset, "K": k, "device": device}
        for mode in ("off", "on") if device.startswith("cuda") else ("off",):
            seconds = 0.0
            for plan in plans:
                game = build_game(plan)
                sums = torch.zeros(4, device=game.data.device)
                seconds += synced_seconds(iteration_runner(game, sums, mode, print), iterations)
            row[f"lone_graph_{mode}_updates_per_s"] = k * iterations / seconds
        members = Members([build_game(plan) for plan in plans])
        row["members_updates_per_s"] = k * iterations / synced_seconds(lambda: members_iteration(members), iterations)
        rows.append(row)
        print(f"  {preset} K={k:3d}: lone eager {row['lone_graph_off_updates_per_s']:8.1f} updates/s, lone graph "
              f"{row.get('lone_graph_on_updates_per_s', float('nan')):8.1f}, "
              f"members {row['members_updates_per_s']:8.1f}"
              " member-updates/s", flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"))
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--skip-commands", action="store_true", help="time the loops only")
    args = p.parse_args()
    env = {**os.environ, **({"ADVNETS_DATA": args.data_dir} if args.data_dir else {})}
    print("| case | K | loop: lone updates/s (threads) | loop: members' member-updates/s (threads) | loop ratio "
          "| command: K lone runs one after another | command: one --members run | command ratio |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            preset, k, steps, iterations = CASES[case]
            lone, stacked, lone_threads, member_threads = time_loops(preset, k, iterations, args.data_dir)
            commands = "| - | - | - |"
            if not args.skip_commands:
                lone_s, members_s = time_commands(preset, k, steps, Path(tmp), env)
                commands = f"| {lone_s:.1f} s ({steps} updates each) | {members_s:.1f} s | {lone_s / members_s:.2f}x |"
            print(f"| {case} | {k} | {lone:.1f} ({lone_threads}) | {stacked:.1f} ({member_threads}) | "
                  f"{stacked / lone:.2f}x {commands}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
