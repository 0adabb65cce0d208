"""Every metric by its protocol's name. Adding one = a module in this package that defines its
``METRIC`` (advnets.metrics.spec.Metric), plus its line in ``_BUILT_IN`` below; ``advnets evaluate
--metric`` choices, the training curves and the run report read this registry.

    row = evaluate("parzen", snap, MetricRequest(seed=0))   # one metrics.jsonl row (a dict)
    row = evaluate_images("parzen", images, MetricRequest(reference=...))   # images from anywhere
    append_metrics(snap.path, row)                          # RUN_DIR/metrics.jsonl

Every row carries the metric's name, the data set, the metric's own numbers, the seed, and which
weights it measured (the snapshot's path, SHA-256, step and variant) and how long it took.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from advnets.errors import ConfigError
from advnets.fileio import append_line
from advnets.outputs import check_output
from advnets.metrics import (ais, class_agreement, classifier_features, features, inference, inpainting, modes,
                             optimal_d, parzen_window, stacked_modes)
from advnets.metrics.image_sets import ImageSet, reference_name
from advnets.metrics.spec import OPTIONAL_FIELDS, Metric, MetricRequest, require
from advnets.metrics.summary import mean_and_se
from advnets.snapshot import Snapshot, provenance

__all__ = ["HEADLINES", "METRICS_FILE", "Metric", "MetricRequest", "append_metrics", "evaluate", "evaluate_images",
           "metrics_path", "evaluate_over_seeds", "get", "names", "register", "report_columns"]

METRICS_FILE = "metrics.jsonl"
_BUILT_IN = (parzen_window.METRIC, modes.METRIC, class_agreement.METRIC, inpainting.METRIC, inference.METRIC,
             optimal_d.METRIC,
             classifier_features.METRIC, features.METRIC, stacked_modes.METRIC, ais.METRIC)
_REGISTRY: dict[str, Metric] = {}
HEADLINES: dict[str, tuple[str, str]] = {}  # metric name -> (row key, label) of its headline number


def register(metric: Metric) -> Metric:
    assert metric.name not in _REGISTRY, f"metric {metric.name!r} registered twice"
    _REGISTRY[metric.name] = metric
    HEADLINES[metric.name] = metric.headline
    return metric


for _metric in _BUILT_IN:
    register(_metric)


def get(name: str) -> Metric:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown metric '{name}' (known: {', '.join(_REGISTRY)})") from None


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def report_columns() -> list[str]:
    """The metrics table's columns in the run report: which row, then every metric's own, then where from."""
    own = dict.fromkeys(column for m in _REGISTRY.values() for column in m.columns)
    return ["metric", "generator", *own, "n_samples", "seed", "step", "snapshot"]


def evaluate(name: str, snap: Snapshot, request: MetricRequest = MetricRequest()) -> dict[str, Any]:
    """Metric `name` for `snap`: its needs checked first (one error line), then its row."""
    metric = get(name)
    _check_options(metric, request)
    require(snap, metric.needs, f"--metric {name}")
    request = dataclasses.replace(request, n_samples=request.n_samples or metric.default_n)
    started = time.perf_counter()
    row = metric.compute(snap, request)
    return {"metric": name, "dataset": snap.config.data.name, **row, "seed": request.seed,
            **provenance(snap, started)}


def _check_options(metric: Metric, request: MetricRequest) -> None:
    for option in OPTIONAL_FIELDS:
        if getattr(request, option) is not None and option not in metric.options:
            owners = " / ".join(m.name for m in _REGISTRY.values() if option in m.options)
            raise ConfigError(f"--{option.replace('_', '-')} applies to --metric {owners} only")


def evaluate_images(name: str, samples: ImageSet, request: MetricRequest = MetricRequest()) -> dict[str, Any]:
    """Metric `name` of images from anywhere (a folder, an array, a tensor): its row, with where the images and
    the reference came from. A metric that needs the generator itself is refused in one line."""
    metric = get(name)
    if metric.on_images is None:
        able = ", ".join(m.name for m in _REGISTRY.values() if m.on_images is not None)
        raise ConfigError(f"--metric {name} needs the generator itself (a run directory or snapshot), not images "
                          f"({samples.what}); on images: {able}")
    _check_options(metric, request)
    if request.baseline is not None:
        raise ConfigError("--baseline scores a run's data set: give the run, not images")
    started = time.perf_counter()
    row = metric.on_images(samples, request)
    reference = request.reference
    if reference is not None:  # which reference, whatever the metric's own row says of it
        row = {"reference": reference_name(reference), **row, "reference_sha256": reference.identity()["sha256"]}
    return {"metric": name, "source": samples.what, "source_sha256": samples.sha256, **row, "seed": request.seed,
            "seconds": round(time.perf_counter() - started, 2)}


def evaluate_over_seeds(name: str, snap: Snapshot, request: MetricRequest, seeds: list[int]) -> dict[str, Any]:
    """Metric `name` once per sample seed, summarised: each of its reported numbers (its columns) as the
    mean over the seeds, with `<key>_se_seeds` its standard error (std / sqrt(n)) and `per_seed` every
    seed's value. The spread between sets of samples, not only over test images (docs/protocols.md). A seed's
    `warning` (e.g. AIS that has not converged) is kept, naming its seed."""
    metric = get(name)
    started = time.perf_counter()
    rows = [evaluate(name, snap, dataclasses.replace(request, seed=seed)) for seed in seeds]
    keys = [k for k in metric.columns if all(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)
                                              for r in rows)]
    summary: dict[str, Any] = {}
    for key in keys:
        mean, se = mean_and_se([float(r[key]) for r in rows])
        summary[key], summary[f"{key}_se_seeds"] = mean, se
    if all(isinstance(r.get("class_histogram"), list) for r in rows):  # the classes' shares, averaged over the sets
        summary["class_histogram"] = [round(sum(shares) / len(rows), 5) for shares in
                                      zip(*(r["class_histogram"] for r in rows))]
    if any("converged" in r for r in rows):  # AIS: the summary is converged only where every seed's row is
        summary["converged"] = all(r.get("converged", False) for r in rows)
    warnings = [f"seed {seed}: {line}" for seed, r in zip(seeds, rows)
                for line in (r.get("warning") or "").splitlines()]
    if warnings:  # said by the CLI, one a line, as a single seed's are
        summary["warning"] = "\n".join(warnings)
    first = rows[0]
    return {"metric": name, "dataset": first["dataset"], "seeds": list(seeds), "n_seeds": len(seeds), **summary,
            "per_seed": {k: [r[k] for r in rows] for k in keys}, "n_samples": first.get("n_samples"),
            **provenance(snap, started)}


def metrics_path(snapshot_path: Path) -> Path:
    """metrics.jsonl beside a snapshot: where its rows go."""
    return Path(snapshot_path).parent / METRICS_FILE


def append_metrics(snapshot_path: Path, row: dict[str, Any]) -> Path:
    """Append `row` as one JSON line to metrics.jsonl beside the snapshot it measured (refused inside a
    run that another process trains: advnets.outputs)."""
    path = check_output(metrics_path(snapshot_path), force=True)
    append_line(path, json.dumps(row))  # durable at once; a crash leaves at most a torn last line, which readers drop
    return path
