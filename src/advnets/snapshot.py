"""Network files: what a trained model is on disk, and how it comes back.

Every file is a safetensors file with a JSON header (``advnets.tensorfile``): loading never executes
pickled code. The header's ``format`` tag says what the file holds:

    advnets-network-snapshot/1   G (and, unless exported alone, D; G's moving average when the run kept
                                 one; the joint inference network when trained), the run's config, the
                                 step and the data shape: all that sampling and the metrics need
    advnets-training-state/1     a snapshot's networks plus everything to resume exactly
                                 (advnets.train.checkpoint writes it; any command can sample from it)
    advnets-inference-net/1      an inference network E fitted for a finished G (advnets infer)

A run directory's snapshots (advnets.train writes them):

    network-latest.safetensors      the latest
    network-best.safetensors        the best by validation score (runs with train.valid_every)
    network-best-live.safetensors   runs with G's moving average: the best live G
    network-NNNNNNNN.safetensors    every train.snapshot_every steps
    generator.safetensors           `advnets export`: one generator alone
    inference-net.safetensors       `advnets infer`: E for the snapshot beside it

Which generator a snapshot gives is its *variant*: "live" (G as trained) or "ema" (the moving average
of G's weights, kept by runs with train.ema_decay > 0).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from advnets import __version__, plugins
from advnets.config import Config, from_dict, to_dict
from advnets.errors import AdvnetsError, CheckpointError, shell_command
from advnets.fileio import file_sha256
from advnets.models import Encoder, build_discriminator, build_encoder, build_generator
from advnets.models.footprint import meta_networks, tensor_bytes
from advnets.tensorfile import load_tensors, save_tensors, strip_prefix, with_prefix

SNAPSHOT_FORMAT = "advnets-network-snapshot/1"
STATE_FORMAT = "advnets-training-state/1"
ENCODER_FORMAT = "advnets-inference-net/1"

LATEST_SNAPSHOT = "network-latest.safetensors"
BEST_SNAPSHOT = "network-best.safetensors"  # the best by validation score, when the run measured one
BEST_LIVE_SNAPSHOT = "network-best-live.safetensors"  # runs with G's moving average: the best live G
EXPORTED_SNAPSHOT = "generator.safetensors"  # `advnets export`: one generator alone, for sharing
ENCODER_FILE = "inference-net.safetensors"  # `advnets infer`: E fitted for the snapshot beside it

VARIANTS = ("auto", "live", "ema")  # auto: the moving average when the file holds one, else G
VARIANT_KEY = "generator_weights"  # the header key naming an exported G's variant (format /1's name)


def numbered_snapshot(step: int) -> str:
    return f"network-{step:08d}.safetensors"


@dataclass
class Snapshot:
    """A trained generator (and, unless exported alone, its discriminator), both in eval mode."""

    generator: torch.nn.Module
    discriminator: torch.nn.Module | None
    config: Config
    step: int
    path: Path
    variant: str = "live"  # which generator: "live" (G as trained) or "ema" (its moving average)
    encoder: torch.nn.Module | None = None  # the joint inference network E: x -> z (inference.joint)


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
              "step": step, "x_shape": list(generator.x_shape), **plugin_provenance(cfg), **(extra or {})}
    save_tensors(path, tensors, header)


def plugin_provenance(cfg: Config) -> dict[str, Any]:
    """For a snapshot's header: where its registered networks came from (advnets.plugins), {} for built-in ones."""
    found = {kind: plugins.provenance(kind, arch) for kind, arch in (("generator", cfg.generator.arch),
                                                                      ("discriminator", cfg.discriminator.arch))}
    found = {kind: where for kind, where in found.items() if where is not None}
    return {"plugins": found} if found else {}


def check_plugins_registered(header: dict[str, Any], path: Path) -> None:
    """A snapshot of registered networks loads only where they are registered: which package to install,
    otherwise (nothing named in the file is imported)."""
    config = header.get("config") if isinstance(header.get("config"), dict) else {}
    recorded = header.get("plugins") if isinstance(header.get("plugins"), dict) else {}
    for kind, known, built_in in (("generator", plugins.generators, plugins.BUILT_IN_GENERATORS),
                                  ("discriminator", plugins.discriminators, plugins.BUILT_IN_DISCRIMINATORS)):
        arch = (config.get(kind) or {}).get("arch") if isinstance(config.get(kind), dict) else None
        if not isinstance(arch, str) or arch in built_in or arch in known():
            continue
        where = recorded.get(kind) if isinstance(recorded.get(kind), dict) else {}
        package = where.get("distribution")
        source = (f"the package {package} {where.get('version', '')}".rstrip() if package
                  else f"the module {where.get('module')}" if where.get("module") else "a plugin")
        raise CheckpointError(f"{path} holds a {kind} of arch {arch!r}, registered by {source}, which is not "
                              f"registered here: {'pip install ' + package if package else 'import it'} (or call "
                              f"advnets.register_{kind}({arch!r}, ...)) before loading it")


def check_header_values(header: dict[str, Any], path: Path) -> None:
    """A snapshot's (or training state's) step and example shape, against what its config can have
    made: a step of 0 or more, and the shape of its data set's examples. CheckpointError otherwise."""
    step, x_shape, config = header.get("step"), header.get("x_shape"), header.get("config")
    if not (isinstance(step, int) and not isinstance(step, bool) and 0 <= step <= 2**62):
        raise CheckpointError(f"{path} holds an impossible step ({step!r}); it is damaged or was written by another "
                              "program")
    name = config.get("data", {}).get("name", "mnist") if isinstance(config, dict) and isinstance(
        config.get("data", {}), dict) else None
    try:
        from advnets.data import registry

        # (your images, data.name images: their shape is the run's, not the data set's)
        expected = (list(registry.get(name).x_shape) or None) if isinstance(name, str) else None
    except AdvnetsError:
        expected = None  # an unknown data set: building the networks from the config says so
    if not isinstance(x_shape, list) or (expected is not None and x_shape != expected):
        raise CheckpointError(f"{path} holds an impossible example shape ({x_shape!r}; its data set "
                              f"{name!r} has {expected}); it is damaged or was written by another program")


# Tensors of a file beyond its networks': random-generator states, counters, the log interval's sums (a
# training state holds these once per rank of the run that wrote it).
SMALL_TENSORS = 1 << 20


def file_ceiling(path: Path) -> Callable[[dict[str, Any]], tuple[int, str] | None]:
    """The most bytes of tensors a network file may hold, from its own header (tensorfile.load_tensors
    checks this before reading any): a snapshot, its config's networks (G, D, G's moving average, the
    joint E); a training state, those and two optimizer buffers per trained weight (Adam's); an
    inference network, the E its header's sizes build. Other kinds: no limit of their own."""

    def ceiling(header: dict[str, Any]) -> tuple[int, str] | None:
        kind = header.get("format")
        if kind == ENCODER_FORMAT:
            try:
                with torch.device("meta"):
                    encoder = Encoder(tuple(header["x_shape"]), int(header["z_dim"]), header["hidden"])
            except (KeyError, TypeError, ValueError, RuntimeError):
                raise CheckpointError(f"{path} does not hold an inference network this version can build") from None
            return tensor_bytes(encoder) + SMALL_TENSORS, "the inference network its header describes"
        if kind not in (SNAPSHOT_FORMAT, STATE_FORMAT):
            return None
        check_header_values(header, path)
        check_plugins_registered(header, path)
        try:
            nets = meta_networks(from_dict(Config, header["config"]), tuple(header["x_shape"]))
        except (AdvnetsError, KeyError, TypeError, ValueError, RuntimeError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise CheckpointError(f"{path} does not hold a network this version can build ({reason})") from None
        weights = sum(tensor_bytes(net) for net in nets.values())
        if kind == SNAPSHOT_FORMAT:
            return weights + SMALL_TENSORS, "the networks its config builds"
        trained = weights - (tensor_bytes(nets["generator_ema"]) if "generator_ema" in nets else 0)
        ranks = header.get("world_size", 1) if isinstance(header.get("world_size", 1), int) else 1
        return (weights + 2 * trained + SMALL_TENSORS * max(1, min(ranks, 1 << 20)),
                "a training state of the networks its config builds")

    return ceiling


def load_network_file(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and header of a snapshot, training state or inference network, its size checked against
    its kind's ceiling (file_ceiling) before any tensor is read."""
    return load_tensors(path, file_ceiling(path))


def resolve_snapshot_path(run_or_file: str | os.PathLike, variant: str = "auto") -> Path:
    """A snapshot file as given, or a run directory's best snapshot by validation score if it has
    one (train.valid_every), else its latest. With variant="live", a run that kept G's moving
    average gives the snapshot whose *live* G scored best (network-best-live.safetensors)."""
    path = Path(run_or_file)
    if path.is_dir():
        candidates = ([BEST_LIVE_SNAPSHOT] if variant == "live" else []) + [BEST_SNAPSHOT, LATEST_SNAPSHOT,
                                                                            EXPORTED_SNAPSHOT]
        path = next((path / name for name in candidates if (path / name).is_file()), path / LATEST_SNAPSHOT)
        if not path.is_file():
            raise CheckpointError(f"{path.parent} holds no network snapshot ({LATEST_SNAPSHOT}); "
                                  "is it a run directory that has reached its first checkpoint?")
    elif not path.is_file():
        raise CheckpointError(f"{path} does not exist (give a run directory or a .safetensors snapshot)")
    return path


def load_snapshot(run_or_file: str | os.PathLike, device: torch.device | str = "cpu", variant: str = "auto") -> Snapshot:
    """Load G (and D) from a run directory (see resolve_snapshot_path) or a snapshot/training-state file.

    variant: "auto" loads G's moving average when the file holds one, else G; "live" and "ema" ask
    for one of them, and a file that does not hold the one asked for is refused with one line."""
    assert variant in VARIANTS, variant
    path = resolve_snapshot_path(run_or_file, variant)
    try:
        tensors, header = load_network_file(path)
    except CheckpointError as e:
        if Path(run_or_file).is_dir() and path.name != LATEST_SNAPSHOT:
            raise CheckpointError(f"{e}; {_latest_instead(path.parent)}") from None
        raise
    if header.get("format") not in (SNAPSHOT_FORMAT, STATE_FORMAT):
        raise CheckpointError(f"{path} is not an advnets network snapshot (format {header.get('format')!r})")
    check_header_values(header, path)
    # Which generators the file holds, by variant: run snapshots hold G ("live") and, if the run kept
    # one, G's moving average ("ema"); an exported file holds one, named in its header.
    stored = {header.get(VARIANT_KEY, "live"): "generator"}
    if any(k.startswith("generator_ema.") for k in tensors):
        stored["ema"] = "generator_ema"
    chosen = ("ema" if "ema" in stored else next(iter(stored))) if variant == "auto" else variant
    if chosen not in stored:
        missing = "moving average of G (its run had train.ema_decay=0)" if chosen == "ema" else "live G"
        raise CheckpointError(f"{path} holds no {missing}; use --generator {next(iter(stored))} or auto")
    check_plugins_registered(header, path)
    try:
        cfg = from_dict(Config, header["config"])
        x_shape = tuple(header["x_shape"])
        generator = build_generator(cfg, x_shape)
        generator.load_state_dict(strip_prefix(stored[chosen], tensors))
        discriminator = None
        if any(k.startswith("discriminator.") for k in tensors):  # exported generators travel alone
            discriminator = build_discriminator(cfg, x_shape)
            discriminator.load_state_dict(strip_prefix("discriminator", tensors))
            discriminator = discriminator.to(device).eval()
        encoder = None
        if any(k.startswith("encoder.") for k in tensors):
            encoder = build_encoder(cfg, x_shape)
            encoder.load_state_dict(strip_prefix("encoder", tensors))
            encoder = encoder.to(device).eval()
    except (AdvnetsError, KeyError, RuntimeError) as e:
        reason = str(e).splitlines()[0]
        raise CheckpointError(f"{path} does not hold a network this version can build ({reason})") from None
    if not all(torch.isfinite(p).all() for p in generator.parameters()):
        raise CheckpointError(f"{path} holds non-finite (NaN or infinite) generator weights: its run diverged "
                              "(advnets 0.2 never writes such a snapshot; train.on_nonfinite)")
    return Snapshot(generator.to(device).eval(), discriminator, cfg, int(header["step"]), path, chosen, encoder)


def _latest_instead(run_dir: Path) -> str:
    """What to use when a run's chosen snapshot is damaged: its latest one, if that one reads."""
    latest = run_dir / LATEST_SNAPSHOT
    try:
        step = load_network_file(latest)[1]["step"]
    except (CheckpointError, KeyError):
        return f"{latest.name} cannot be read either"
    return f"the run's latest snapshot reads fine: pass {shell_command(latest)} (step {step}) instead"


def save_generator(path: Path, snap: Snapshot, **provenance: Any) -> None:
    """Write `snap`'s generator alone (no D, no second copy of G), labelled with its variant; what
    sampling and the metrics need, at about a third of a run snapshot's size. `provenance` goes into
    the header (which file it was exported from, which files were averaged...)."""
    save_snapshot(path, snap.generator.cpu(), None, snap.config, snap.step,
                  extra={VARIANT_KEY: snap.variant, **provenance})


def export_generator(snap: Snapshot, path: Path) -> None:
    """`advnets export`: the generator alone; the header names the file it came from and its hash."""
    save_generator(path, snap, exported_from=snap.path.name, exported_from_sha256=file_sha256(snap.path))


def provenance(snap: Snapshot, started: float) -> dict[str, Any]:
    """What every metric row carries: which weights it measured (path, hash, step, and the variant:
    "live" G or its moving average "ema") and how long it took since `started` (perf_counter)."""
    return {"snapshot": str(snap.path), "snapshot_sha256": file_sha256(snap.path), "step": snap.step,
            "generator": snap.variant, "seconds": round(time.perf_counter() - started, 2)}


# ----------------------------------------------------------------------------------------------
# inference networks fitted for a finished G


def save_encoder(path: Path, encoder: Encoder, info: dict[str, Any]) -> None:
    """E's weights and how it was fitted (which snapshot, steps, seed ...), atomically, no pickle."""
    save_tensors(path, encoder.state_dict(), {"format": ENCODER_FORMAT, "x_shape": list(encoder.x_shape),
                                              "z_dim": encoder.z_dim, "hidden": encoder.hidden_widths, **info})


def load_encoder(path: Path) -> tuple[Encoder, dict[str, Any]]:
    """E (eval mode, CPU) and its header from a file written by save_encoder."""
    tensors, header = load_network_file(path)
    if header.get("format") != ENCODER_FORMAT:
        raise CheckpointError(f"{path} is not an advnets inference network (format {header.get('format')!r})")
    try:
        encoder = Encoder(tuple(header["x_shape"]), int(header["z_dim"]), header["hidden"])
        encoder.load_state_dict(tensors)
    except (KeyError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"{path} does not hold an inference network this version can build "
                              f"({str(e).splitlines()[0]})") from None
    return encoder.eval(), header
