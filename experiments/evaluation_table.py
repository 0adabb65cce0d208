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

Every cell is kept in --results (JSON) as soon as it is computed, with the machine and date it was
measured on, so the script resumes where it stopped and prints the table from what is there. A cell
measured by a former protocol is measured again when its images can be made (its generator is given,
or it is an anchor): a set scored before KID was taken over all pairs (no `kid_estimator`), an AIS row
at other than the current default settings (metrics/ais.py, AISSettings). Cells that cannot be
measured again stay, and the table says which protocol they used. AIS, the slow cell (tens of minutes
per generator on a CPU), may be run on its own beforehand, in parallel, by `advnets evaluate RUN
--metric ais`: a row at the current defaults and seed 0 in metrics.jsonl beside the same weights
(same SHA-256) is taken from there.

    python experiments/evaluation_table.py --results experiments/results/evaluation_table.json \\
        --generator shipped=pretrained/mnist-paper --generator paper=runs/paper-s0 \\
        --generator recipe=runs/recipe-s0 --generator quick=runs/quick-s0 --seeds 0-4 [--ais] \\
        [--write-references]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import torch

from advnets.commands.options import seed_list
from advnets.data import registry as datasets
from advnets.fileio import atomic_output, file_sha256
from advnets.metrics import classifier_features as features
from advnets.metrics import ais, parzen_window
from advnets.metrics.registry import MetricRequest, evaluate, metrics_path
from advnets.metrics.summary import format_mean_se
from advnets.runtime import environment
from advnets.sampling import generate
from advnets.snapshot import Snapshot, load_snapshot, resolve_snapshot_path

N = 10_000
GENERATOR_LABELS = {
    "shipped": "shipped `pretrained/mnist-paper` (paper-mnist, 360 epochs, averaged)",
    "paper": "`paper-mnist`, the released setup exactly, 40 of its 1,000 epochs (live G, best by validation)",
    "recipe": "`fast-mnist`, the CPU recipe (docs/reproduction.md; its seed-0 run on 2 threads)",
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
KID_DETAIL_KEYS = ("kid_mnistclf_se", "kid_estimator")  # absent from sets scored before KID took all pairs
AIS_SETTINGS = ("steps", "chains", "leapfrog", "n_test", "seed")


def current_ais_settings() -> dict[str, int]:
    """The settings an AIS cell is measured at now: the metric's defaults, seed 0."""
    return {**dataclasses.asdict(ais.AISSettings()), "n_test": ais.METRIC.default_n, "seed": 0}


def set_is_current(cell: dict) -> bool:
    """Whether an image set's cell was scored by the current protocol (KID over all pairs)."""
    return "kid_estimator" in cell


def ais_is_current(row: dict) -> bool:
    current = current_ais_settings()
    return all(row.get(key) == current[key] for key in AIS_SETTINGS)


@functools.cache
def machine_description() -> str:
    """This machine in the words the table's rows use: cores, CPU model, vector width, torch's build
    (advnets.runtime.environment, which every run's sessions.jsonl records too)."""
    env = environment()
    vector = {"AVX512": "AVX-512", "AVX2": "AVX2"}.get(env["cpu_capability"], "no AVX2")
    return f"{os.cpu_count()}-core CPU ({env['cpu']}, {vector}), torch {env['torch']}"


def ais_row_from_metrics(snap: Snapshot) -> dict | None:
    """The latest AIS row at the current settings that `advnets evaluate` wrote for these very weights."""
    path = metrics_path(snap.path)
    if not path.is_file():
        return None
    sha = file_sha256(snap.path)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    found = [r for r in rows if r.get("metric") == "ais" and r.get("snapshot_sha256") == sha
             and r.get("generator") == snap.variant and ais_is_current(r)]
    return found[-1] if found else None


class Data:
    """MNIST's splits, loaded once."""

    def __init__(self, data_dir: str | None):
        spec = datasets.get("mnist")
        self.train, self.train_labels = spec.load_images("train", data_dir)
        self.valid = spec.load_images("valid", data_dir)[0]
        self.test = spec.load_images("test", data_dir)[0]
        self.test_features = features.reference_features("mnist", data_dir)


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
    p = parzen_window.parzen_protocol(rows(images), rows(data.valid[: parzen_window.N_VALID]), rows(data.test))
    scores = features.feature_metrics(data.test_features, features.classifier_features("mnist", images), seed)
    return {"parzen": p.mean, "parzen_se_test": p.se, "parzen_sigma": p.sigma,
            **{k: scores[k] for k in FEATURE_KEYS + KID_DETAIL_KEYS}}


def _save(path: Path, results: dict) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(results, indent=1, sort_keys=True))


DIGITS = {"parzen": 1, "fid_mnistclf": 2, "kid_mnistclf": 2, "precision": 3, "recall": 3, "density": 3, "coverage": 3}


def summaries(results: dict, seeds: list[int]) -> Iterator[tuple[str, str, int, dict[str, str], dict | None]]:
    """Per row with results: (name, label, seeds found, a formatted "mean ± SE over seeds" per column, its AIS
    row). A KID cell from sets scored before KID took all pairs says "(subsets)"."""
    for name, label in {**GENERATOR_LABELS, **ANCHORS}.items():
        per_seed = [results["sets"][name][str(s)] for s in seeds if str(s) in results["sets"].get(name, {})]
        if per_seed:
            cells = {key: format_mean_se([r[key] for r in per_seed], digits=d) for key, d in DIGITS.items()}
            if not all(set_is_current(r) for r in per_seed):
                cells["kid_mnistclf"] += " (subsets)"
            yield name, label, len(per_seed), cells, results["ais"].get(name)


def ais_cell(row: dict, brackets: bool) -> str:
    """An AIS row as a table cell: mean ± SE over test images, its BDMC gap, and what a reader must know
    (a former schedule; not converged)."""
    notes = [] if ais_is_current(row) else [f"{row['steps']:,} distributions"]
    if row["bdmc_gap"] > ais.CONVERGED_GAP:
        notes.append("not converged")
    value, gap = f"{row['log_likelihood']:.1f} ± {row['se']:.1f}", f"{row['bdmc_gap']:.1f}"
    if brackets:
        return f"{value} [{'; '.join([gap, *notes])}]"
    return f"{value} ({'; '.join([f'gap {gap}', *notes])})"


def table(results: dict, seeds: list[int]) -> str:
    head = ("| row | Parzen (nats) | fid_mnistclf | kid_mnistclf | precision | recall | density | coverage "
            "| AIS (nats) [BDMC gap] |")
    lines = [head, "|---|" + "---:|" * 8]
    for name, label, n_seeds, cells, ais_row in summaries(results, seeds):
        measured = results.get("dates", {}).get(name, "")
        lines.append(f"| {label} ({n_seeds} seeds{'; ' + measured if measured else ''}) | "
                     + " | ".join(cells[k] for k in DIGITS) + f" | {ais_cell(ais_row, True) if ais_row else '—'} |")
    return "\n".join(lines)


def reference_rows(results: dict, seeds: list[int]) -> list[dict[str, str]]:
    """The table as advnets.metrics.references rows (formatted cells), for the report and the main job."""
    rows = []
    for name, label, n_seeds, cells, ais_row in summaries(results, seeds):
        where = ", ".join(filter(None, [results.get("machines", {}).get(name), results.get("dates", {}).get(name)]))
        row = {"what": f"{label.replace('`', '')} ({n_seeds} sets of {N:,})", **cells,
               "source": f"experiments/evaluation_table.py, seeds {seeds[0]}-{seeds[-1]}" + (f"; {where}" if where else "")}
        if ais_row:
            row["ais"] = ais_cell(ais_row, False)
        rows.append(row)
    return rows


def forget_other_weights(results: dict, generators: dict[str, str]) -> None:
    """Drop a generator row's cells when its run now holds other weights (another SHA-256) than they measured."""
    for name, snapshot in generators.items():
        sha = file_sha256(resolve_snapshot_path(snapshot))  # the file load_snapshot would read; no model built
        known = results.setdefault("generator_sha256", {}).get(name) or results["ais"].get(name, {}).get("snapshot_sha256")
        if known not in (None, sha):
            print(f"{name}: {snapshot} holds other weights than the cells measured; measuring the row again", flush=True)
            for row in [name, "collapsed"] if name == "shipped" else [name]:
                results["sets"].pop(row, None)
            results["ais"].pop(name, None)
        results["generator_sha256"][name] = sha


def measure_sets(results: dict, path: Path, data: Data, generators: dict[str, str], seeds: list[int]) -> None:
    """Every set's cell not yet measured by the current protocol, kept as soon as it is computed."""
    for name, images_of in image_sets(data, generators).items():
        for seed in seeds:
            done = results["sets"].setdefault(name, {})
            if str(seed) in done and set_is_current(done[str(seed)]):
                continue
            started = time.perf_counter()
            done[str(seed)] = {**score_set(data, images_of(seed), seed), "seconds": time.perf_counter() - started}
            results.setdefault("dates", {})[name] = time.strftime("%Y-%m-%d")  # when the row was measured
            results.setdefault("machines", {})[name] = machine_description()
            _save(path, results)
            print(f"{name} seed {seed}: {json.dumps(done[str(seed)])}", flush=True)


def measure_ais(results: dict, path: Path, generators: dict[str, str], data_dir: str | None) -> None:
    """AIS at the current defaults for every generator that lacks it: from metrics.jsonl beside its weights when
    `advnets evaluate --metric ais` has measured them there, else measured now."""
    for name, snapshot in generators.items():
        if name in results["ais"] and ais_is_current(results["ais"][name]):
            continue
        snap = load_snapshot(snapshot)
        row = ais_row_from_metrics(snap)
        source = f"{metrics_path(snap.path)} (advnets evaluate {snapshot} --metric ais)"
        if row is None:
            row = evaluate("ais", snap, MetricRequest(data_dir=data_dir))
            source = "measured by this script"
        results["ais"][name] = {**{k: v for k, v in row.items() if not isinstance(v, float) or math.isfinite(v)},
                                "source": source, "date": time.strftime("%Y-%m-%d"), "machine": machine_description()}
        _save(path, results)
        print(f"{name} ais: {json.dumps(results['ais'][name])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True, help="JSON file of computed cells (resumed)")
    parser.add_argument("--generator", action="append", default=[], metavar="NAME=PATH",
                        help=f"a generator row ({', '.join(GENERATOR_LABELS)}) and its run or snapshot")
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2, 3, 4])
    parser.add_argument("--ais", action="store_true", help="also AIS for every generator (tens of minutes each on a "
                        "CPU; taken from metrics.jsonl where advnets evaluate has measured it)")
    parser.add_argument("--data-dir")
    parser.add_argument("--write-references", action="store_true", help="also write the table as the reference rows "
                        "advnets report shows (src/advnets/metrics/mnist_references.json)")
    args = parser.parse_args()
    generators = dict(item.split("=", 1) for item in args.generator)
    unknown = set(generators) - set(GENERATOR_LABELS)
    if unknown:
        parser.error(f"unknown generator rows {sorted(unknown)}; known: {', '.join(GENERATOR_LABELS)}")
    results = json.loads(args.results.read_text()) if args.results.exists() else {"sets": {}, "ais": {}}
    results["generators"] = {**results.get("generators", {}), **generators}
    forget_other_weights(results, generators)
    measure_sets(results, args.results, Data(args.data_dir), generators, args.seeds)
    if args.ais:
        measure_ais(results, args.results, generators, args.data_dir)
    print(table(results, args.seeds))
    if args.write_references:
        from advnets.metrics.references import REFERENCES_FILE

        with atomic_output(REFERENCES_FILE) as tmp:
            tmp.write_text(json.dumps({"written_by": "experiments/evaluation_table.py --write-references",
                                       "rows": reference_rows(results, args.seeds)},
                                      indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
