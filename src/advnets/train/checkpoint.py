"""Checkpoints in safetensors files: tensors plus a JSON header, so loading never runs pickled code.

Two kinds, both written atomically (temporary file, fsync, rename):

- a network snapshot (``network-*.safetensors``): G's and D's weights (and the moving average of G's
  weights, when the run keeps one), the run's config, the step and the data shape: everything
  ``advnets sample`` and the metrics need;
- a training state (``training-state.safetensors``): the snapshot's contents plus both
  optimizers' buffers, the step counters, the data position and the random generator's state:
  everything needed to continue exactly as if the run had never stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from advnets import __version__
from advnets.config import Config, from_dict, to_dict
from advnets.errors import AdvnetsError, CheckpointError
from advnets.fileio import atomic_write_bytes

SNAPSHOT_FORMAT = "advnets-network-snapshot/1"
STATE_FORMAT = "advnets-training-state/1"
LATEST_SNAPSHOT = "network-latest.safetensors"
BEST_SNAPSHOT = "network-best.safetensors"  # the best by validation score, when the run measured one
BEST_LIVE_SNAPSHOT = "network-best-live.safetensors"  # runs with G's moving average: the best live G
EXPORTED_SNAPSHOT = "generator.safetensors"  # `advnets export`: one generator alone, for sharing
TRAINING_STATE = "training-state.safetensors"


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    atomic_write_bytes(path, st_save(tensors, metadata={"advnets": json.dumps(header)}))


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and JSON header of a safetensors file written by :func:`save_tensors`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror}") from None
    try:
        tensors = st_load(data)
        header = _parse_header(data, path)
    except (SafetensorError, ValueError):
        raise CheckpointError(f"{path} is not an advnets checkpoint (corrupt or of another format)") from None
    return tensors, header


def with_prefix(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """{"w": t} -> {"prefix.w": t}: several state dicts share one file."""
    return {f"{prefix}.{k}": v for k, v in state.items()}


def strip_prefix(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries under "prefix.", with the prefix removed (the inverse of with_prefix)."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


# ----------------------------------------------------------------------------------------------
# network snapshots


@dataclass
class Snapshot:
    """A trained generator (and, unless exported alone, its discriminator), both in eval mode.

    `weights` says which generator was loaded: "live" (G as trained) or "ema" (the moving average of
    G's weights, kept by runs with train.ema_decay > 0)."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module | None
    config: Config
    step: int
    path: Path
    weights: str = "live"
    encoder: torch.nn.Module | None = None  # the joint inference network E: x -> z (inference.joint)


GENERATOR_CHOICES = ("auto", "live", "ema")  # auto: the average when the file holds one


def network_tensors(generator: torch.nn.Module, discriminator: torch.nn.Module | None,
                    average: torch.nn.Module | None = None, encoder: torch.nn.Module | None = None
                    ) -> dict[str, torch.Tensor]:
    """The networks' weights under "generator.", "discriminator.", and when the run has them
    "generator_ema." (G's moving average) and "encoder." (a joint inference network)."""
    tensors = with_prefix("generator", generator.state_dict())
    for prefix, module in (("discriminator", discriminator), ("generator_ema", average), ("encoder", encoder)):
        if module is not None:
            tensors.update(with_prefix(prefix, module.state_dict()))
    return tensors


def load_networks(generator: torch.nn.Module, discriminator: torch.nn.Module, tensors: dict[str, torch.Tensor],
                  average: torch.nn.Module | None = None, encoder: torch.nn.Module | None = None) -> None:
    """The inverse of network_tensors (strict: every weight must be present and fit)."""
    for prefix, module in (("generator", generator), ("discriminator", discriminator), ("generator_ema", average),
                           ("encoder", encoder)):
        if module is not None:
            module.load_state_dict(strip_prefix(prefix, tensors))


def save_snapshot(path: Path, generator: torch.nn.Module, discriminator: torch.nn.Module | None, cfg: Config,
                  step: int, average: torch.nn.Module | None = None, extra: dict[str, Any] | None = None,
                  encoder: torch.nn.Module | None = None) -> None:
    tensors = network_tensors(generator, discriminator, average, encoder)
    header = {"format": SNAPSHOT_FORMAT, "advnets_version": __version__, "config": to_dict(cfg),
              "step": step, "x_shape": list(generator.x_shape), **(extra or {})}
    save_tensors(path, tensors, header)


def resolve_snapshot_path(run_or_file: str | os.PathLike, weights: str = "auto") -> Path:
    """A snapshot file as given, or a run directory's best snapshot by validation score if it has
    one (train.valid_every), else its latest. With weights="live", a run that kept G's moving
    average gives the snapshot whose *live* G scored best (network-best-live.safetensors)."""
    path = Path(run_or_file)
    if path.is_dir():
        candidates = ([BEST_LIVE_SNAPSHOT] if weights == "live" else []) + [BEST_SNAPSHOT, LATEST_SNAPSHOT,
                                                                            EXPORTED_SNAPSHOT]
        path = next((path / name for name in candidates if (path / name).is_file()), path / LATEST_SNAPSHOT)
        if not path.is_file():
            raise CheckpointError(f"{path.parent} holds no network snapshot ({LATEST_SNAPSHOT}); "
                                  "is it a run directory that has reached its first checkpoint?")
    elif not path.is_file():
        raise CheckpointError(f"{path} does not exist (give a run directory or a .safetensors snapshot)")
    return path


def load_snapshot(run_or_file: str | os.PathLike, device: torch.device | str = "cpu", weights: str = "auto") -> Snapshot:
    """Load G (and D) from a run directory (see resolve_snapshot_path) or a snapshot/training-state file.

    weights: "auto" loads G's moving average when the file holds one, else G; "live" and "ema" ask
    for one of them, and a file that does not hold the one asked for is refused with one line."""
    from advnets.models import build_discriminator, build_generator

    assert weights in GENERATOR_CHOICES, weights
    path = resolve_snapshot_path(run_or_file, weights)
    tensors, header = load_tensors(path)
    if header.get("format") not in (SNAPSHOT_FORMAT, STATE_FORMAT):
        raise CheckpointError(f"{path} is not an advnets network snapshot (format {header.get('format')!r})")
    # Which generators the file holds, by label: run snapshots hold G ("live") and, if the run kept
    # one, G's moving average ("ema"); an exported file holds one, labelled in its header.
    stored = {header.get("generator_weights", "live"): "generator"}
    if any(k.startswith("generator_ema.") for k in tensors):
        stored["ema"] = "generator_ema"
    label = ("ema" if "ema" in stored else next(iter(stored))) if weights == "auto" else weights
    if label not in stored:
        missing = "moving average of G (its run had train.ema_decay=0)" if label == "ema" else "live G"
        raise CheckpointError(f"{path} holds no {missing}; use --generator {next(iter(stored))} or auto")
    try:
        cfg = from_dict(Config, header["config"])
        x_shape = tuple(header["x_shape"])
        generator = build_generator(cfg, x_shape)
        generator.load_state_dict(strip_prefix(stored[label], tensors))
        discriminator = None
        if any(k.startswith("discriminator.") for k in tensors):  # exported generators travel alone
            discriminator = build_discriminator(cfg, x_shape)
            discriminator.load_state_dict(strip_prefix("discriminator", tensors))
            discriminator = discriminator.to(device).eval()
        encoder = None
        if any(k.startswith("encoder.") for k in tensors):
            from advnets.inference import Encoder

            encoder = Encoder(x_shape, cfg.generator.z_dim, cfg.inference.hidden)
            encoder.load_state_dict(strip_prefix("encoder", tensors))
            encoder = encoder.to(device).eval()
    except (AdvnetsError, KeyError, RuntimeError) as e:
        reason = str(e).splitlines()[0]
        raise CheckpointError(f"{path} does not hold a network this version can build ({reason})") from None
    return Snapshot(generator.to(device).eval(), discriminator, cfg, int(header["step"]), path, label, encoder)


def export_generator(snap: Snapshot, path: Path, source_sha256: str) -> None:
    """Write `snap`'s generator alone (no D, no second copy of G): what sampling and the metrics need,
    at about a third of a run snapshot's size. The header names the file it came from."""
    save_snapshot(path, snap.generator.cpu(), None, snap.config, snap.step,
                  extra={"generator_weights": snap.weights, "exported_from": snap.path.name,
                         "exported_from_sha256": source_sha256})


# ----------------------------------------------------------------------------------------------
# training state


def pack_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state_dict split into tensors and a JSON-able header."""
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for index, entries in sd["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def unpack_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                     header: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in strip_prefix(prefix, tensors).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for name, value in header["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    opt.load_state_dict({"state": state, "param_groups": header["param_groups"]})


def save_training_state(path: Path, header: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    save_tensors(path, tensors, {"format": STATE_FORMAT, "advnets_version": __version__, **header})


def training_state_path(run_dir: Path) -> Path:
    path = Path(run_dir) / TRAINING_STATE
    if not path.is_file():
        raise CheckpointError(f"{run_dir} holds no training state ({TRAINING_STATE}); nothing to resume")
    return path


def read_training_header(run_dir: Path) -> dict[str, Any]:
    """The training state's header (config, step, counters) without its tensors."""
    path = training_state_path(run_dir)
    header = read_header(path)
    if header.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path} is not an advnets training state (format {header.get('format')!r})")
    return header


def load_training_state(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    header = read_training_header(run_dir)
    tensors, _ = load_tensors(training_state_path(run_dir))
    return tensors, header


def read_header(path: Path) -> dict[str, Any]:
    """Only the JSON header of a checkpoint file (no tensors are read)."""
    try:
        with path.open("rb") as f:
            n = int.from_bytes(f.read(8), "little")
            prefix = n.to_bytes(8, "little") + (f.read(n) if 0 < n < 100_000_000 else b"")
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror}") from None
    return _parse_header(prefix, path)


def _parse_header(data: bytes, path: Path) -> dict[str, Any]:
    """The advnets JSON header from a safetensors file's leading bytes (8-byte length, then JSON)."""
    try:
        n = int.from_bytes(data[:8], "little")
        if not 0 < n <= len(data) - 8:
            raise ValueError
        return json.loads(json.loads(data[8 : 8 + n])["__metadata__"]["advnets"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"{path} is not an advnets checkpoint (corrupt or of another format)") from None
