"""generator.init_from: G's last layers start as a trained G's (TFD stage 2; models/stacking.py).

A planned run checks that the trained G can be found (:func:`check_init_source`, before any data is
loaded); a fresh game copies it in (:func:`initialise_from`) and records where its weights came from.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advnets.errors import ConfigError
from advnets.fileio import file_sha256
from advnets.models.stacking import stack_onto
from advnets.snapshot import load_snapshot, resolve_snapshot_path

REQUIRED = "required"  # a preset's way of saying "this config must be given generator.init_from"


def check_init_source(source: str):
    """The snapshot file `source` names, or one clear error (before any data is loaded)."""
    if source == REQUIRED:
        raise ConfigError("generator.init_from: this config starts from a trained generator "
                          "(e.g. TFD stage 2 from stage 1); pass --set generator.init_from=RUN_DIR_OR_SNAPSHOT")
    return resolve_snapshot_path(source)


@torch.no_grad()
def initialise_from(generator: nn.Module, source: str) -> dict[str, Any]:
    """Copy the trained G found at `source` (a run directory or snapshot) into the last layers of
    `generator`; returns where the weights came from (path, SHA-256, which G, layers copied)."""
    snap = load_snapshot(check_init_source(source), "cpu")
    layers = stack_onto(generator, snap.generator, f"generator.init_from: {snap.path}")
    return {"init_from": str(snap.path), "init_from_sha256": file_sha256(snap.path),
            "init_from_generator": snap.variant, "init_from_step": snap.step, **layers}
