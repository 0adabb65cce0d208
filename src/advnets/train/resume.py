"""The resume policy: which config a resumed run continues with, and which changes it refuses.

A run resumed from its training state must equal the run that never stopped. So a resumed run keeps
its saved config, and only keys that change how long it goes or what it writes may differ
(RESUMABLE_KEYS); a late learning-rate annealing (FUTURE_SCHEDULE_KEYS) may be added or changed while
neither the old nor the new one has begun, since the run then equals a fresh run of the new config.
Anything else is refused in one line naming every changed key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from advnets.config import Config, changed_keys, flatten, from_dict, load_config, to_dict
from advnets.errors import CheckpointError, ConfigError, shell_command
from advnets.train.checkpoint import TRAINING_STATE, read_training_header
from advnets.train.rundir import CONFIG_FILE

# Keys that may differ when a run is resumed: they change how long a run goes or what it writes,
# not the trajectory of the weights. (`device`, `threads` and `train.graph` change floating-point rounding at
# most, not the math.)
RESUMABLE_KEYS = frozenset({
    "device", "threads", "data.dir", "data.download", "train.steps", "train.log_every", "train.sample_every",
    "train.checkpoint_every", "train.snapshot_every", "train.progress", "train.valid_every", "train.valid_samples",
    "train.tensorboard", "train.graph", "train.on_nonfinite", "train.max_rollbacks",
})

# Schedule keys whose effect begins at a given update: a resumed run may change them while neither
# the old nor the new setting has acted yet, since the run then equals a fresh run of the new config.
FUTURE_SCHEDULE_KEYS = frozenset({"optim.lr_anneal_from", "optim.lr_anneal"})


def refused_on_resume(saved: Config, new: Config, updates_done: int) -> list[str]:
    """Changed keys that would make a run resumed after `updates_done` updates (the larger of D's and
    G's counts) differ from a fresh run of `new`: everything outside RESUMABLE_KEYS, except annealing
    keys whose annealing starts, before and after the change, at or after `updates_done`."""

    def anneal_not_started(cfg: Config) -> bool:
        start = cfg.optim.lr_anneal_from
        return cfg.optim.lr_anneal == 1 or start is None or start >= updates_done

    future_only = anneal_not_started(saved) and anneal_not_started(new)
    return [k for k in changed_keys(saved, new)
            if k not in RESUMABLE_KEYS and not (future_only and k in FUTURE_SCHEDULE_KEYS)]


def resume_config(run_dir: str | Path, preset_or_yaml: str | None = None, overrides: list[str] = (),
                  data_dir: str | None = None) -> tuple[Config, dict[str, Any] | None]:
    """The config to continue `run_dir` with (its saved one, or `preset_or_yaml`, with `overrides` and
    `data_dir`), and the training state's header; refused in one line if it would change the run.
    A run that stopped before its first checkpoint (config.yaml, no training state) starts again from
    step 0 with its config: the header is then None."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is not a run directory (it does not exist); nothing to resume")
    if not (run_dir / TRAINING_STATE).exists():
        if not (run_dir / CONFIG_FILE).is_file():
            raise CheckpointError(f"{run_dir} holds neither a training state nor a config.yaml (it stopped before "
                                  f"writing them): nothing to resume; start it again with: advnets train PRESET "
                                  f"--out {shell_command(run_dir)}")
        cfg = load_config(preset_or_yaml or str(run_dir / CONFIG_FILE), overrides)
        if data_dir:
            cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dir=data_dir))
        return cfg, None
    header = read_training_header(run_dir)
    try:
        saved = from_dict(Config, header["config"])
    except ConfigError as e:
        raise CheckpointError(f"{run_dir / TRAINING_STATE} holds a config this version cannot read ({e})") from None
    cfg = load_config(preset_or_yaml, overrides) if preset_or_yaml else load_config(None, overrides,
                                                                                   base=header["config"])
    if data_dir:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dir=data_dir))
    refused = refused_on_resume(saved, cfg, max(header["d_updates"], header["g_updates"]))
    if refused:
        old, new = flatten(to_dict(saved)), flatten(to_dict(cfg))
        diffs = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in refused)
        raise ConfigError(f"refusing to resume {run_dir} with changed hyper-parameters ({diffs}); "
                          "start a new run instead")
    return cfg, header
