"""Table 1's rows from a set of runs: test Parzen of each run's best snapshot, mean +- SE over seeds.

For every run directory given (one seed each, e.g. paper-mnist or paper-fashion-mnist with
train.ema_decay and train.valid_every), scores the snapshot that validated best, for G's moving
average and for the live G, with the paper's protocol (`advnets evaluate RUN --metric parzen
[--generator live]`). A score already in the run's metrics.jsonl for the same snapshot (same SHA-256,
same generator, same protocol settings) is reused, so the test set is touched once per snapshot
however often this runs. Prints the per-seed and over-seed rows, every run's length and state, and
the validation score at the chosen epochs (from stats.jsonl), as markdown.

    python experiments/table1.py runs/repro/paper-ema-s0 runs/repro/paper-ema-s1 runs/repro/paper-ema-s2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from advnets.errors import AdvnetsError
from advnets.fileio import file_sha256
from advnets.metrics.registry import METRICS_FILE, MetricRequest, append_metrics, evaluate
from advnets.metrics.summary import format_mean_se
from advnets.snapshot import load_snapshot, resolve_snapshot_path
from advnets.train.rundir import read_stats

GENERATORS = {"ema": "average of G", "live": "live G"}
VALID_KEYS = {"ema": "parzen_valid", "live": "parzen_valid_live"}


def test_score(run: Path, variant: str, device: str, data_dir: str | None) -> dict:
    """The protocol's row for the run's best snapshot of `variant`, from metrics.jsonl when scored before."""
    path = resolve_snapshot_path(run, variant)
    sha = file_sha256(path)
    for row in read_stats(path.parent, METRICS_FILE):
        if (row.get("metric"), row.get("baseline"), row.get("snapshot_sha256"), row.get("generator"),
                row.get("n_samples"), row.get("seed")) == ("parzen", None, sha, variant, 10_000, 0):
            return row
    snap = load_snapshot(run, device, variant)
    row = evaluate("parzen", snap, MetricRequest(device=device, data_dir=data_dir))
    append_metrics(snap.path, row)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories, one seed each")
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 10, 20, 40, 60, 100, 150, 200],
                        help="epochs shown in the validation table (those a run has not reached are left out)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", help="data directory (default: the run's, $ADVNETS_DATA, cache)")
    args = parser.parse_args()

    scores: dict[str, list[dict]] = {w: [] for w in GENERATORS}
    for run in args.runs:
        for variant in GENERATORS:
            scores[variant].append(test_score(run, variant, args.device, args.data_dir))

    print("| generator | test Parzen, mean ± SE over seeds | per seed (± SE over test images; best step) |")
    print("|---|---:|---|")
    for variant, name in GENERATORS.items():
        rows = scores[variant]
        per_seed = ", ".join(f"{r['mean']:.1f} ± {r['se']:.1f} (step {r['step']})" for r in rows)
        print(f"| {name} | {format_mean_se([r['mean'] for r in rows])} | {per_seed} |")

    print("\n| run | steps | epochs | training wall s | collapsed | last D(x) / D(G(z)) | last diversity |")
    print("|---|---:|---:|---:|---|---|---:|")
    stats = {run: read_stats(run) for run in args.runs}
    for run, rows in stats.items():
        last = rows[-1]
        collapsed = any(r.get("collapsed") for r in rows)
        print(f"| {run} | {last['step']} | {last['epoch']:g} | {last['wall_s']:.0f} | {collapsed} | "
              f"{last['d_real']:.2f} / {last['d_fake']:.2f} | {last['diversity']:.2f} |")

    reached = [e for e in args.epochs if all(any(r["epoch"] == e for r in rows) for rows in stats.values())]
    print("\n| epoch | " + " | ".join(str(e) for e in reached) + " |")
    print("|---|" + "---:|" * len(reached))
    for run, rows in stats.items():
        by_epoch = {r["epoch"]: r for r in rows}
        for variant, name in GENERATORS.items():
            cells = [f"{by_epoch[e][VALID_KEYS[variant]]:.1f}" for e in reached]
            print(f"| {run.name}, {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    try:
        main()
    except AdvnetsError as error:  # a missing run or snapshot, data not found: one line, no traceback
        raise SystemExit(f"error: {error}") from None
