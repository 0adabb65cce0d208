"""CPU threads for small and large updates (issue 30): the same training run on 1 thread, on every thread,
and with `threads: auto`, on an idle machine and beside one busy process.

A small network's update is many tiny operations; on several threads OpenMP's workers spin between them,
and when another process holds a core they wait for it: the 1-D preset ran 10x slower on 2 threads than on 1
beside one busy process. The image networks' updates are large enough to use every core.

    python benchmarks/threads.py --data-dir ../shared/data            # the table, about 6 minutes on 2 cores

The busy process is another PyTorch program multiplying 512 x 512 matrices on its default threads (what a
second training run looks like to the machine). Each cell is the wall time of `advnets train` (start-up
excluded: the run's own training seconds, wall_s of its last statistics row).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {  # name -> (preset, overrides): a small update and a large one
    "toy-1d (1-D, k = 25)": ("toy-1d", ["train.steps=100"]),
    "toy-ring (2-D)": ("toy-ring", ["train.steps=1000"]),
    "paper-mnist networks": ("paper-mnist", ["train.steps=300", "train.valid_every=0"]),
}
BUSY = "import torch\na = torch.randn(512, 512)\nwhile True:\n    a = (a @ a).tanh()\n"


def train_seconds(preset: str, overrides: list[str], threads: str, data_dir: str | None) -> tuple[float, int]:
    """The run's training seconds (its last statistics row's wall_s) and the threads it used."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        argv = [sys.executable, "-m", "advnets", "train", preset, "--out", str(run), "--set", *overrides,
                f"threads={threads}", "train.progress=false", "train.log_every=50", "train.sample_every=100000",
                "train.checkpoint_every=100000"]
        if data_dir:
            argv += ["--data-dir", data_dir]
        subprocess.run(argv, check=True, capture_output=True, text=True)
        rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines() if line.strip()]
        start = [json.loads(line) for line in (run / "sessions.jsonl").read_text().splitlines()][0]
        return rows[-1]["wall_s"], start["threads"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"))
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()
    import torch

    cores = torch.get_num_threads()
    print(f"torch {torch.__version__}, {cores} threads by default; {time.strftime('%Y-%m-%d')}")
    print("| run | machine | 1 thread | all threads | auto (threads chosen) |")
    print("|---|---|---|---|---|")
    rows = []
    for situation in ("idle", "beside one busy process"):
        busy = subprocess.Popen([sys.executable, "-c", BUSY]) if situation != "idle" else None
        try:
            time.sleep(2 if busy else 0)
            for name, (preset, overrides) in CASES.items():
                one, _ = train_seconds(preset, overrides, "1", args.data_dir)
                every, _ = train_seconds(preset, overrides, str(cores), args.data_dir)
                auto, chosen = train_seconds(preset, overrides, "auto", args.data_dir)
                rows.append({"run": name, "situation": situation, "one_s": one, "all_s": every, "auto_s": auto,
                             "auto_threads": chosen, "cores": cores})
                print(f"| {name} | {situation} | {one:.1f} s | {every:.1f} s | {auto:.1f} s ({chosen}) |", flush=True)
        finally:
            if busy:
                busy.kill()
                busy.wait()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
