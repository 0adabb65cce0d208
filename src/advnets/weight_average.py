"""Checkpoint averaging: one generator whose weights are the uniform mean of several snapshots' G.

    theta_avg = (1 / n) * sum_i theta_i

over snapshots of one run (or of runs with the same generator). With G's moving average
(train.ema_decay) each snapshot is already an average over about 1 / (1 - decay) updates; averaging
snapshots taken far apart lengthens that horizon after the fact, a "better coordination of G and D"
in the paper's future-work sense that leaves training untouched. Which snapshots to average is a
model choice: make it on validation scores (``advnets average ... --validate``), never on the test set.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from advnets.config import to_dict
from advnets.errors import CheckpointError
from advnets.fileio import file_sha256
from advnets.metrics.parzen_window import ValidationParzen
from advnets.metrics.spec import require
from advnets.snapshot import Snapshot, load_snapshot, save_generator


def average_snapshots(sources: list[str | os.PathLike], variant: str = "auto") -> tuple[Snapshot, list[dict]]:
    """The snapshot whose G is the mean of the sources' G (`variant`: which G of each, as in
    load_snapshot), and a provenance record per source. The first source lends its config."""
    if len(sources) < 2:
        raise CheckpointError("give at least two snapshots to average")
    snaps = [load_snapshot(source, "cpu", variant) for source in sources]
    first = snaps[0]
    for snap in snaps[1:]:
        if snap.variant != first.variant:
            raise CheckpointError(f"{snap.path} gives the {snap.variant} G, {first.path} the {first.variant} G; "
                                  "average one kind (--generator live or ema)")
        if _model_identity(snap) != _model_identity(first):
            raise CheckpointError(f"{snap.path} and {first.path} hold different generators or data sets; "
                                  "only snapshots of the same generator can be averaged")
    generator = first.generator
    states = [s.generator.state_dict() for s in snaps]
    with torch.no_grad():
        for name, tensor in states[0].items():  # states[0] holds first.generator's own tensors
            if tensor.is_floating_point():
                tensor.copy_(torch.stack([state[name] for state in states]).mean(dim=0))
    provenance = [{"file": str(s.path), "sha256": file_sha256(s.path), "step": s.step} for s in snaps]
    averaged = Snapshot(generator, None, first.config, max(s.step for s in snaps), first.path, first.variant, None)
    return averaged, provenance


def _model_identity(snap: Snapshot) -> tuple[dict, dict]:
    """What must agree between averaged snapshots: G's config and the data set (not where its files live)."""
    data = {k: v for k, v in to_dict(snap.config.data).items() if k not in ("dir", "download")}
    return to_dict(snap.config.generator), data


def save_average(snap: Snapshot, provenance: list[dict], path: Path) -> None:
    """Write the averaged G alone, like `advnets export`; its header lists the averaged files."""
    save_generator(path, snap, averaged_from=provenance)


def validation_score(snap: Snapshot, data_dir: str | None = None) -> tuple[float, float]:
    """(validation Parzen, its sigma) of `snap`'s G: the score training selects by (10,000 samples,
    seed 0, the first 1,000 validation images), the one to choose snapshots to average by."""
    require(snap, ("image-data", "whole-images"), "--validate")
    scorer = ValidationParzen(snap.config.data, data_dir or snap.config.data.dir, 10_000, 0, torch.device("cpu"))
    return scorer(snap.generator)
