"""The training state: everything needed to continue a run exactly as if it had never stopped.

``training-state.safetensors`` (format advnets-training-state/1, advnets.snapshot) holds the
networks as a snapshot does, plus both optimizers' buffers (and the joint E's), the update counters,
the data source's position (and random state), the game's random generator, the elapsed time, the
monitor's best validation scores, the statistics summed so far in the unfinished log interval (so
that a resumed run logs the same rows), and the learning-rate factor of train.on_nonfinite=rollback. Written atomically at every checkpoint, beside the network
snapshots that the same call writes (network-latest, and numbered ones every train.snapshot_every).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from tqdm import tqdm

from advnets import __version__, runtime
from advnets.config import Config, to_dict
from advnets.errors import CheckpointError
from advnets.snapshot import (LATEST_SNAPSHOT, STATE_FORMAT, check_header_values, load_network_file, load_networks,
                              network_tensors, numbered_snapshot, save_snapshot)
from advnets.tensorfile import read_header, save_tensors, strip_prefix, with_prefix
from advnets.train.optim import plain_param_groups, takes_tensor_rates
from advnets.train.rundir import TRAINING_STATE

if TYPE_CHECKING:  # annotations only
    from advnets.train.game import Game



def pack_optimizer(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state_dict split into tensors and a JSON-able header."""
    sd = plain_param_groups(opt.state_dict())
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
    """Put a saved optimizer state back into `opt` **in place**: every buffer `opt` already has is
    overwritten (``copy_``), never replaced, so that a CUDA graph captured over those buffers still reads
    and writes the restored values after a resume or a rollback (torch's ``load_state_dict`` would put
    new tensors in their place and leave the graph on the old, freed ones). A parameter the saved state
    has no buffers for (saved before its first update) gets zero buffers where `opt` is our momentum SGD
    (the same update: its velocity starts at zero) and none otherwise."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in strip_prefix(prefix, tensors).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for name, value in header["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = header["param_groups"]
    if len(groups) != len(opt.param_groups) or any(len(saved["params"]) != len(group["params"])
                                                   for saved, group in zip(groups, opt.param_groups)):
        raise ValueError(f"{prefix}'s parameter groups do not match the network's")
    for saved, group in zip(groups, opt.param_groups):
        group.update({key: value for key, value in saved.items() if key != "params"})
    params = [p for group in opt.param_groups for p in group["params"]]
    with torch.no_grad():
        for index, param in enumerate(params):
            current, saved = opt.state[param], state.get(index, {})
            if not saved:
                if takes_tensor_rates(opt):
                    for value in current.values():
                        value.zero_()
                else:
                    current.clear()
                continue
            for key, value in saved.items():
                if isinstance(value, torch.Tensor) and key != "step":  # buffers live as their parameter does
                    value = value.to(param.device, param.dtype if value.is_floating_point() else None)
                old = current.get(key)
                if isinstance(value, torch.Tensor) and isinstance(old, torch.Tensor) and old.shape == value.shape \
                        and old.dtype == value.dtype and old.device == value.device:
                    old.copy_(value)
                else:  # a buffer `opt` did not have yet (Adam's step counter keeps its type and device, as torch's)
                    current[key] = value.clone() if isinstance(value, torch.Tensor) else value


@dataclass
class LogInterval:
    """The unfinished log interval: its statistics summed on the device, and how many iterations
    (and seconds) went into them."""

    sums: torch.Tensor
    steps: int = 0
    seconds: float = 0.0


def rank_private_state(game: "Game") -> dict[str, torch.Tensor]:
    """What differs between the ranks of a distributed run: the "game" generator's state (and a synthetic
    source's), saved per rank so that each resumes its own noise and dropout."""
    private = {"rng": game.rng.get_state()}
    data_rng = getattr(game.data, "rng", None)
    if isinstance(data_rng, torch.Generator):
        private["data.rng"] = data_rng.get_state()
    return private


def pack_training_state(game: "Game", step: int, elapsed: float = 0.0, monitor_state: dict | None = None,
                        interval: LogInterval | None = None,
                        other_ranks: list[dict[str, torch.Tensor]] | None = None, cfg: Config | None = None
                        ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The training state of `game` at `step`: its tensors (the game's own, not copies) and a JSON header
    (with the run's config `cfg`, for a file). A distributed run's rank 0 adds ranks 1.. 's private states
    (`other_ranks`) as "rank{r}/..." tensors."""
    G, D = game.g.net, game.d.net
    t_d, h_d = pack_optimizer("opt_d", game.d.opt)
    t_g, h_g = pack_optimizer("opt_g", game.g.opt)
    t_e, h_e = pack_optimizer("opt_e", game.encoder.opt) if game.encoder is not None else ({}, None)
    data_state = game.data.state_dict()
    data_tensors = with_prefix("data", {k: v for k, v in data_state.items() if isinstance(v, torch.Tensor)})
    header = {
        "format": STATE_FORMAT, "advnets_version": __version__,
        "config": to_dict(cfg) if cfg is not None else None, "step": step, "x_shape": list(G.x_shape), "elapsed_s": elapsed,
        "d_updates": game.d.updates.value, "g_updates": game.g.updates.value, "rng_device": game.rng.device.type,
        "opt_d": h_d, "opt_g": h_g, "opt_e": h_e,
        "data": {k: v for k, v in data_state.items() if not isinstance(v, torch.Tensor)},
        "monitor": monitor_state or {},
        "lr_scale": game.lr_factor.value, "rollbacks": game.rollbacks,
        "log_steps": interval.steps if interval else 0, "log_seconds": interval.seconds if interval else 0.0,
        "world_size": game.ranks.world_size,
    }
    tensors = {**network_tensors(G, D, game.average_model, game.encoder_model), **t_d, **t_g, **t_e, **data_tensors,
               "rng": game.rng.get_state()}
    if game.encoder is not None:
        tensors["encoder_rng"] = game.encoder.rng.get_state()
    if interval is not None:
        tensors["log_sums"] = interval.sums
    for rank, private in enumerate(other_ranks or [], start=1):
        tensors.update({f"rank{rank}/{name}": value for name, value in private.items()})
    return tensors, header


def save_training_state(game: "Game", cfg: Config, run_dir: Path, step: int, elapsed: float,
                        monitor_state: dict | None = None, interval: LogInterval | None = None,
                        other_ranks: list[dict[str, torch.Tensor]] | None = None) -> None:
    """Write the network snapshot(s) and the training state of `game` (trained on `cfg`) at `step` (all
    atomically; the training state last, so that it never names a step whose snapshot is missing)."""
    G, D = game.g.net, game.d.net
    average, encoder = game.average_model, game.encoder_model
    save_snapshot(run_dir / LATEST_SNAPSHOT, G, D, cfg, step, average, encoder=encoder)
    if step and cfg.train.snapshot_every and step % cfg.train.snapshot_every == 0:
        save_snapshot(run_dir / numbered_snapshot(step), G, D, cfg, step, average, encoder=encoder)
    save_tensors(run_dir / TRAINING_STATE, *pack_training_state(game, step, elapsed, monitor_state, interval,
                                                                other_ranks, cfg))


def checkpoint(game: "Game", cfg: Config, run_dir: Path, step: int, elapsed: float, monitor_state: dict | None,
               interval: LogInterval) -> None:
    """Save the training state at `step`. Under torchrun every rank calls this (the ranks' private states are
    gathered on rank 0: a collective) and rank 0 alone writes."""
    others = gather_rank_states(game)
    if game.ranks.is_main:
        save_training_state(game, cfg, run_dir, step, elapsed, monitor_state, interval, others)


def gather_rank_states(game: "Game") -> list[dict[str, torch.Tensor]]:
    """Ranks 1.. 's private states (their random generators), on rank 0; [] elsewhere and for one process."""
    if not game.ranks.distributed:
        return []
    private = rank_private_state(game)
    gathered = {name: game.collectives.gather_to_main(value) for name, value in private.items()}
    if not game.ranks.is_main:
        return []
    return [{name: parts[rank] for name, parts in gathered.items()} for rank in range(1, game.ranks.world_size)]


def restore_training_state(game: "Game", tensors: dict[str, torch.Tensor], header: dict,
                           interval: LogInterval | None = None, path: Path | None = None) -> tuple[int, float]:
    """Load a saved training state into a built game (in place: a captured graph's tensors stay
    valid), and into `interval` the unfinished log interval; returns (step, elapsed seconds). A state
    that does not fit the game (a tensor or header field missing, a wrong shape or type) is refused in
    one line naming `path`."""
    try:
        step, elapsed = _restore(game, tensors, header, interval)
    except (KeyError, IndexError, ValueError, TypeError, RuntimeError, AttributeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, KeyError):
            reason = f"{e.args[0]!r} is missing"
        raise CheckpointError(f"{path or 'the training state'} does not fit this run ({reason}); "
                              "it is damaged or was written for another config") from None
    return step, elapsed


def check_network_tensors(modules: dict[str, torch.nn.Module | None], tensors: dict[str, torch.Tensor]) -> None:
    """Every weight of every network present, with its shape and dtype (load_state_dict would cast)."""
    for prefix, module in modules.items():
        if module is None:
            continue
        for name, expected in module.state_dict().items():
            saved = tensors[f"{prefix}.{name}"]
            if saved.shape != expected.shape or saved.dtype != expected.dtype:
                raise ValueError(f"{prefix}.{name} is {saved.dtype} {list(saved.shape)}, "
                                 f"expected {expected.dtype} {list(expected.shape)}")


def check_optimizer_tensors(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    """An optimizer's saved buffers: none (before its first update), or the same ones for every
    parameter, each shaped like its parameter (0-d counters aside)."""
    params = [p for group in opt.param_groups for p in group["params"]]
    by_index: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in strip_prefix(prefix, tensors).items():
        index, key = name.split(".", 1)
        by_index.setdefault(int(index), {})[key] = value
    if not by_index:
        return
    names = set(next(iter(by_index.values())))
    for index, param in enumerate(params):
        entries = by_index.get(index, {})
        if set(entries) != names:
            missing = sorted(names - set(entries)) or sorted(set(entries) - names)
            raise KeyError(f"{prefix}.{index}.{missing[0]}")
        for key, value in entries.items():
            if value.dim() and (value.shape != param.shape or value.dtype != param.dtype):
                raise ValueError(f"{prefix}.{index}.{key} is {value.dtype} {list(value.shape)}, "
                                 f"its parameter {param.dtype} {list(param.shape)}")
    if len(by_index) != len(params):
        raise ValueError(f"{prefix} holds buffers for {len(by_index)} parameters, the network has {len(params)}")


def _restore(game: "Game", tensors: dict[str, torch.Tensor], header: dict, interval: LogInterval | None
             ) -> tuple[int, float]:
    saved_ranks = int(header.get("world_size", 1))
    if saved_ranks != game.ranks.world_size:
        raise CheckpointError(f"the training state was saved by {saved_ranks} process(es) and this run has "
                              f"{game.ranks.world_size}: resume it with {saved_ranks} (torchrun --nproc-per-node "
                              f"and --nnodes), so that each rank's noise and share of the data continue exactly")
    if game.ranks.rank:  # rank r of a distributed run continues its own noise (and synthetic data)
        tensors = {**tensors, **{name.split("/", 1)[1]: value for name, value in tensors.items()
                                 if name.startswith(f"rank{game.ranks.rank}/")}}
    check_network_tensors({"generator": game.g.net, "discriminator": game.d.net,
                           "generator_ema": game.average_model, "encoder": game.encoder_model}, tensors)
    check_optimizer_tensors("opt_d", game.d.opt, tensors)
    check_optimizer_tensors("opt_g", game.g.opt, tensors)
    if game.encoder is not None:
        check_optimizer_tensors("opt_e", game.encoder.opt, tensors)
    load_networks(game.g.net, game.d.net, tensors, game.average_model, game.encoder_model)
    unpack_optimizer("opt_d", game.d.opt, tensors, header["opt_d"])
    unpack_optimizer("opt_g", game.g.opt, tensors, header["opt_g"])
    if game.encoder is not None:
        unpack_optimizer("opt_e", game.encoder.opt, tensors, header["opt_e"])
    game.data.load_state_dict({**header["data"], **strip_prefix("data", tensors)})
    game.set_update_counts(header["d_updates"], header["g_updates"])
    if header["rng_device"] == game.rng.device.type:
        game.rng.set_state(tensors["rng"])
        if game.encoder is not None:
            game.encoder.rng.set_state(tensors["encoder_rng"])
    else:  # a CUDA generator state cannot seed a CPU generator: continue, but not bit-identically
        game.rng.manual_seed(runtime.stream_seed("game-moved", header["config"]["seed"], header["step"]))
        tqdm.write(f"note: resumed on {game.rng.device.type} a run saved on {header['rng_device']}; "
                   "noise and dropout now differ from an uninterrupted run")
    game.lr_factor.set(float(header.get("lr_scale", 1.0)))  # states of 0.1.0 have neither: 1 and 0
    game.rollbacks = int(header.get("rollbacks", 0))
    if interval is not None:
        if "log_sums" in tensors:
            interval.sums.copy_(tensors["log_sums"])
        else:  # a state of 0.1.0: its partial interval was not saved
            interval.sums.zero_()
        interval.steps, interval.seconds = int(header.get("log_steps", 0)), float(header.get("log_seconds", 0.0))
    return int(header["step"]), float(header["elapsed_s"])


def training_state_path(run_dir: Path) -> Path:
    path = Path(run_dir) / TRAINING_STATE
    if not path.is_file():
        raise CheckpointError(f"{run_dir} holds no training state ({TRAINING_STATE}); nothing to resume")
    return path


def read_training_header(run_dir: Path) -> dict[str, Any]:
    """The training state's header (config, step, counters) without its tensors."""
    path = training_state_path(run_dir)
    header = read_header(path)
    check_state_header(header, path)
    return header


# What every training state's header holds (a state of 0.1.0 included).
STATE_HEADER_FIELDS = ("config", "step", "x_shape", "elapsed_s", "d_updates", "g_updates", "rng_device", "opt_d",
                       "opt_g", "data")


def check_state_header(header: dict[str, Any], path: Path) -> None:
    if header.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path} is not an advnets training state (format {header.get('format')!r})")
    missing = [field for field in STATE_HEADER_FIELDS if field not in header]
    if missing:
        raise CheckpointError(f"{path} does not fit this run ({missing[0]!r} is missing); it is damaged or was "
                              "written by another program")
    if not isinstance(header["config"], dict) or not all(isinstance(header[k], int) for k in ("step", "d_updates",
                                                                                             "g_updates")):
        raise CheckpointError(f"{path} does not fit this run (its config or counters are of the wrong type); "
                              "it is damaged or was written by another program")
    check_header_values(header, path)  # step and x_shape, as every snapshot's
    problem = _impossible_state_value(header)
    if problem:
        raise CheckpointError(f"{path} holds an impossible training state ({problem}); it is damaged or was "
                              "written by another program")


COUNT_LIMIT = 2**62  # counters live in int64 device tensors; anything near 2^63 is damage, not a run


def _impossible_state_value(header: dict[str, Any]) -> str | None:
    """The first of a training state's numbers that no run can have written, described; None if all are possible."""

    def count(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= COUNT_LIMIT

    def seconds(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < float("inf")

    steps = header["config"].get("train", {}).get("steps") if isinstance(header["config"].get("train"), dict) else None
    data = header["data"] if isinstance(header["data"], dict) else {}
    checks = [
        (count(steps) and header["step"] <= steps, f"step {header['step']} beyond train.steps={steps}"),
        (count(header["d_updates"]) and count(header["g_updates"]),
         f"update counts {header['d_updates']}, {header['g_updates']} (0 or more)"),
        (count(data.get("batches_drawn")), f"data.batches_drawn {data.get('batches_drawn')!r} (a count, 0 or more)"),
        (seconds(header["elapsed_s"]), f"elapsed_s {header['elapsed_s']!r} (seconds, 0 or more)"),
        (seconds(header.get("log_seconds", 0.0)), f"log_seconds {header.get('log_seconds')!r} (seconds, 0 or more)"),
        (count(header.get("log_steps", 0)), f"log_steps {header.get('log_steps')!r} (a count, 0 or more)"),
        (count(header.get("rollbacks", 0)), f"rollbacks {header.get('rollbacks')!r} (a count, 0 or more)"),
        (isinstance(header.get("lr_scale", 1.0), (int, float)) and 0 < header.get("lr_scale", 1.0) <= 1,
         f"lr_scale {header.get('lr_scale')!r} (a factor in (0, 1]: halved by each rollback)"),
        (isinstance(header.get("world_size", 1), int) and 1 <= header.get("world_size", 1) <= 1 << 20,
         f"world_size {header.get('world_size')!r} (1 or more processes)"),
    ]
    return next((what for ok, what in checks if not ok), None)


def load_training_state(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    path = training_state_path(run_dir)
    tensors, header = load_network_file(path)
    check_state_header(header, path)
    return tensors, header
