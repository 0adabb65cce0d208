"""Fingerprint what training computes, to show that a change of the training code changed nothing.

Trains a fixed set of runs on the CPU with whichever advnets `import advnets` finds, and writes, per run,
the SHA-256 of every tensor of its training state and latest snapshot, its counters, and every statistics
row without its timings. Run it on two commits and compare the files: equal files mean every tensor and
every row is bit-identical (on the same machine, PyTorch and thread count).

    python scripts/training_fingerprint.py --data-dir ../shared/data --out after.json
    git worktree add /tmp/before <commit>
    PYTHONPATH=/tmp/before/src python scripts/training_fingerprint.py --data-dir ../shared/data --out before.json
    python scripts/training_fingerprint.py --compare before.json after.json

The runs: the three 0.1.0 runs of tests/fixtures/v0.1.0 resumed from step 10 to 20 (tests/test_compatibility.py),
200 updates of the tiny MNIST networks per schedule and model kind (that file's FIXTURE_200), 200 updates of the
8-mode ring (Algorithm 1 with k = 2 and Adam), and a run stopped at step 100 and resumed to 200.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "v0.1.0"
TINY_200 = ["generator.hidden=[8]", "discriminator.hidden=[4]", "discriminator.pieces=2", "train.batch_size=1000",
            "train.log_every=50", "train.sample_every=200", "train.checkpoint_every=100", "train.grid_size=16",
            "train.progress=false", "device=cpu", "threads=1"]
RUNS_200 = {  # name -> (preset, overrides)
    "simultaneous": ("paper-mnist", []),
    "alternating-k2": ("paper-mnist", ["train.schedule=alternating", "train.k=2"]),
    "moving-average": ("paper-mnist", ["train.ema_decay=0.99"]),
    "conditional": ("paper-mnist", ["data.conditional=true", "train.schedule=alternating", "train.k=2"]),
    "inpainting": ("paper-mnist", ["data.inpainting=true", "train.valid_every=0", "train.schedule=alternating",
                                   "train.k=2"]),
    "adam-r1-ema": ("fast-mnist", ["train.valid_every=0"]),
    "ring-k2": ("toy-ring", ["train.schedule=alternating", "train.k=2", "train.batch_size=64"]),
}
TIMINGS = {"steps_per_s", "wall_s", "elapsed_s", "seconds"}


def fingerprint(run: Path) -> dict:
    from advnets.tensorfile import load_tensors
    from advnets.train.checkpoint import load_training_state
    from advnets.train.rundir import read_stats

    def digests(tensors: dict) -> dict:
        return {k: hashlib.sha256(v.contiguous().numpy().tobytes()).hexdigest() for k, v in sorted(tensors.items())}

    tensors, header = load_training_state(run)
    snapshot, _ = load_tensors(run / "network-latest.safetensors")
    return {
        "state": digests(tensors),
        "snapshot": digests(snapshot),
        "counters": {k: header[k] for k in ("step", "d_updates", "g_updates", "data")},
        "stats": [{k: v for k, v in row.items() if k not in TIMINGS} for row in read_stats(run)],
    }


def make_runs(data_dir: str, where: Path) -> dict:
    from advnets.cli import main

    results = {}
    for case in ("mnist", "ring", "cond-mnist"):  # 0.1.0's runs, resumed from step 10 to 20
        run = where / f"resumed-{case}"
        shutil.copytree(FIXTURES / case, run)
        assert main(["train", "--resume", str(run), "--data-dir", data_dir, "--set", "train.steps=20",
                     "threads=1"]) == 0, case
        results[f"0.1.0 {case} resumed to 20"] = fingerprint(run)
    for name, (preset, overrides) in RUNS_200.items():
        run = where / name
        settings = [*TINY_200, *overrides, "train.steps=200"] if preset != "fast-mnist" else [
            *overrides, "train.steps=200", "train.batch_size=100", "train.progress=false", "train.log_every=50",
            "train.checkpoint_every=100", "train.sample_every=200", "device=cpu", "threads=1"]
        assert main(["train", preset, "--out", str(run), "--data-dir", data_dir, "--set", *settings]) == 0, name
        results[f"{name}, 200 updates"] = fingerprint(run)
    run = where / "stopped-and-resumed"  # stopped at 100, resumed to 200
    assert main(["train", "paper-mnist", "--out", str(run), "--data-dir", data_dir, "--set", *TINY_200,
                 "train.ema_decay=0.99", "train.steps=100"]) == 0
    assert main(["train", "--resume", str(run), "--set", "train.steps=200", "threads=1"]) == 0
    results["simultaneous with average, stopped at 100 and resumed to 200"] = fingerprint(run)
    return results


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    different = 0
    for run in sorted(set(a["runs"]) | set(b["runs"])):
        ra, rb = a["runs"].get(run), b["runs"].get(run)
        if ra == rb:
            print(f"  same       {run}")
            continue
        different += 1
        parts = [part for part in ("state", "snapshot", "counters", "stats") if (ra or {}).get(part) != (rb or {}).get(part)]
        print(f"  DIFFERENT  {run}: {', '.join(parts) or 'missing'}")
    print(f"{before} ({a['advnets']}) vs {after} ({b['advnets']}): "
          + ("every tensor and statistics row bit-identical" if not different else f"{different} run(s) differ"))
    return 1 if different else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", help="the folder holding MNIST")
    p.add_argument("--out", type=Path, help="where to write the fingerprint (JSON)")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = p.parse_args()
    if args.compare:
        return compare(*args.compare)
    import torch

    import advnets

    with tempfile.TemporaryDirectory() as tmp:
        runs = make_runs(args.data_dir, Path(tmp))
    record = {"advnets": f"{advnets.__version__} from {Path(advnets.__file__).parent}", "torch": torch.__version__,
              "runs": runs}
    args.out.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}: {len(runs)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
