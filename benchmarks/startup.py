"""How fast the command line answers when it has nothing heavy to do: `advnets --help`, a config typo (one
error line) and `advnets presets`, each run as the console script runs it, in a fresh process. Compares this
tree with another (`--other SRC`, e.g. a `git worktree` of an earlier commit), runs alternating, median of
--runs; checks in the same processes that none of them imports PyTorch.

    git worktree add /tmp/before ced70d9
    python benchmarks/startup.py --other /tmp/before/src --runs 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {"--help": ["--help"], "a config typo": ["train", "paper-mnist", "--set", "train.stepz=3"],
         "presets": ["presets"]}
# The console script (advnets.cli:run), then whether PyTorch was imported, said on stderr's last line
RUN = ("import sys, atexit; atexit.register(lambda: print('torch imported' if 'torch' in sys.modules else "
       "'torch not imported', file=sys.stderr)); from advnets.cli import run; sys.argv[0] = 'advnets'; run()")


def time_once(src: str, argv: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=src)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", RUN, *argv], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 2) or not result.stderr.strip().endswith("torch not imported"):
        raise SystemExit(f"advnets {' '.join(argv)} with {src}: exit {result.returncode}, {result.stderr.strip()}")
    return seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--other", metavar="SRC", help="another tree's src/ folder to time beside this one")
    p.add_argument("--runs", type=int, default=15)
    args = p.parse_args()
    trees = {"this tree": str(Path(__file__).resolve().parents[1] / "src")}
    if args.other:
        trees["other"] = args.other
    times: dict[tuple[str, str], list[float]] = {(t, c): [] for t in trees for c in CASES}
    for _ in range(args.runs):
        for case, argv in CASES.items():
            for tree, src in trees.items():
                times[(tree, case)].append(time_once(src, argv))
    for case in CASES:
        cells = "  ".join(f"{tree}: {statistics.median(times[(tree, case)]) * 1e3:.0f} ms" for tree in trees)
        print(f"{case:14s} {cells}  (median of {args.runs}; PyTorch not imported)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
