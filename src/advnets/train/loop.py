"""The training loop: Algorithm 1 repeated, with bookkeeping around it.

One readable function, :func:`train`: take the run's lock, build (or restore) the game, checkpoint
step 0, then per iteration run Algorithm 1's iteration (``train_iteration``, eagerly or as a replayed
CUDA graph: train/graph.py) and, every so often, look for NaN/Inf (train/guard.py), let the monitor log
statistics and draw a progress grid, and checkpoint. Statistics are summed on the device and read once
per log interval; between those, the host reads nothing back. The first stop signal (Ctrl-C, SIGTERM,
SIGUSR1) saves the state after the current iteration.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from advnets.config import Config
from advnets import __version__
from advnets.distributed import SINGLE, Ranks, any_rank, average_, gather_to_main, process_group
from advnets.errors import CheckpointError, TrainingDiverged, TrainingInterrupted, shell_command
from advnets.fileio import atomic_write_bytes
from advnets.progress import Progress
from advnets.runtime import cpu_has_bf16_units, environment, resolve_device
from advnets.snapshot import LATEST_SNAPSHOT
from advnets.train.algorithm import STAT_NAMES, named_stats
from advnets.train.budget import check_training_fits, choose_threads
from advnets.train.checkpoint import (TRAINING_STATE, LogInterval, load_training_state, rank_private_state,
                                      restore_training_state, save_training_state)
from advnets.train.game import Game, build_game
from advnets.train.graph import iteration_runner
from advnets.train.guard import find_nonfinite
from advnets.train.monitor import Monitor
from advnets.train.rundir import (CONFIG_FILE, INIT_FROM_FILE, PROBES_FILE, SAMPLES_DIR, STATS_FILE, RunLock, RunLog,
                                  StatsWriter, read_stats, record_session, remove_leftovers, write_config)


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    last_stats: dict


class StopRequest:
    """Set by the first stop signal: the run saves its state after the current iteration and exits."""

    def __init__(self):
        self.event = threading.Event()
        self.signal_name, self.signal_number = "SIGINT", int(signal.SIGINT)
        self.when = 0.0  # time.monotonic() of the first signal

    def is_set(self) -> bool:
        return self.event.is_set()

    def set(self, signum: int) -> None:
        self.signal_name, self.signal_number = signal.Signals(signum).name, int(signum)
        self.when = time.monotonic()
        self.event.set()


# A second stop signal this soon after the first is the same request passed on by a launcher (torchrun
# forwards the Ctrl-C every rank already got from the terminal), not a user's second Ctrl-C.
REPEAT_GRACE_S = 2.0


# Signals that ask a run to stop: Ctrl-C, and what schedulers send before they kill or pre-empt a job
# (SLURM and Kubernetes: SIGTERM; SLURM's --signal=USR1@T: SIGUSR1).
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGUSR1") if hasattr(signal, name))


@contextlib.contextmanager
def stop_requests(restore: bool = True):
    """Turn the first stop signal (Ctrl-C, SIGTERM, SIGUSR1) into a request to stop after the current
    iteration (so the saved state is never half an update); a second one interrupts at once. On leaving,
    the previous handlers come back; with `restore` false (a process that exits next) the signals are
    ignored instead, so that a second Ctrl-C during the exit prints no traceback."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request.is_set():
            if time.monotonic() - request.when < REPEAT_GRACE_S:
                return
            raise KeyboardInterrupt
        request.set(signum)
        again = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        tqdm.write(f"{signal.Signals(signum).name}: stopping after this iteration ({again} again to abort without saving)")

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield request
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if restore else signal.SIG_IGN)


def warn_if_d_rate_floors_early(cfg: Config, say=tqdm.write) -> None:
    """With k > 1 and the rate decayed per update of each optimizer, D's rate decays k times faster
    than G's; say so when it reaches optim.lr_min before the run ends (D then all but stops learning)."""
    o, t = cfg.optim, cfg.train
    if t.schedule != "alternating" or t.k == 1 or o.lr_decay_clock != "updates" or o.lr_decay <= 1:
        return
    base = o.d_lr or o.lr
    if base <= o.lr_min:
        return
    floor_update = math.log(base / o.lr_min) / math.log(o.lr_decay)
    if floor_update < t.k * t.steps:
        say(f"warning: with k={t.k}, D's learning rate decays per D update and reaches optim.lr_min "
                   f"at generator update {math.ceil(floor_update / t.k)} of {t.steps}; "
                   "optim.lr_decay_clock=iterations decays both rates per generator update")


def train(cfg: Config, run_dir: Path, resume: bool = False, lock: RunLock | None = None,
          ranks: Ranks = SINGLE, stop: StopRequest | None = None) -> TrainResult:
    """Train `cfg` in `run_dir` (new and empty, or a run to continue when `resume`), holding the run's
    lock (`lock`, or one taken here) so that no other process trains it meanwhile. Under torchrun
    (`ranks`: advnets.distributed), every rank calls this; rank 0 alone holds the lock and writes.
    `stop`: the stop signals' request when the caller installed the handlers already (else here)."""
    run_dir = Path(run_dir)
    check_training_fits(cfg, resolve_device(cfg.device), ranks)  # before anything is created
    created = False
    if lock is None and ranks.is_main:
        created = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(run_dir)
    requests = contextlib.nullcontext(stop) if stop is not None else stop_requests()
    try:
        with lock or contextlib.nullcontext(), requests as stop:  # a signal while the data loads counts too
            with process_group(ranks, resolve_device(cfg.device)) as device, cpu_threads(cfg, ranks) as threads:
                return _train(cfg, run_dir, resume, stop, ranks, device, threads)
    except BaseException:
        if created and not (run_dir / TRAINING_STATE).exists():  # made here, and nothing worth keeping in it yet
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


@contextlib.contextmanager
def cpu_threads(cfg: Config, ranks: Ranks):
    """PyTorch's CPU threads for the run (advnets.train.budget.choose_threads), put back afterwards; yields
    (threads, why)."""
    before = torch.get_num_threads()
    threads, why = choose_threads(cfg, ranks, before)
    torch.set_num_threads(threads)
    try:
        yield threads, why
    finally:
        torch.set_num_threads(before)


def _train(cfg: Config, run_dir: Path, resume: bool, stop: StopRequest, ranks: Ranks,
           device: torch.device, threads: tuple[int, str]) -> TrainResult:
    main = ranks.is_main  # the one process that writes files and speaks
    log = RunLog(run_dir, quiet=not main)  # what the run says, also kept in log.txt
    if cfg.train.precision == "bf16" and device.type == "cpu" and not cpu_has_bf16_units():
        log.say("warning: train.precision=bf16 on a CPU without bfloat16 instructions (avx512_bf16, amx_bf16): "
                   "expect it to be many times slower than fp32 here (docs/benchmarks.md)")
    warn_if_d_rate_floors_early(cfg, log.say)
    if main:
        check_outputs_writable(run_dir)
        remove_leftovers(run_dir)  # temporary files of writes a kill interrupted
    game = build_game(cfg, device, fresh=not resume, ranks=ranks)
    interval = LogInterval(torch.zeros(len(STAT_NAMES), device=game.data.device))  # summed on the device
    step, elapsed, monitor_state = 0, 0.0, {}
    if resume:
        tensors, header = load_training_state(run_dir)
        step, elapsed = restore_training_state(game, tensors, header, interval, run_dir / TRAINING_STATE)
        monitor_state = header.get("monitor", {})
    if main:
        forget_rows_after(run_dir, step, interval)  # rows the run logs again (a fresh start: all)
        write_config(run_dir, cfg)
    if game.initialised_from is not None and main:
        info = game.initialised_from
        atomic_write_bytes(run_dir / INIT_FROM_FILE, (json.dumps(info, indent=1) + "\n").encode())
        log.say(f"G's last {info['layers_copied']} layers start from {info['init_from']} "
                   f"({info['init_from_generator']} G, step {info['init_from_step']}); {info['layers_new']} new")
    monitor = None
    if main:
        (run_dir / SAMPLES_DIR).mkdir(exist_ok=True)
        monitor = Monitor(game, run_dir, read_stats(run_dir), monitor_state, log.say)
    t = cfg.train
    graph = t.graph
    if ranks.distributed and graph != "off":
        if device.type == "cuda":
            log.say("note: training eagerly under torchrun: the captured CUDA graph does not hold the NCCL "
                    "all-reduce of the gradients yet")
        graph = "off"
    run_iteration = iteration_runner(game, interval.sums, graph, log.say)  # eager, or a replayed CUDA graph
    if not resume:  # from here on the run can be resumed, whenever it stops
        checkpoint(game, run_dir, 0, 0.0, monitor, interval)
    last_row = {}
    where = f"{device}" + (f", rank {ranks.rank} of {ranks.world_size}" if ranks.distributed else "")
    if device.type == "cpu":
        where += f", {threads[0]} thread{'s' if threads[0] > 1 else ''} ({threads[1]})"
    log.copy(f"advnets {__version__}: {'resumed at step ' + str(step) if resume else 'started'}: {cfg.name}, "
             f"{t.steps} steps, on {where}")
    if main:
        record_session(run_dir, {"event": "start", "step": step, "command": sys.argv, "device": str(device),
                                 "threads": threads[0], "threads_why": threads[1], "ranks": ranks.world_size,
                                 **environment()})
    session_started = time.perf_counter()

    def record_end(how: str) -> None:
        if main:
            record_session(run_dir, {"event": "end", "step": step, "how": how, "training_s": round(elapsed, 2),
                                     "session_s": round(time.perf_counter() - session_started, 2)})

    bar = log.progress = Progress(t.steps, cfg.name, "step", initial=step, enabled=t.progress and main,
                                  copy_to=log.copy)
    tick = time.perf_counter()
    while step < t.steps:
        run_iteration()  # Algorithm 1's iteration; its statistics are added into `interval.sums`
        step += 1
        interval.steps += 1
        bar.update(1)
        # read once: a signal may arrive at any moment of this iteration; every rank stops after the same one
        stopping = any_rank(stop.is_set(), ranks, device)
        at_log = step % t.log_every == 0 or step == t.steps
        at_checkpoint = (step % t.checkpoint_every == 0 or (t.snapshot_every and step % t.snapshot_every == 0)
                         or step == t.steps or stopping)
        if at_log or at_checkpoint:
            average_([interval.sums], ranks)  # the ranks' mean: the global minibatch's statistics (linear,
            bad = find_nonfinite(game, interval.sums)  # so averaging again at the log changes nothing)
            if bad:  # nothing of this is written; back to the last checkpoint, or stop
                step, elapsed = recover_from_nonfinite(game, run_dir, step, bad, interval, monitor, log.say)
                bar.reset(step)
                tick = time.perf_counter()
                continue
        if at_log:
            now = time.perf_counter()
            elapsed += now - tick
            seconds = interval.seconds + now - tick
            if main:
                last_row = monitor.log(step, named_stats(interval.sums / interval.steps), interval.steps, seconds,
                                       elapsed)
                bar.set_fields({"D(x)": f"{last_row['d_real']:.3f}", "D(G(z))": f"{last_row['d_fake']:.3f}",
                                "diversity": f"{last_row['diversity']:.2f}",
                                **({"valid": f"{monitor.best_valid:.1f}"} if monitor.best_valid is not None else {})})
            if step % t.log_every == 0:  # a whole interval; the run's last row may be part of one, which
                interval.sums.zero_()    # a resumed run replaces by the whole (forget_rows_after)
                interval.steps, interval.seconds = 0, 0.0
            else:
                interval.seconds = seconds
            tick = time.perf_counter()
        if main and (step % t.sample_every == 0 or step == t.steps):
            monitor.save_samples(step)
        if at_checkpoint:
            now = time.perf_counter()
            elapsed += now - tick
            interval.seconds += now - tick
            tick = now
            checkpoint(game, run_dir, step, elapsed, monitor, interval)
        if stopping and step < t.steps:
            bar.close()
            record_end(f"interrupted by {stop.signal_name}")
            raise TrainingInterrupted(step, run_dir, stop.signal_name, stop.signal_number)
    bar.close()
    if main:
        monitor.close()
    record_end("finished")
    return TrainResult(run_dir, step, last_row)


def checkpoint(game: Game, run_dir: Path, step: int, elapsed: float, monitor: Monitor | None,
               interval: LogInterval) -> None:
    """Save the training state at `step`. Under torchrun every rank calls this (its RNG states are
    gathered: a collective) and rank 0 alone writes."""
    others = gather_rank_states(game)
    if game.ranks.is_main:
        save_training_state(game, run_dir, step, elapsed, monitor.state(), interval, others)


def gather_rank_states(game: Game) -> list[dict[str, torch.Tensor]]:
    """Ranks 1.. 's private states (their random generators), on rank 0; [] elsewhere and for one process."""
    if not game.ranks.distributed:
        return []
    private = rank_private_state(game)
    gathered = {name: gather_to_main(value, game.ranks) for name, value in private.items()}
    if not game.ranks.is_main:
        return []
    return [{name: parts[rank] for name, parts in gathered.items()} for rank in range(1, game.ranks.world_size)]


def check_outputs_writable(run_dir: Path) -> None:
    """Refuse, before any work, a run folder where a file the run writes has been replaced by a folder."""
    for name in (CONFIG_FILE, STATS_FILE, TRAINING_STATE, LATEST_SNAPSHOT, SAMPLES_DIR):
        path = run_dir / name
        if path.exists() and path.is_dir() != (name == SAMPLES_DIR):
            kind = "a file" if name == SAMPLES_DIR else "a folder"
            raise CheckpointError(f"{path} is {kind}, where the run writes its {name}; move it away first")


def forget_rows_after(run_dir: Path, step: int, interval: LogInterval) -> None:
    """Rows that a run continuing from `step` logs again: those after it, and the row at it when that
    ended a run inside a log interval (the continued run logs the whole interval); a torn last line."""
    last_kept = step - 1 if interval.steps else step
    StatsWriter(run_dir).truncate_after(last_kept)
    StatsWriter(run_dir, PROBES_FILE).truncate_after(step)


def recover_from_nonfinite(game: Game, run_dir: Path, step: int, bad: list[str], interval: LogInterval,
                           monitor: Monitor | None, say=tqdm.write) -> tuple[int, float]:
    """After `step` found `bad` (names of non-finite statistics or weights): go back to the last
    checkpoint with the learning rates halved (train.on_nonfinite=rollback, while rollbacks are left);
    returns its (step, elapsed). Otherwise stop: TrainingDiverged, with the checkpoint untouched."""
    t = game.cfg.train
    tensors, header = load_training_state(run_dir)
    last, what = int(header["step"]), ", ".join(bad)
    where = f"step {step}: not finite: {what} (in steps {step - interval.steps + 1}-{step})"
    if t.on_nonfinite == "stop" or game.rollbacks >= t.max_rollbacks:
        kept = f"the last finite checkpoint, step {last}, is intact ({run_dir / TRAINING_STATE}"
        if t.on_nonfinite == "stop":
            advice = shell_command("advnets", "train", "--resume", run_dir, "--set", "train.on_nonfinite=rollback")
            raise TrainingDiverged(f"{where}; stopped without writing it: {kept}); go on from it with halved "
                                   f"learning rates: {advice} (or start again with a smaller optim.lr)")
        # What is left: the checkpoint's own rates and rollback count (a resume starts from those)
        scale, used = float(header.get("lr_scale", 1.0)), int(header.get("rollbacks", 0))
        more = shell_command("advnets", "train", "--resume", run_dir, "--set",
                             f"train.max_rollbacks={t.max_rollbacks + 3}")
        raise TrainingDiverged(
            f"{where}; stopped after {game.rollbacks} rollback(s) (train.max_rollbacks={t.max_rollbacks}) without "
            f"writing it: {kept}, its learning rates x{scale:g} after {used} rollback(s)); each further rollback "
            f"halves them again: {more}, or start again with a smaller optim.lr")
    scale, count = game.lr_scale_value / 2, game.rollbacks + 1
    restored_step, elapsed = restore_training_state(game, tensors, header, interval, run_dir / TRAINING_STATE)
    game.set_lr_scale(scale)
    game.rollbacks = count
    if monitor is not None:  # (rank 0 of a distributed run; every rank restores the same state)
        forget_rows_after(run_dir, restored_step, interval)
        monitor.restore(header.get("monitor", {}), read_stats(run_dir))
    say(f"warning: {where}; rolled back to step {restored_step} with the learning rates x{scale:g} "
               f"(rollback {count} of at most {t.max_rollbacks})")
    return restored_step, elapsed
