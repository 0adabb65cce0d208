"""advnets train: train a GAN from a preset or YAML config.

The command reads as the library's stages: resolve the config (preset or YAML, --set, or a run to resume),
plan it (advnets.train.plan: the data, the device and the memory checked, nothing created), claim the run
folder, say what will run, train (advnets.train.loop), say how it ended.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from advnets import commands
from advnets.commands.members import is_members_folder, train_members_command
from advnets.commands.options import seed_list
from advnets.commands.training import check_stray_overrides, resolve_train_config, say_how_it_ended
from advnets.errors import AdvnetsError, ConfigError, shell_command

DESCRIPTION = "Train a GAN with Algorithm 1."

EXAMPLES = """examples:
  advnets train paper-mnist --dry-run                          # print the resolved config
  advnets train quick-mnist --set seed=3 train.steps=3000 --out runs/q3
  advnets train my-config.yaml --data-dir ~/data
  advnets train --resume runs/q3 --set train.steps=6000       # continue to step 6000
  advnets train toy-ring --members 0-7 --out runs/ring          # 8 seeds in one process: runs/ring/s0 ... s7

Keys for --set are the dotted names printed by --dry-run (e.g. train.k, optim.lr, data.dir).
On --resume only these may change: device, data.dir, data.download, train.steps and the
train.*_every / train.progress bookkeeping keys, and optim.lr_anneal_from / optim.lr_anneal while
the annealing has not begun (old and new); anything else is refused. To branch a run (keep the
original), copy its directory first:
  cp -r runs/q3 runs/q3-anneal
  advnets train --resume runs/q3-anneal --set train.steps=9000 optim.lr_anneal_from=6000 optim.lr_anneal=1.0002"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", metavar="PRESET_OR_YAML",
                   help="a preset name (see `advnets presets`) or a YAML file; optional with --resume")
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="override config keys, e.g. --set seed=1 train.steps=2000")
    p.add_argument("--out", metavar="DIR", help="run directory to create (must not exist or be empty); "
                   "default: the next runs/NNNNN-NAME")
    p.add_argument("--runs-root", metavar="DIR", default="runs", help="where numbered run directories go")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its training state, exactly (a --members "
                   "folder: every member)")
    p.add_argument("--members", type=seed_list, metavar="SEEDS", help="train these seeds (e.g. 0-7) side by side in "
                   "one process, one run folder each under --out (advnets.members)")
    p.add_argument("--data-dir", metavar="DIR", help="data directory (same as --set data.dir=DIR)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--verbose", action="store_true", help="print the resolved config before training "
                   "(it is always saved as RUN_DIR/config.yaml)")


def run(args: argparse.Namespace) -> int:
    check_stray_overrides(args)  # a typo is refused before PyTorch loads (seconds on a busy machine); what
    if args.config is not None and args.resume is None:  # needs the data registry is checked next
        from advnets.config import load_config

        load_config(args.config, list(args.set), static=True)
    from advnets.distributed import RankLost
    from advnets.train.stopping import stop_requests

    # Stop signals are caught from here on, before any run folder is claimed or locked: a signal that
    # arrives while the run starts stops it after its first iteration, saved (never a silent death or a
    # traceback with the lock file just made).
    with stop_requests(restore=not commands.WHOLE_PROCESS) as stop:
        try:
            if args.members or is_members_folder(args.resume):
                return train_members_command(args, stop)
            return train_command(args, stop)
        except RankLost as e:  # said while the handlers hold: torchrun's SIGTERM to the survivors follows at once
            if e.speak:
                print(f"advnets: error: {e}; {where_the_run_stands(Path(args.resume or args.out))}", file=sys.stderr,
                      flush=True)
            return 2


def train_command(args: argparse.Namespace, stop) -> int:
    """Resolve, plan (and check), claim the folder, describe, train, say how it ended."""
    started = time.perf_counter()
    from advnets.commands.presentation import training_failure
    from advnets.config import to_yaml
    from advnets.train import plan_training, train
    from advnets.train.rundir import RunClaim

    ranks = this_process(args)
    resuming = args.resume is not None and not args.dry_run
    # A run to resume is locked before its state is read (rank 0 holds it for all ranks)
    held = RunClaim.existing(args.resume) if resuming and ranks.is_main else None
    with held or contextlib.nullcontext():
        cfg, header = resolve_train_config(args)
        if args.dry_run:
            print(to_yaml(cfg), end="")
            return 0
        plan = plan_training(cfg, ranks, resume=header is not None)  # the data, device, memory: their errors first
        if resuming and header is not None and header["step"] >= plan.cfg.train.steps:
            print(f"{args.resume} is already at step {header['step']} >= train.steps={plan.cfg.train.steps}; "
                  "raise train.steps to continue")
            return 0
        if resuming and header is None:
            print(f"note: {args.resume} stopped before its first checkpoint; training it again from step 0 "
                  "with its config.yaml")
        claim = held or (RunClaim.new(args.out, cfg.name, args.runs_root) if not resuming and ranks.is_main else None)
        run_dir = claim.path if claim is not None else Path(args.resume or args.out)
        with claim or contextlib.nullcontext():
            describe(plan, run_dir, args.verbose)
            try:
                result = train(plan, run_dir, claim=claim, stop=stop)
            except (AdvnetsError, OSError, MemoryError, RuntimeError) as e:
                raise training_failure(e, run_dir) from None
    say_how_it_ended(result, plan.cfg, started)
    return 0


def this_process(args: argparse.Namespace):
    """This process's place in the run (torchrun's RANK / WORLD_SIZE / LOCAL_RANK; one process without them);
    under torchrun rank 0 prints for all (the others' errors still reach stderr)."""
    from advnets.distributed import ranks_from_environment

    ranks = ranks_from_environment()
    if ranks.distributed:
        if args.resume is None and args.out is None and not args.dry_run:
            raise ConfigError("under torchrun, name the run folder with --out (every rank must agree on it)")
        if not ranks.is_main:
            sys.stdout = open(os.devnull, "w")
    return ranks


def describe(plan, run_dir: Path, verbose: bool) -> None:
    """The line that says what will run (with --verbose, the whole config before it)."""
    from advnets.config import to_yaml

    cfg, t = plan.cfg, plan.cfg.train
    if verbose:
        print(to_yaml(cfg), end="")
    print(f"{'resuming' if plan.resume else 'training'} {cfg.name}: {t.steps} steps of batch {t.batch_size} on "
          f"{cfg.data.name}, seed {cfg.seed} -> {run_dir} (config.yaml; the whole config: --verbose)", flush=True)


def where_the_run_stands(run_dir: Path) -> str:
    """After a rank was lost: the run's last checkpoint, and the command that continues it."""
    from advnets.train.checkpoint import read_training_header

    nodes = int(os.environ.get("WORLD_SIZE", "1")) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    resume = shell_command("torchrun", "--nproc-per-node", os.environ.get("LOCAL_WORLD_SIZE", "1"),
                           *(["--nnodes", str(nodes)] if nodes > 1 else []), "-m", "advnets", "train", "--resume",
                           run_dir)
    try:
        kept = f"the last checkpoint, step {read_training_header(run_dir)['step']}, is intact in {run_dir}"
    except AdvnetsError:
        kept = f"rank 0's {run_dir} holds the last checkpoint"
    return f"{kept}; continue it with: {resume}"
