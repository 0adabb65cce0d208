"""The fixed cost of one training iteration: advnets' `train_iteration` on the paper's MNIST setup with
networks too small to cost anything else (G 100-8-784, D maxout 4x2), batch 100, on the CPU.

Milliseconds per iteration, best of --windows windows of --steps iterations after 50 warm-up ones; and
with --loop, milliseconds per step of the whole loop (`train()`: 1,000 steps logged every 100, one
checkpoint at each end, no validation or progress bar; start-up included), best of --windows runs.
It builds the game the way each layout does (from a plan, or from the config), so the same file times this
tree and 0.1.0 (commit 57a0054), or any commit before a change of the training core:

    python benchmarks/step_overhead.py --data-dir ../shared/data
    git worktree add /tmp/v010 57a0054 && PYTHONPATH=/tmp/v010/src python benchmarks/step_overhead.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import time

import torch

from advnets.config import load_config
from advnets.train.algorithm import train_iteration

try:  # a game from a planned config (advnets.train.plan)
    from advnets.train import plan_training
    from advnets.train.build import build_game

    def game_for(cfg):
        return build_game(plan_training(cfg))
except ImportError:  # before the plan: build_game(cfg, device), in train/game.py or (0.1.0) train/loop.py
    try:
        from advnets.train.game import build_game
    except ImportError:
        from advnets.train.loop import build_game

    def game_for(cfg):
        return build_game(cfg, torch.device("cpu"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--loop", action="store_true", help="also time the whole loop, train()")
    args = p.parse_args()
    tiny = [f"data.dir={args.data_dir}", "generator.hidden=[8]", "discriminator.hidden=[4]", "discriminator.pieces=2",
            "device=cpu"]
    cfg = load_config("paper-mnist", tiny)
    game = game_for(cfg)
    sums = torch.zeros(4)
    for _ in range(50):
        sums += train_iteration(game)
    best = float("inf")
    for _ in range(args.windows):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            sums += train_iteration(game)
        best = min(best, (time.perf_counter() - t0) / args.steps)
    print(f"{best * 1e3:.3f} ms per iteration (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    if args.loop:
        print(f"{loop_ms_per_step(tiny, args.windows):.3f} ms per step through train()")


def loop_ms_per_step(tiny: list[str], runs: int, steps: int = 1000) -> float:
    """The best of `runs` whole runs of `steps` steps through train(), in milliseconds per step."""
    import tempfile
    from pathlib import Path

    from advnets.train.loop import train

    cfg = load_config("paper-mnist", [*tiny, f"train.steps={steps}", "train.log_every=100", "train.valid_every=0",
                                      f"train.checkpoint_every={steps}", f"train.sample_every={steps}",
                                      "train.progress=false"])
    best = float("inf")
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            train(cfg, Path(tmp) / "run")
            best = min(best, (time.perf_counter() - t0) / steps)
    return best * 1e3


if __name__ == "__main__":
    main()
