"""Workers on one machine: the same study run by one worker (every core's threads for each trial) and by N
workers (the cores divided among them), wall time of `advnets study run` from a queued study to its end.

    python benchmarks/study_workers.py --data-dir ../shared/data            # toy-ring and fast-mnist, 1 vs 2 workers

A toy preset trains on one thread whatever it is given (its updates are too small for threads to pay:
advnets.train.budget), so a second worker has a core to itself; an MNIST preset uses every thread it is given,
so the question there is whether two trials side by side on a core each beat one after the other on both.
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

import yaml

CASES = {  # name -> (preset, overrides, updates per trial)
    "toy-ring": ("toy-ring", ["train.progress=false", "train.log_every=100", "train.checkpoint_every=1000",
                              "train.sample_every=100000"], 2000),
    "fast-mnist": ("fast-mnist", ["train.progress=false", "train.log_every=100", "train.checkpoint_every=1000",
                                  "train.sample_every=100000"], 300),
}


def spec(name: str, preset: str, overrides: list[str], updates: int, seeds: int) -> dict:
    return {"name": name, "base": preset, "set": overrides, "settings": {"base": []}, "seeds": list(range(seeds)),
            "budget": {"updates": updates}, "objective": {"metric": "modes", "key": "modes", "direction": "maximize"}
            if preset.startswith("toy") else {"metric": "mnistclf-features", "key": "fid_mnistclf",
                                              "direction": "minimize", "n_samples": 1000}}


def time_study(case: str, workers: int, seeds: int, where: Path, env: dict) -> float:
    preset, overrides, updates = CASES[case]
    path = where / f"{case}-{workers}.yaml"
    path.write_text(yaml.safe_dump(spec(f"{case}-w{workers}", preset, overrides, updates, seeds)))
    folder = where / f"{case}-w{workers}"
    subprocess.run([sys.executable, "-m", "advnets", "study", "create", str(path), "--out", str(folder)], env=env,
                   check=True, capture_output=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "advnets", "study", "run", str(folder), "--workers", str(workers)], env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("ADVNETS_DATA"))
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--workers", type=int, default=2, help="the N of N workers (against 1)")
    p.add_argument("--seeds", type=int, default=4, help="trials in each study (one setting x this many seeds)")
    args = p.parse_args()
    env = {**os.environ, **({"ADVNETS_DATA": args.data_dir} if args.data_dir else {})}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            one = time_study(case, 1, args.seeds, Path(tmp), env)
            many = time_study(case, args.workers, args.seeds, Path(tmp), env)
            rows.append({"case": case, "trials": args.seeds, "1 worker s": round(one, 1),
                         f"{args.workers} workers s": round(many, 1), "speed-up": round(one / many, 2)})
            print(json.dumps(rows[-1]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
