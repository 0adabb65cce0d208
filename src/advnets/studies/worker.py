"""`advnets study run`: a worker takes queued trials, one at a time, until the study has none left.

A trial is one (setting, seed): an ordinary run folder, trials/<setting>-s<seed>, trained to the setting's
updates (a new run, or the run resumed from its last checkpoint when an earlier worker stopped: bit-identical
to a run that never stopped), then scored by the study's objective on the validation split (a metrics.jsonl
row, as `advnets evaluate --split valid` writes). Its value and row go to the storage. While it trains, the
worker's heartbeat tells the others that it is alive; a worker that finds a trial whose heartbeat stopped
fails it, and the storage queues it again (storage.py). A trial the config or the run refuses (a NaN stop, a
setting that cannot train) is failed with its one-line reason, and not run again.

A worker with nothing to take waits while other workers' trials run (one of them may die, and its trial come
back), and stops when nothing runs or waits: `advnets study run` returns when the study is done.
"""

from __future__ import annotations

import math
import socket
import time
from pathlib import Path
from typing import Any

from advnets.errors import AdvnetsError, TrainingDiverged, TrainingInterrupted
from advnets.studies import storage as stores
from advnets.studies.spec import StudySpec


def work(folder: stores.StudyFolder, say=print, members: int = 1) -> dict[str, int]:
    """Run queued trials until the study has none left; returns how many this worker finished and failed.
    `members`: the most queued seeds of one setting trained side by side in this process (advnets.members; 1: one
    trial at a time). A trial trained as a member equals its lone run to float rounding, not bit for bit."""
    from optuna.storages import fail_stale_trials
    from optuna.trial import TrialState

    opened = stores.load_study(folder)
    if opened.spec.sampler == "tpe":  # settings drawn while the study runs, by Optuna's TPE from the trials so far
        opened = stores.load_study(folder, sampler=tpe())
    counts = {"finished": 0, "failed": 0}
    while True:
        fail_stale_trials(opened.study)  # trials whose worker stopped beating: failed, and queued again
        claimed = stores.claim(opened)
        if claimed is None and opened.spec.sampler == "tpe":
            with stores.sqlite_claims(opened):  # (one draw at a time, so that no more than n_settings are drawn)
                claimed = draw_setting(opened, say)
        if claimed is None:
            states = {t.state for t in stores.units(opened.study)}
            if TrialState.RUNNING not in states and TrialState.WAITING not in states:
                return counts
            time.sleep(1.0)  # another worker's trial runs: it may yet come back (its worker may die)
            continue
        batch = [claimed] + claim_seeds_beside(opened, claimed[0], members)
        if len(batch) == 1:
            ok = run_trial(opened, *claimed, say)
            counts["finished" if ok else "failed"] += 1
            continue
        for ok in run_members(opened, batch, say):
            counts["finished" if ok else "failed"] += 1


def tpe():
    """The sampler of a tpe study: TPE, starting from a few random settings (Optuna's default warm-up)."""
    import optuna

    return optuna.samplers.TPESampler(n_startup_trials=5)


def draw_setting(opened: stores.OpenStudy, say) -> tuple[Any, int] | None:
    """A tpe study's next setting, drawn by Optuna's TPE sampler from the trials so far, while fewer than
    n_settings were drawn: its first seed's trial (claimed by this worker), the other seeds queued."""
    import warnings

    from advnets.studies.calibrate import calibrate
    from advnets.studies.spec import named_points, suggest

    spec = opened.spec
    drawn = {t.user_attrs["setting"] for t in stores.units(opened.study)}
    if len(drawn) >= spec.n_settings:
        return None
    with warnings.catch_warnings():  # (Optuna's advice to beat through optimize(): this worker beats itself)
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
        trial = opened.study.ask()
    (name, overrides), = named_points([suggest(trial, spec.space)]).items()
    while name in drawn:
        name = f"{name}-{trial.number}"
    trial.set_user_attr("setting", name)
    trial.set_user_attr("seed", spec.seeds[0])
    trial.set_user_attr("overrides", list(overrides))
    opened.study.set_user_attr(f"{stores.SETTING_ATTR}{name}", list(overrides))
    opened.spec.settings[name] = tuple(overrides)
    if spec.budget.seconds is not None:
        updates = dict(opened.study.user_attrs.get(stores.UPDATES_ATTR, {}))
        opened.study.set_user_attr(stores.UPDATES_ATTR, calibrate(spec, [name], updates, say))
    for seed in spec.seeds[1:]:
        stores.enqueue(opened.study, name, seed)
    say(f"tpe drew setting {name}: {' '.join(overrides)}")
    return trial, opened.trial_id(trial.number)


def begin_trial(opened: stores.OpenStudy, trial, say) -> tuple[str, int, int, Path, str]:
    """A claimed trial's (setting, seed, updates, run folder, prefix of its lines), recorded on the trial."""
    setting, seed = trial.user_attrs["setting"], trial.user_attrs["seed"]
    run_dir = opened.folder.run_dir(setting, seed)
    updates = opened.updates(setting)
    trial.set_user_attr("run", str(run_dir.relative_to(opened.folder.path)))
    trial.set_user_attr("machine", socket.gethostname())
    prefix = f"trial {trial.number} ({setting}, seed {seed})"
    say(f"{prefix}: training {updates} updates -> {run_dir}")
    return setting, seed, updates, run_dir, prefix


def fail_trial(opened: stores.OpenStudy, trial, reason: str, prefix: str, say) -> bool:
    """The trial failed with `reason` (one line): recorded, and not run again. False."""
    from optuna.trial import TrialState

    trial.set_user_attr("reason", reason)
    opened.study.tell(trial, state=TrialState.FAIL)
    say(f"{prefix}: failed: {reason}")
    return False


def requeue_trial(opened: stores.OpenStudy, trial) -> None:
    """A stop signal: the trial's run is saved; the trial is queued again, to resume where it stopped."""
    from optuna.trial import TrialState

    trial.set_user_attr("reason", "interrupted (queued again)")
    opened.study.tell(trial, state=TrialState.FAIL)
    stores.enqueue(opened.study, trial.user_attrs["setting"], trial.user_attrs["seed"])


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:500] or type(error).__name__


def score_trial(opened: stores.OpenStudy, trial, run_dir: Path, prefix: str, started: float, say) -> bool:
    """The trial's objective on the validation split, told to the storage. True when it is a finite number."""
    spec = opened.spec
    try:
        row = objective_row(spec, run_dir)
    except (AdvnetsError, OSError) as e:
        return fail_trial(opened, trial, one_line(e), prefix, say)
    value = row.get(spec.objective.key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return fail_trial(opened, trial, f"the objective {spec.objective.label} is {value!r}, not a finite number",
                          prefix, say)
    trial.set_user_attr("row", {k: v for k, v in row.items() if isinstance(v, (int, float, str, bool)) or v is None})
    trial.set_user_attr("seconds", round(time.perf_counter() - started, 1))
    opened.study.tell(trial, float(value))
    say(f"{prefix}: {spec.objective.label} = {value:.6g} ({time.perf_counter() - started:.0f} s)")
    return True


def run_trial(opened: stores.OpenStudy, trial, trial_id: int, say) -> bool:
    """Train and score one claimed trial; tell the storage how it ended. True when it finished."""
    setting, seed, updates, run_dir, prefix = begin_trial(opened, trial, say)
    started = time.perf_counter()
    with stores.heartbeat(opened, trial_id):
        try:
            train_trial(opened.spec, setting, seed, updates, run_dir)
        except TrainingInterrupted:
            requeue_trial(opened, trial)
            raise
        except (AdvnetsError, TrainingDiverged, OSError) as e:
            return fail_trial(opened, trial, one_line(e), prefix, say)
        return score_trial(opened, trial, run_dir, prefix, started, say)


def claim_seeds_beside(opened: stores.OpenStudy, trial, members: int) -> list[tuple[Any, int]]:
    """More queued trials of `trial`'s setting (other seeds), claimed to train beside it as members: up to
    `members` in all."""
    more = []
    while len(more) + 1 < members:
        claimed = stores.claim(opened, setting=trial.user_attrs["setting"])
        if claimed is None:
            break
        more.append(claimed)
    return more


def run_members(opened: stores.OpenStudy, batch: list[tuple[Any, int]], say) -> list[bool]:
    """Claimed trials of one setting trained side by side in this process (advnets.members) and scored one by one;
    trained one at a time instead where the setting cannot be stacked (said once). Whether each finished."""
    import contextlib

    from advnets.errors import ConfigError
    from advnets.members import MemberOutcome, check_members, train_members
    from advnets.train.rundir import RunClaim
    from advnets.train.stopping import stop_requests

    begun = [(trial, trial_id, *begin_trial(opened, trial, say)) for trial, trial_id in batch]
    started = time.perf_counter()
    with contextlib.ExitStack() as held:
        for _, trial_id, *_ in begun:
            held.enter_context(stores.heartbeat(opened, trial_id))
        try:
            plans = [trial_plan(opened.spec, setting, seed, updates, run_dir)
                     for _, _, setting, seed, updates, run_dir, _ in begun]
        except (AdvnetsError, OSError) as e:
            return [fail_trial(opened, trial, one_line(e), prefix, say) for trial, *_, prefix in begun]
        to_train = [(plan, entry) for plan, entry in zip(plans, begun) if plan is not None]
        try:
            if to_train:
                check_members([plan for plan, _ in to_train])
        except ConfigError as e:
            say(f"setting {begun[0][2]}: its {len(begun)} seeds trained one at a time, not side by side ({e})")
            held.close()
            return [run_trial(opened, trial, trial_id, say) for trial, trial_id in batch]
        outcomes: dict[int, MemberOutcome] = {}
        if to_train:
            dirs = [entry[5] for _, entry in to_train]
            try:
                with contextlib.ExitStack() as claims, stop_requests() as stop:
                    for run_dir in dirs:  # (given up before the runs are scored)
                        claims.enter_context(RunClaim.folder(run_dir))
                    done = train_members([plan for plan, _ in to_train], dirs, stop)
            except TrainingInterrupted:
                for trial, *_ in begun:
                    requeue_trial(opened, trial)
                raise
            except (AdvnetsError, OSError) as e:
                return [fail_trial(opened, trial, one_line(e), prefix, say) for trial, *_, prefix in begun]
            outcomes = {outcome.seed: outcome for outcome in done}
        return [fail_trial(opened, trial, one_line(outcomes[seed].failure), prefix, say)
                if seed in outcomes and outcomes[seed].failure
                else score_trial(opened, trial, run_dir, prefix, started, say)
                for trial, _, _, seed, _, run_dir, prefix in begun]


def trial_plan(spec: StudySpec, setting: str, seed: int, updates: int, run_dir: Path):
    """The plan that trains the trial's run to `updates` (a new run, or its folder's run resumed), or None when
    it was trained before its worker stopped (only its score is missing)."""
    from advnets.config import load_config
    from advnets.train import plan_training
    from advnets.train.checkpoint import TRAINING_STATE
    from advnets.train.resume import resume_config

    overrides = spec.trial_overrides(setting, seed, updates)
    if (run_dir / TRAINING_STATE).exists():
        cfg, header = resume_config(run_dir, spec.base, overrides)
        if header is not None and header["step"] >= updates:
            return None
        return plan_training(cfg, resume=header is not None)
    return plan_training(load_config(spec.base, overrides))


def train_trial(spec: StudySpec, setting: str, seed: int, updates: int, run_dir: Path) -> None:
    """The trial's run trained to `updates`: a new run, or its folder's run resumed (its config must be the
    setting's: advnets.train.resume refuses any other change)."""
    from advnets.train import train

    plan = trial_plan(spec, setting, seed, updates, run_dir)
    if plan is not None:  # (None: trained before its worker stopped; only its score is missing)
        train(plan, run_dir)


def objective_row(spec: StudySpec, run_dir: Path) -> dict[str, Any]:
    """The objective's metric for the run's generator (the one `advnets sample` reads) on the validation split,
    appended to the run's metrics.jsonl."""
    from advnets.metrics import registry as metrics
    from advnets.metrics.spec import MetricRequest
    from advnets.snapshot import load_snapshot

    objective = spec.objective
    snap = load_snapshot(run_dir)
    split = "valid" if "split" in metrics.get(objective.metric).options else None  # synthetic data has no splits
    row = metrics.evaluate(objective.metric, snap, MetricRequest(n_samples=objective.n_samples,
                                                                 seed=objective.sample_seed, split=split))
    metrics.append_metrics(snap.path, row)
    return row


def run_workers(folder: stores.StudyFolder, workers: int, storage: str | None = None, members: int = 1,
                say=print) -> int:
    """`workers` worker processes on this machine, sharing its cores (PyTorch's threads divided among them, said
    here and in each trial's sessions.jsonl); returns the worst exit status. A stop signal reaches every worker
    (the terminal's process group): each saves its trial and queues it again."""
    import os
    import subprocess
    import sys

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cores // workers)
    say(f"study {folder.name}: {workers} workers x {threads} thread{'s' if threads > 1 else ''} ({cores} cores)")
    argv = [sys.executable, "-m", "advnets", "study", "run", str(folder.path), "--workers", "1"]
    argv += ["--storage", storage] if storage else []
    argv += ["--members", str(members)] if members > 1 else []
    processes = [subprocess.Popen(argv, env={**os.environ, "OMP_NUM_THREADS": str(threads),
                                             "ADVNETS_STUDY_WORKER": str(i)}) for i in range(workers)]
    try:
        return max(p.wait() for p in processes)
    except KeyboardInterrupt:  # the workers got the signal too: wait for them to save and say so
        return max(p.wait() for p in processes)
