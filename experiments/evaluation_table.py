"""The one evaluation table (docs/evaluation.md, issue 21): generators and sanity anchors under Parzen,
the classifier-feature metrics and AIS, each as mean ± SE over sets of samples.

Rows: the shipped generator, the released setup's generator, fast-mnist's and quick-mnist's, a collapsed
generator (one sample of the shipped G, repeated), and the data anchors: real training images, training
images without the 9s, blurred training images (3x3 box filter), uniform noise. Every image set is
10,000 images drawn afresh per seed (a generator's samples of that seed; a random subset of the
training images; fresh noise), scored against the 10,000 test images by the Parzen protocol (sigma
chosen on the first 1,000 validation images) and by the shipped classifier's features (FID, KID,
precision/recall, density/coverage). AIS, for the generators only (it needs a decoder), is one run
of `advnets evaluate RUN --metric ais` (its SE is over the test images it used).

Anchors are built from *training* images, not test images: a test image scored against the test set
would find itself (Parzen and the k-NN metrics would reward the copy).

Every cell is kept in --results (JSON) as soon as it is computed, so the script resumes where it
stopped and prints the table from what is there:

    python experiments/evaluation_table.py --results experiments/results/evaluation_table.json \\
        --generator shipped=pretrained/mnist-paper --generator paper=runs/paper-s0 \\
        --generator fast=runs/fast-s0 --generator quick=runs/quick-s0 --seeds 0-4 [--ais] \\
        [--write-references "2-core CPU VM"]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Callable, Iterator

import torch

from advnets.cli import seed_list
from advnets.data import registry as datasets
from advnets.fileio import atomic_output
from advnets.metrics import classifier_features as features
from advnets.metrics import parzen
from advnets.metrics.registry import MetricRequest, evaluate
from advnets.metrics.summary import format_mean_se
from advnets.sampling import generate
from advnets.snapshot import load_snapshot

N = 10_000
GENERATOR_LABELS = {
    "shipped": "shipped `pretrained/mnist-paper` (paper-mnist, 360 epochs, averaged)",
    "paper": "`paper-mnist`, the released setup exactly, 40 of its 1,000 epochs (live G, best by validation)",
    "recipe": "`fast-mnist`, the CPU recipe (docs/reproduction.md; its seed-0 run on 2 threads)",
    "fast": "the former `fast-mnist` (Adam, no R1, 10 epochs; the main job's run on 2 threads)",
    "fast1t": "the former `fast-mnist`, the same seed trained on 1 thread (another trajectory)",
    "quick": "`quick-mnist` (3 epochs)",
}
ANCHORS = {
    "train": "anchor: real training images",
    "no9": "anchor: training images without the 9s",
    "blurred": "anchor: blurred training images (3x3 box)",
    "noise": "anchor: uniform noise",
    "collapsed": "anchor: collapsed generator (one shipped sample, repeated)",
}
FEATURE_KEYS = ("fid_mnistclf", "kid_mnistclf", "precision", "recall", "density", "coverage")


class Data:
    """MNIST's splits, loaded once."""

    def __init__(self, data_dir: str | None):
        spec = datasets.get("mnist")
        self.train, self.train_labels = spec.load_images("train", data_dir)
        self.valid = spec.load_images("valid", data_dir)[0]
        self.test = spec.load_images("test", data_dir)[0]
        self.test_features = features.test_features("mnist", data_dir)


def image_sets(data: Data, generators: dict[str, str]) -> dict[str, Callable[[int], torch.Tensor]]:
    """Row name -> images [N, 1, 28, 28] in [0, 1] for a seed."""

    def subset(pool: torch.Tensor, seed: int) -> torch.Tensor:
        return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:N]]

    def sampler(path: str) -> Callable[[int], torch.Tensor]:
        snap = load_snapshot(path)
        return lambda seed: generate(snap.generator, N, seed=seed)

    sets = {name: sampler(path) for name, path in generators.items()}
    sets["train"] = lambda seed: subset(data.train, seed)
    sets["no9"] = lambda seed: subset(data.train[data.train_labels != 9], seed)
    sets["blurred"] = lambda seed: torch.nn.functional.avg_pool2d(subset(data.train, seed), 3, stride=1, padding=1)
    sets["noise"] = lambda seed: torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    if "shipped" in generators:
        shipped = sets["shipped"]
        sets["collapsed"] = lambda seed: shipped(seed)[:1].repeat(N, 1, 1, 1)
    return sets


def score_set(data: Data, images: torch.Tensor, seed: int) -> dict[str, float]:
    """Parzen (test mean, its SE over test images, sigma) and the feature metrics of one image set."""
    rows = lambda x: x.reshape(len(x), -1).double()  # noqa: E731
    p = parzen.parzen_protocol(rows(images), rows(data.valid[: parzen.N_VALID]), rows(data.test))
    scores = features.feature_metrics(data.test_features, features.classifier_features("mnist", images), seed)
    return {"parzen": p.mean, "parzen_se_test": p.se, "parzen_sigma": p.sigma,
            **{k: scores[k] for k in FEATURE_KEYS}}


def _save(path: Path, results: dict) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(results, indent=1, sort_keys=True))


DIGITS = {"parzen": 1, "fid_mnistclf": 2, "kid_mnistclf": 2, "precision": 3, "recall": 3, "density": 3, "coverage": 3}


def summaries(results: dict, seeds: list[int]) -> Iterator[tuple[str, str, int, dict[str, str], dict | None]]:
    """Per row with results: (name, label, seeds found, a formatted "mean ± SE over seeds" per column, its AIS
    row)."""
    for name, label in {**GENERATOR_LABELS, **ANCHORS}.items():
        per_seed = [results["sets"][name][str(s)] for s in seeds if str(s) in results["sets"].get(name, {})]
        if per_seed:
            cells = {key: format_mean_se([r[key] for r in per_seed], digits=d) for key, d in DIGITS.items()}
            yield name, label, len(per_seed), cells, results["ais"].get(name)


def table(results: dict, seeds: list[int]) -> str:
    head = ("| row | Parzen (nats) | fid_mnistclf | kid_mnistclf | precision | recall | density | coverage "
            "| AIS (nats) [BDMC gap] |")
    lines = [head, "|---|" + "---:|" * 8]
    for _, label, n_seeds, cells, ais_row in summaries(results, seeds):
        ais = (f"{ais_row['log_likelihood']:.1f} ± {ais_row['se']:.1f} [{ais_row['bdmc_gap']:.1f}]"
               if ais_row else "—")
        lines.append(f"| {label} ({n_seeds} seeds) | " + " | ".join(cells[k] for k in DIGITS) + f" | {ais} |")
    return "\n".join(lines)


def reference_rows(results: dict, seeds: list[int], machine: str) -> list[dict[str, str]]:
    """The table as advnets.metrics.references rows (formatted cells), for the report and the main job."""
    rows = []
    for name, label, n_seeds, cells, ais_row in summaries(results, seeds):
        date = results.get("dates", {}).get(name, "")
        row = {"what": f"{label.replace('`', '')} ({n_seeds} sets of {N:,})", **cells,
               "source": f"experiments/evaluation_table.py, seeds {seeds[0]}-{seeds[-1]}; {machine}"
                         + (f", {date}" if date else "")}
        if ais_row:
            row["ais"] = f"{ais_row['log_likelihood']:.1f} ± {ais_row['se']:.1f}"
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="JSON file of computed cells (resumed)")
    parser.add_argument("--generator", action="append", default=[], metavar="NAME=PATH",
                        help=f"a generator row ({', '.join(GENERATOR_LABELS)}) and its run or snapshot")
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2, 3, 4])
    parser.add_argument("--ais", action="store_true", help="also AIS for every generator (minutes each on a CPU)")
    parser.add_argument("--data-dir")
    parser.add_argument("--write-references", metavar="MACHINE", help="also write the table as the reference rows "
                        "advnets report shows (src/advnets/metrics/mnist_references.json), naming MACHINE")
    args = parser.parse_args()
    generators = dict(item.split("=", 1) for item in args.generator)
    unknown = set(generators) - set(GENERATOR_LABELS)
    if unknown:
        parser.error(f"unknown generator rows {sorted(unknown)}; known: {', '.join(GENERATOR_LABELS)}")
    results = json.loads(args.results.read_text()) if args.results.exists() else {"sets": {}, "ais": {}}
    results["generators"] = {**results.get("generators", {}), **generators}
    data = Data(args.data_dir)
    for name, images_of in image_sets(data, generators).items():
        for seed in args.seeds:
            done = results["sets"].setdefault(name, {})
            if str(seed) in done:
                continue
            started = time.perf_counter()
            done[str(seed)] = {**score_set(data, images_of(seed), seed), "seconds": time.perf_counter() - started}
            results.setdefault("dates", {}).setdefault(name, time.strftime("%Y-%m-%d"))  # when the row was measured
            _save(args.results, results)
            print(f"{name} seed {seed}: {json.dumps(done[str(seed)])}", flush=True)
    if args.ais:
        for name, path in generators.items():
            if name not in results["ais"]:
                row = evaluate("ais", load_snapshot(path), MetricRequest(data_dir=args.data_dir))
                results["ais"][name] = {k: v for k, v in row.items() if not isinstance(v, float) or math.isfinite(v)}
                _save(args.results, results)
                print(f"{name} ais: {json.dumps(results['ais'][name])}", flush=True)
    print(table(results, args.seeds))
    if args.write_references:
        from advnets.metrics.references import REFERENCES_FILE

        with atomic_output(REFERENCES_FILE) as tmp:
            tmp.write_text(json.dumps({"written_by": "experiments/evaluation_table.py --write-references",
                                       "rows": reference_rows(results, args.seeds, args.write_references)},
                                      indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
