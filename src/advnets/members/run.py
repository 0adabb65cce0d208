"""Several seeds of one config trained in one process, each member an ordinary run in its own folder.

:func:`train_members` reads as :func:`advnets.train.loop.train` does, for K members: resolve and check (each
member's plan, what cannot be stacked, K times the memory), a :class:`~advnets.train.loop.Session` per member
(its folder, log, monitor, checkpoints: what a lone run of its seed has), the networks stacked
(advnets.members.iteration.Members), iterate, finish. An iteration runs every active member's Algorithm 1 at
once; what is due after it (statistics, samples, checkpoints, the NaN check) is each member's, at its own step.

A member whose numbers become NaN rolls back alone (its lone run's rule, train.on_nonfinite) or stops alone:
its folder keeps its last finite checkpoint and says why, the others go on. A stop signal saves every member.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from advnets.config import Config
from advnets.errors import ConfigError, TrainingDiverged, TrainingInterrupted
from advnets.members.folder import member_dir, write_members
from advnets.members.iteration import Members, members_iteration
from advnets.progress import Progress
from advnets.runtime import format_bytes
from advnets.train.budget import choose_threads
from advnets.train.loop import Session, TrainResult, cpu_threads, iterate
from advnets.train.plan import TrainPlan, plan_training
from advnets.train.stopping import StopRequest


@dataclass
class MemberOutcome:
    """How one member's session ended: finished (`result`), or stopped alone (`failure`, one line)."""

    seed: int
    run_dir: Path
    result: TrainResult | None = None
    failure: str | None = None


def check_stackable(plan: TrainPlan) -> None:
    """Refuse, in one line, what members cannot train yet (before any folder exists)."""
    cfg = plan.cfg
    refusals = [
        (plan.ranks.distributed, "--members under torchrun (train the members in one process per GPU instead)"),
        (cfg.inference.joint, "inference.joint (the joint inference network's updates are not stacked yet); "
                              "train without it, then fit E per member with advnets infer"),
        (cfg.generator.batch_norm, "generator.batch_norm (batch normalisation's running statistics)"),
        (cfg.train.graph == "on", "train.graph=on (members run eagerly; set train.graph=auto or off)"),
    ]
    for refused, what in refusals:
        if refused:
            raise ConfigError(f"several members in one process cannot train with {what}")


def check_same_config(plans: list[TrainPlan]) -> None:
    """Members are one config trained over seeds: refuse, in one line, plans that differ in anything else (their
    lengths, train.steps, may differ: a member resumed alone for longer)."""
    def shared(plan: TrainPlan) -> Config:
        cfg = plan.cfg
        return dataclasses.replace(cfg, seed=0, train=dataclasses.replace(cfg.train, steps=0))

    first = shared(plans[0])
    for plan in plans[1:]:
        if shared(plan) != first:
            raise ConfigError(f"the members' configs differ in more than the seed (seed {plans[0].cfg.seed} and seed "
                              f"{plan.cfg.seed}); train different settings as separate commands")


def check_members_fit(plans: list[TrainPlan]) -> None:
    """K members keep K times what one run keeps: refuse in one line what the device cannot hold."""
    budget, k = plans[0].budget, len(plans)
    if budget.available is not None and k * budget.need > budget.available:
        most = max(1, budget.available // max(1, budget.need))
        raise ConfigError(f"{k} members need about {format_bytes(k * budget.need)} of memory "
                          f"({format_bytes(budget.need)} each) and {plans[0].device} has "
                          f"{format_bytes(budget.available)} available; train at most {most} at once")


def members_threads(plans: list[TrainPlan]) -> list[TrainPlan]:
    """The plans with the CPU threads for K members at once: chosen (advnets.train.budget.choose_threads) from K
    times one update's multiply-adds, unless the config sets them."""
    first, k = plans[0], len(plans)
    threads, why = choose_threads(first.cfg, first.ranks, update_macs=k * first.sizes.update_macs)
    if not first.cfg.threads:
        why = f"{k} members: " + why
    return [dataclasses.replace(plan, threads=(threads, why)) for plan in plans]


def check_members(plans: list[TrainPlan]) -> None:
    """Everything members are refused for, before any folder exists: what cannot be stacked, configs that differ
    beyond the seed, K times the memory."""
    for plan in plans:
        check_stackable(plan)
    check_same_config(plans)
    check_members_fit(plans)


def train_members(plans: list[TrainPlan], run_dirs: list[Path], stop: StopRequest,
                  resume_command: str | None = None) -> list[MemberOutcome]:
    """Train the planned members (one config, seeds differing) in `run_dirs` (claimed by the caller), each as its
    lone run would; returns how each ended. A stop signal saves every member, then raises TrainingInterrupted
    (`resume_command`: what its message says continues them all)."""
    check_members(plans)
    if len(plans) == 1:
        return [_train_alone(plans[0], run_dirs[0], stop, resume_command)]
    plans = members_threads(plans)
    with cpu_threads(plans[0].threads[0]):
        sessions = [Session(plan, run_dir, member=f"s{plan.cfg.seed}") for plan, run_dir in zip(plans, run_dirs)]
        members = Members([session.game for session in sessions])
        outcomes = [MemberOutcome(plan.cfg.seed, run_dir) for plan, run_dir in zip(plans, run_dirs)]
        steps = [session.step for session in sessions]
        members.active = [step < plan.cfg.train.steps for step, plan in zip(steps, plans)]
        total = sum(plan.cfg.train.steps for plan in plans)
        bar = Progress(total, f"{plans[0].cfg.name} x{len(plans)}", "step", initial=sum(steps),
                       enabled=plans[0].cfg.train.progress)
        interrupted = _iterate(sessions, members, steps, outcomes, stop, bar)
        bar.close()
        for session, outcome, step in zip(sessions, outcomes, steps):
            if outcome.failure is None and outcome.seed not in interrupted:
                outcome.result = session.finish(step)
    if interrupted:
        first = next(iter(interrupted.values()))
        raise TrainingInterrupted(first.step, run_dirs[0], first.signal_name, first.exit_status - 128,
                                  resume_command=resume_command)
    return outcomes


def train_seeds(cfg: Config, seeds: list[int], folder: str | Path) -> list[MemberOutcome]:
    """`cfg` trained once per seed, side by side in this process, as `advnets train --members` does: FOLDER/s<seed>
    each an ordinary run folder (new ones; FOLDER/members.json lists the seeds, so that `advnets train --resume
    FOLDER` continues them together). Returns how each member ended."""
    from advnets.train.rundir import RunClaim
    from advnets.train.stopping import stop_requests

    folder = Path(folder)
    plans = [plan_training(dataclasses.replace(cfg, seed=seed)) for seed in seeds]
    folder.mkdir(parents=True, exist_ok=True)
    write_members(folder, list(seeds))
    with contextlib.ExitStack() as claims, stop_requests() as stop:
        dirs = [claims.enter_context(RunClaim.new(member_dir(folder, seed), f"s{seed}")).path for seed in seeds]
        return train_members(plans, dirs, stop)


def _train_alone(plan: TrainPlan, run_dir: Path, stop: StopRequest, resume_command: str | None) -> MemberOutcome:
    """One member is the lone loop itself (advnets.train.loop.iterate): vmap over a single member may pick other
    BLAS kernels than the lone run's (a few 1e-10 after two updates of the paper's maxout D), and one member has
    nothing to share its kernels with."""
    outcome = MemberOutcome(plan.cfg.seed, run_dir)
    with cpu_threads(plan.threads[0]):
        session = Session(plan, run_dir)
        try:
            outcome.result = session.finish(iterate(session, stop))
        except TrainingDiverged as e:
            outcome.failure = str(e)
            session.ended_alone(session.step, "diverged")
        except TrainingInterrupted as e:
            raise TrainingInterrupted(e.step, run_dir, e.signal_name, e.exit_status - 128,
                                      resume_command=resume_command) from None
    return outcome


def _iterate(sessions: list[Session], members: Members, steps: list[int], outcomes: list[MemberOutcome],
             stop: StopRequest, bar: Progress) -> dict[int, TrainingInterrupted]:
    """Iterations until no member is active; what is due after each, per member (advnets.train.loop's
    Session.after_iteration). Returns the members a stop signal interrupted (by seed)."""
    interrupted: dict[int, TrainingInterrupted] = {}
    while any(members.active):
        stats = members_iteration(members)  # [K, len(STAT_NAMES)]
        stopping = stop.is_set()
        active = [i for i, on in enumerate(members.active) if on]
        with contextlib.ExitStack() as bookkeeping:
            for session in sessions:
                bookkeeping.enter_context(session.time.held())
            for i in active:
                sessions[i].interval.sums.add_(stats[i])
                sessions[i].interval.steps += 1
                _after_iteration(i, sessions[i], members, steps, outcomes[i], stopping, stop, interrupted)
        bar.update(len(active))
    return interrupted


def _after_iteration(i: int, session: Session, members: Members, steps: list[int], outcome: MemberOutcome,
                     stopping: bool, stop: StopRequest, interrupted: dict[int, TrainingInterrupted]) -> None:
    """Member i's bookkeeping after its iteration: rolled back (its tensors taken back into the stacks), stopped
    alone (diverged), interrupted, finished, or on."""
    try:
        step = session.after_iteration(steps[i] + 1, stopping, stop)
    except TrainingDiverged as e:
        members.active[i] = False
        outcome.failure = str(e)
        session.log.say(f"stopped alone: {e}")
        session.ended_alone(steps[i] + 1, "diverged")
        return
    except TrainingInterrupted as e:
        members.active[i] = False
        interrupted[outcome.seed] = e
        return
    if step != steps[i] + 1:  # rolled back to its last checkpoint
        members.adopt(i)
    steps[i] = step
    if step >= session.cfg.train.steps:
        members.active[i] = False

