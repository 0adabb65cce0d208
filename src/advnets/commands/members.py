"""advnets train --members: several seeds of one config trained in one process (advnets.members).

The command's folder (--out, or the next runs/NNNNN-NAME) holds ``members.json`` and one ordinary run folder per
member, ``s<seed>``: sample, evaluate, report, export or resume each alone. ``advnets train --resume FOLDER``
continues every member of such a folder in one process again.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import sys
import time
from pathlib import Path

from advnets.errors import CheckpointError, ConfigError, shell_command
from advnets.members.folder import is_members_folder, member_dir, read_members, write_members

__all__ = ["is_members_folder", "train_members_command"]


def train_members_command(args: argparse.Namespace, stop) -> int:
    """Plan every member (nothing created before all pass), claim the folders, train, say how each ended."""
    from advnets.commands.presentation import training_failure
    from advnets.commands.training import say_how_it_ended
    from advnets.distributed import ranks_from_environment
    from advnets.members import check_members, train_members
    from advnets.train import plan_training

    started = time.perf_counter()
    resuming = args.resume is not None
    if ranks_from_environment().distributed:
        raise ConfigError("--members trains its seeds in one process: run it without torchrun")
    with contextlib.ExitStack() as held:
        folder, seeds, cfgs, headers, claims = _resolve(args, held)
        if args.dry_run:
            from advnets.config import to_yaml

            print(to_yaml(cfgs[0]), end="")
            return 0
        plans = [plan_training(cfg, resume=header is not None) for cfg, header in zip(cfgs, headers)]
        if resuming and all(header is not None and header["step"] >= plan.cfg.train.steps
                            for header, plan in zip(headers, plans)):
            print(f"every member of {folder} is already at train.steps={plans[0].cfg.train.steps} or beyond; raise "
                  "train.steps to continue")
            return 0
        check_members(plans)
        if not resuming:
            folder = _new_folder(args, cfgs[0].name, seeds, held)
            claims = [held.enter_context(_member_claim(member_dir(folder, seed), resuming=False)) for seed in seeds]
        dirs = [claim.path for claim in claims]
        t = plans[0].cfg.train
        print(f"{'resuming' if resuming else 'training'} {cfgs[0].name} x{len(seeds)} (seeds {_seeds_text(seeds)}) in "
              f"one process: {t.steps} steps of batch {t.batch_size} each -> {folder}/s<seed>", flush=True)
        again = shell_command("advnets", "train", "--resume", folder)
        try:
            outcomes = train_members(plans, dirs, stop, resume_command=again)
        except (OSError, MemoryError, RuntimeError) as e:
            raise training_failure(e, dirs[0]) from None
    for outcome, plan in zip(outcomes, plans):
        print(f"[s{outcome.seed}] ", end="")
        if outcome.failure:
            print(f"stopped alone: {outcome.failure}")
        else:
            say_how_it_ended(outcome.result, plan.cfg, started)
    failed = [o.seed for o in outcomes if o.failure]
    if failed:
        print(f"advnets: {len(failed)} of {len(outcomes)} members stopped alone (seeds {_seeds_text(failed)}); "
              "the others finished", file=sys.stderr)
        return 3
    return 0


def _resolve(args: argparse.Namespace, held: contextlib.ExitStack):
    """(folder or None, seeds, each member's config, each member's training header or None, and for --resume the
    members' folders claimed)."""
    from advnets.commands.training import resolve_train_config

    if args.resume is not None:
        folder = Path(args.resume)
        seeds = read_members(folder)
        if args.members and sorted(args.members) != sorted(seeds):
            raise ConfigError(f"{folder} holds the members {_seeds_text(seeds)}; resume them without --members")
        resolved, claims = [], []
        for seed in seeds:
            claims.append(held.enter_context(_member_claim(member_dir(folder, seed), resuming=True)))
            resolved.append(resolve_train_config(argparse.Namespace(**{**vars(args),
                                                                       "resume": str(member_dir(folder, seed))})))
        return folder, seeds, [cfg for cfg, _ in resolved], [header for _, header in resolved], claims
    if any(item.split("=", 1)[0] == "seed" for item in args.set):
        raise ConfigError("--members sets each member's seed; leave seed out of --set")
    seeds = args.members
    cfg = resolve_train_config(args)[0]  # (seeds >= 0: checked by --members' parser)
    return None, seeds, [dataclasses.replace(cfg, seed=seed) for seed in seeds], [None] * len(seeds), []


@contextlib.contextmanager
def _member_claim(path: Path, resuming: bool):
    from advnets.train.rundir import RunClaim

    if not resuming:
        with RunClaim.new(path, path.name) as claim:
            yield claim
        return
    if not path.is_dir():
        raise CheckpointError(f"{path} is missing: the members folder lost a member; move the others to a new folder "
                              "and resume them one by one")
    with RunClaim.existing(path) as claim:
        yield claim


def _new_folder(args: argparse.Namespace, name: str, seeds: list[int], held: contextlib.ExitStack) -> Path:
    """The members' folder (made and locked), with members.json; removed again at the end when no member in it
    kept a training state."""
    from advnets.train.checkpoint import TRAINING_STATE
    from advnets.train.rundir import claim_run_dir

    folder, lock = claim_run_dir(args.out, name, args.runs_root)
    write_members(folder, seeds)

    def give_up() -> None:
        if not any((member_dir(folder, seed) / TRAINING_STATE).exists() for seed in seeds):
            shutil.rmtree(folder, ignore_errors=True)
        lock.release()

    held.callback(give_up)
    return folder


def _seeds_text(seeds: list[int]) -> str:
    return ",".join(str(s) for s in seeds)
