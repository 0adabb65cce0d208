"""CPU threads for small and large updates (issue 30): the same training run on 1 thread, on every thread,
and with `threads: auto`, on an idle machine and beside one busy process.

A small network's update is many tiny operations; on several threads OpenMP's workers spin between them,
and when another process holds a core they wait for it: the 1-D preset ran 10x slower on 2 threads than on 1
beside one busy process. The image networks' updates are large enough to use every core.

    python benchmarks/threads.py --data-dir ../shared/data            # the tables, about 8 minutes on 2 cores
    python benchmarks/threads.py --data-dir ../shared/data --waits 3  # the main job's preset: wait policies only

The busy process is another PyTorch program multiplying 512 x 512 matrices on its default threads (what a
second training run looks like to the machine). Each cell is the wall time of `advnets train` (start-up
excluded: the run's own training seconds, wall_s of its last statistics row).

A second table compares how long OpenMP's idle threads spin before they sleep, for the paper-mnist
networks on 2 threads: GNU OpenMP's default (about 300,000 turns: a waiting thread keeps its core busy),
the advnets command line's GOMP_SPINCOUNT=3000 (set unless the user chose a policy or a count), and
sleeping at once (OMP_WAIT_POLICY=PASSIVE).
"""

from __future__ import annotations

import argparse
import contextlib
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


# `advnets` as the console script runs it (GOMP_SPINCOUNT=3000 unless set), and its main() alone (OpenMP's default)
CONSOLE = ["-m", "advnets"]
WITHOUT_POLICY = ["-c", "import sys; from advnets.cli import main; sys.exit(main(sys.argv[1:]))"]


def train_seconds(preset: str, overrides: list[str], threads: str, data_dir: str | None,
                  entry: list[str] = CONSOLE, extra_env: dict | None = None) -> tuple[float, int]:
    """The run's training seconds (its last statistics row's wall_s) and the threads it used."""
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        argv = [sys.executable, *entry, "train", preset, "--out", str(run), "--set", *overrides,
                f"threads={threads}", "train.progress=false", "train.log_every=50", "train.sample_every=100000",
                "train.checkpoint_every=100000"]
        if data_dir:
            argv += ["--data-dir", data_dir]
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
        env.update(extra_env or {})
        subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
        rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines() if line.strip()]
        start = [json.loads(line) for line in (run / "sessions.jsonl").read_text().splitlines()][0]
        return rows[-1]["wall_s"], start["threads"]


SITUATIONS = ("idle", "beside one busy process")


@contextlib.contextmanager
def machine(situation: str):
    """The machine as `situation` says: idle, or with the BUSY program running beside the measured runs."""
    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if situation != "idle" else None
    try:
        time.sleep(2 if busy else 0)
        yield
    finally:
        if busy:
            busy.kill()
            busy.wait()


# How long a waiting OpenMP thread spins before it sleeps, for the main job's preset (--waits)
WAITS = {"GOMP_SPINCOUNT=3000 (advnets)": {}, "GOMP_SPINCOUNT=300": {"GOMP_SPINCOUNT": "300"},
         "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"}}


def compare_waits(repeats: int, data_dir: str | None) -> None:
    """fast-mnist (300 updates, 2 threads) under each of WAITS, idle and beside the busy program; the policies
    interleaved `repeats` times, so that the machine's drifts fall on each alike."""
    overrides = ["train.steps=300", "train.valid_every=0"]
    print(f"| fast-mnist, 300 updates, 2 threads | machine | {' | '.join(WAITS)} |")
    print(f"|---|---|{'---|' * len(WAITS)}")
    for situation in SITUATIONS:
        with machine(situation):
            seconds = {name: [] for name in WAITS}
            for _ in range(repeats):
                for name, env in WAITS.items():
                    seconds[name].append(train_seconds("fast-mnist", overrides, "2", data_dir, CONSOLE, env)[0])
        cells = " | ".join(" / ".join(f"{s:.1f}" for s in seconds[name]) + " s" for name in WAITS)
        print(f"| each repeat | {situation} | {cells} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"))
    p.add_argument("--json", help="also write the rows here")
    p.add_argument("--waits", type=int, metavar="REPEATS", help="only the wait policies, for the main job's preset")
    args = p.parse_args()
    if args.waits:
        compare_waits(args.waits, args.data_dir)
        return
    import torch

    cores = torch.get_num_threads()
    print(f"torch {torch.__version__}, {cores} threads by default; {time.strftime('%Y-%m-%d')}")
    print("| run | machine | 1 thread | all threads | auto (threads chosen) |")
    print("|---|---|---|---|---|")
    rows = []
    for situation in SITUATIONS:
        with machine(situation):
            for name, (preset, overrides) in CASES.items():
                one, _ = train_seconds(preset, overrides, "1", args.data_dir)
                every, _ = train_seconds(preset, overrides, str(cores), args.data_dir)
                auto, chosen = train_seconds(preset, overrides, "auto", args.data_dir)
                rows.append({"run": name, "situation": situation, "one_s": one, "all_s": every, "auto_s": auto,
                             "auto_threads": chosen, "cores": cores})
                print(f"| {name} | {situation} | {one:.1f} s | {every:.1f} s | {auto:.1f} s ({chosen}) |", flush=True)
    print("\n| paper-mnist networks, 2 threads | machine | OpenMP's default spin | advnets (GOMP_SPINCOUNT=3000) | "
          "no spin (OMP_WAIT_POLICY=PASSIVE) |")
    print("|---|---|---|---|---|")
    preset, overrides = CASES["paper-mnist networks"]
    for situation in SITUATIONS:
        with machine(situation):
            spin, _ = train_seconds(preset, overrides, "2", args.data_dir, WITHOUT_POLICY)
            short, _ = train_seconds(preset, overrides, "2", args.data_dir, CONSOLE)
            passive, _ = train_seconds(preset, overrides, "2", args.data_dir, CONSOLE, {"OMP_WAIT_POLICY": "PASSIVE"})
            rows.append({"run": "paper-mnist networks, OpenMP spin", "situation": situation, "default_spin_s": spin,
                         "short_spin_s": short, "passive_s": passive})
            print(f"| 300 updates | {situation} | {spin:.1f} s | {short:.1f} s | {passive:.1f} s |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
