"""What the train command's two forms (one run, and --members: advnets.commands.members) share: the config to
train or resume, a typo caught before PyTorch loads, and the lines that say how a run ended."""

from __future__ import annotations

import argparse
import dataclasses
import time

from advnets.errors import ConfigError, shell_command


def check_stray_overrides(args: argparse.Namespace) -> None:
    """`--set KEY=VALUE ...` takes every word after it, a preset named last included: say so."""
    stray = [item for item in args.set if "=" not in item]
    if stray:
        where = "" if args.config is None else f" (the preset is {args.config})"
        overrides = [item for item in args.set if "=" in item] or ["train.steps=10"]
        raise ConfigError(f"--set took '{stray[0]}' as an override, but it has no '='{where}: name the preset "
                          f"before --set, e.g. {shell_command('advnets', 'train', stray[0], '--set', *overrides)}")


def resolve_train_config(args: argparse.Namespace):
    """The config to train with, and for --resume the training state's header (advnets.train.resume
    checks that the config may continue the run)."""
    from advnets.config import load_config
    from advnets.train.resume import resume_config

    check_stray_overrides(args)
    if args.resume is not None:
        return resume_config(args.resume, args.config, list(args.set), args.data_dir)
    if args.config is None:
        raise ConfigError("give a preset or YAML file to train (see `advnets presets`), or --resume RUN_DIR")
    cfg = load_config(args.config, list(args.set))
    if args.data_dir:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dir=args.data_dir))
    return cfg, None


def say_how_it_ended(result, cfg, started: float) -> None:
    """The run's last statistics, its speed, its best validation scores, and how to sample from it."""
    s = result.last_stats
    if s:
        training = float(s.get("wall_s") or 0.0)  # the run's training time, over all its sessions
        average = f"{result.step / training:.1f} steps/s on average" if training else "steps/s unknown"
        print(f"done: step {result.step}, epoch {s['epoch']:.2f}, loss_d {s['loss_d']:.4f}, loss_g {s['loss_g']:.4f}, "
              f"D(x) {s['d_real']:.3f}, D(G(z)) {s['d_fake']:.3f}, diversity {s['diversity']:.3f}; "
              f"{training:.1f} s of training ({average}), {time.perf_counter() - started:.1f} s for this command")
        from advnets.train.validation import label as validation_label

        what = validation_label(cfg.train.valid_metric)
        if s.get("best_valid") is not None:
            which = "G's moving average" if cfg.train.ema_decay else "G"
            print(f"best {what} of {which}: {s['best_valid']:.1f} at step {s['best_step']} "
                  "(network-best.safetensors)")
        if s.get("best_valid_live") is not None:
            print(f"best {what} of the live G: {s['best_valid_live']:.1f} at step {s['best_step_live']} "
                  "(network-best-live.safetensors)")
    print(f"samples: {shell_command('advnets', 'sample', result.run_dir, '--n', '100', '--out', 'samples.png')}")
