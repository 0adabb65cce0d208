"""Does selection by validation FID change fast-mnist's chosen snapshot and its test numbers? (docs/evaluation.md,
"Choosing a snapshot by validation FID")

fast-mnist scores its last G (its moving average at step 4,500; train.valid_every 0). This trains it on seeds 0-2
twice, validating every 500 steps by train.valid_metric fid and by parzen (selection never changes training:
the two runs' last snapshots are checked to be bit-identical), then scores on the test split, with 10,000
samples of seed 0, the snapshot each selection kept and the last one:

    advnets train fast-mnist --members 0-2 --out OUT/fid --set train.valid_every=500 train.valid_metric=fid
    advnets train fast-mnist --members 0-2 --out OUT/parzen --set train.valid_every=500 train.valid_metric=parzen

    python experiments/valid_selection.py --out runs/valid-metric --data-dir ../shared/data [--train]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import torch

from advnets.fileio import file_sha256
from advnets.metrics import registry
from advnets.metrics.spec import MetricRequest
from advnets.snapshot import BEST_SNAPSHOT, LATEST_SNAPSHOT, load_snapshot
from advnets.train.rundir import read_stats

SEEDS = (0, 1, 2)
SELECTIONS = ("fid", "parzen")


def train(out: Path, data_dir: str | None) -> None:
    for metric in SELECTIONS:
        if not (out / metric).exists():
            subprocess.run(["advnets", "train", "fast-mnist", "--members", "0-2", "--out", str(out / metric),
                            *(["--data-dir", data_dir] if data_dir else []), "--set", "train.valid_every=500",
                            f"train.valid_metric={metric}", "train.progress=false"], check=True)


_SCORED: dict[str, dict] = {}  # by the snapshot file's SHA-256: a selection that kept the last G is not scored twice


def score(snapshot: Path, data_dir: str | None) -> dict:
    key = file_sha256(snapshot)
    if key not in _SCORED:
        _SCORED[key] = _score(snapshot, data_dir)
    return _SCORED[key]


def _score(snapshot: Path, data_dir: str | None) -> dict:
    snap = load_snapshot(snapshot)
    features = registry.evaluate("mnistclf-features", snap, MetricRequest(seed=0, data_dir=data_dir))
    parzen = registry.evaluate("parzen", snap, MetricRequest(seed=0, data_dir=data_dir))
    return {"step": snap.step, "fid": features["fid_mnistclf"], "precision": features["precision"],
            "recall": features["recall"], "parzen": parzen["mean"], "parzen_se": parzen["se"]}


def same_weights(a: Path, b: Path) -> bool:
    first, second = load_snapshot(a).generator.state_dict(), load_snapshot(b).generator.state_dict()
    return all(torch.equal(first[k], second[k]) for k in first)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/valid-metric")
    parser.add_argument("--data-dir")
    parser.add_argument("--train", action="store_true", help="train the runs that are missing first")
    args = parser.parse_args()
    out = Path(args.out)
    if args.train:
        train(out, args.data_dir)
    print("| seed | kept by | step | validation score | test FID (mnistclf) | precision | recall | test Parzen |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|")
    for seed in SEEDS:
        runs = {metric: out / metric / f"s{seed}" for metric in SELECTIONS}
        assert same_weights(runs["fid"] / LATEST_SNAPSHOT, runs["parzen"] / LATEST_SNAPSHOT), seed
        for kept_by, snapshot, key in (("last G (the recipe)", runs["fid"] / LATEST_SNAPSHOT, "fid_valid"),
                                       ("validation FID", runs["fid"] / BEST_SNAPSHOT, "fid_valid"),
                                       ("validation Parzen", runs["parzen"] / BEST_SNAPSHOT, "parzen_valid")):
            row = score(snapshot, args.data_dir)
            valid = next((r[key] for r in read_stats(snapshot.parent) if r["step"] == row["step"] and key in r), None)
            print(f"| {seed} | {kept_by} | {row['step']:,} | {'' if valid is None else f'{key} {valid:.2f}'} | "
                  f"{row['fid']:.2f} | {row['precision']:.3f} | {row['recall']:.3f} | "
                  f"{row['parzen']:.1f} ± {row['parzen_se']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
