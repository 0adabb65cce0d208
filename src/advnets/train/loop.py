"""The training loop: Algorithm 1 repeated, with bookkeeping around it.

:func:`train` reads as its stages: resolve and check the config (advnets.train.plan: nothing is created
before it passes), take the run's folder (locked; advnets.train.rundir), build a :class:`Session` (build or
restore the game, checkpoint step 0), iterate, finish. :func:`iterate` runs, per iteration, Algorithm 1's
iteration (``train_iteration``, eagerly or as a replayed CUDA graph: train/graph.py), then what is due at
that step: a check for NaN/Inf (train/guard.py), a statistics row, a progress grid, a checkpoint.
Statistics are summed on the device and read once per log interval; between those, the host reads nothing
back. The first stop signal (train/stopping.py) saves the state after the current iteration."""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from advnets import __version__
from advnets.config import Config, TrainConfig
from advnets.distributed import SINGLE, Ranks, process_group
from advnets.errors import CheckpointError, ConfigError, TrainingDiverged, TrainingInterrupted, shell_command
from advnets.fileio import atomic_write_bytes
from advnets.progress import Progress
from advnets.runtime import cpu_has_bf16_units, environment
from advnets.snapshot import LATEST_SNAPSHOT
from advnets.train.algorithm import STAT_NAMES, named_stats
from advnets.train.checkpoint import (TRAINING_STATE, LogInterval, checkpoint, load_training_state,
                                      restore_training_state)
from advnets.train.build import build_game
from advnets.train.game import Game
from advnets.train.graph import iteration_runner
from advnets.train.guard import find_nonfinite
from advnets.train.monitor import Monitor
from advnets.train.plan import DataFacts, TrainPlan, plan_training
from advnets.train.rundir import (CONFIG_FILE, INIT_FROM_FILE, PROBES_FILE, SAMPLES_DIR, STATS_FILE, RunClaim, RunLog,
                                  StatsWriter, read_stats, record_session, remove_leftovers, write_config)
from advnets.train.stopping import StopRequest, stop_requests


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    last_stats: dict


def train(cfg: Config | TrainPlan, run_dir: Path, resume: bool = False, claim: RunClaim | None = None,
          ranks: Ranks = SINGLE, stop: StopRequest | None = None) -> TrainResult:
    """Train in `run_dir` (new and empty, or a run to continue): `cfg` a config, resolved here for `ranks` and
    `resume` (advnets.train.plan), or a plan resolved already (its own ranks and resume then). The folder is
    held by `claim`, or by one taken here (locked, and removed again if made here and the run fails before its
    first checkpoint). Under torchrun every rank calls this; rank 0 alone holds the folder and writes. `stop`:
    the stop signals' request when the caller installed the handlers already."""
    plan = cfg if isinstance(cfg, TrainPlan) else plan_training(cfg, ranks, resume)  # resolve and check
    run_dir = Path(run_dir)
    own = claim is None and plan.ranks.is_main
    folder = RunClaim.folder(run_dir) if own else contextlib.nullcontext()
    requests = contextlib.nullcontext(stop) if stop is not None else stop_requests()
    with folder, requests as stop:  # a signal while the data loads counts too
        with process_group(plan.ranks, plan.device), cpu_threads(plan.threads[0]):
            session = Session(plan, run_dir)  # build (or restore) the game; the step-0 checkpoint
            return session.finish(iterate(session, stop))  # Algorithm 1's iterations; the run's last words


def iterate(session: "Session", stop: StopRequest) -> int:
    """Algorithm 1's iterations from the session's step to train.steps, and what is due after each; returns the
    last step. Every rank runs the same iterations and stops after the same one."""
    step = session.step
    while step < session.cfg.train.steps:
        session.run_iteration()  # Algorithm 1's iteration; its statistics are added into the interval's sums
        stopping = session.game.collectives.any(stop.is_set())  # read once: a signal may come at any moment
        step = session.after_iteration(step + 1, stopping, stop)
    return step


class TrainingTime:
    """The seconds a run spends training, its bookkeeping (logging, validation, checkpoints) left out: the
    run's total (`elapsed`, saved with every checkpoint) and the open log interval's (`interval.seconds`)."""

    def __init__(self, interval: LogInterval, elapsed: float = 0.0):
        self.interval, self.elapsed = interval, elapsed
        self._held = False
        self.restart()

    def restart(self) -> None:
        """Training (again) from now on."""
        if not self._held:
            self._since = time.perf_counter()

    @contextlib.contextmanager
    def held(self):
        """Bookkeeping (of this run or of others trained beside it) until the end of the block: not training,
        whatever pauses and restarts happen inside it."""
        self.pause()
        self._held = True
        try:
            yield
        finally:
            self._held = False
            self.restart()

    def pause(self) -> None:
        """Count the seconds since the last restart as training; bookkeeping follows."""
        if self._held:
            return
        lap = time.perf_counter() - self._since
        self.elapsed += lap
        self.interval.seconds += lap


class Session:
    """One training session of a run, from its start (or resumption) to its end or interruption: the game,
    its bookkeeping (monitor, log, progress bar, time) and what is due after an iteration."""

    def __init__(self, plan: TrainPlan, run_dir: Path, member: str = ""):
        """`member`: this run is one of several trained at once (advnets.members, which runs the iterations,
        and gives its label, e.g. "s3"); its lines are printed under that label, without a progress bar."""
        cfg, resume, device = plan.cfg, plan.resume, plan.device
        self.cfg, self.run_dir, self.main = cfg, run_dir, plan.ranks.is_main  # rank 0 alone writes and speaks
        self.log = RunLog(run_dir, quiet=not self.main, label=f"[{member}] " if member else "")  # also in log.txt
        warn_about_settings(cfg, device, self.log.say)
        if self.main:
            check_outputs_writable(run_dir)
            remove_leftovers(run_dir)  # temporary files of writes a kill interrupted
        self.game = game = build_game(plan, fresh=not resume)
        self.interval = LogInterval(torch.zeros(len(STAT_NAMES), device=game.data.device))  # summed on the device
        self.step, elapsed, monitor_state = 0, 0.0, {}
        if resume:
            tensors, header = load_training_state(run_dir)
            check_same_images(cfg, header)
            self.step, elapsed = restore_training_state(game, tensors, header, self.interval, run_dir / TRAINING_STATE)
            monitor_state = header.get("monitor", {})
        self.monitor = self._start_files(monitor_state, plan.data) if self.main else None
        if not member:  # eager, or a replayed CUDA graph
            self._iteration = iteration_runner(game, self.interval.sums, graph_mode(cfg, plan.ranks, device,
                                                                                     self.log.say), self.log.say)
        if not resume:  # from here on the run can be resumed, whenever it stops
            checkpoint(game, cfg, run_dir, 0, 0.0, self.monitor.state() if self.monitor else None, self.interval)
        self.time = TrainingTime(self.interval, elapsed)
        self.last_row: dict = {}
        self._announce(resume, plan.ranks, device, plan.threads)
        t = cfg.train
        self.bar = Progress(t.steps, cfg.name, "step", initial=self.step,
                            enabled=t.progress and self.main and not member, copy_to=self.log.copy)
        self.log.progress = self.bar if not member else None
        self.time.restart()

    def _start_files(self, monitor_state: dict, data: DataFacts) -> Monitor:
        """Rank 0's files at the start: the rows a resumed run logs again dropped, config.yaml, where G started
        from (generator.init_from), the samples folder; returns the run's monitor."""
        run_dir, game = self.run_dir, self.game
        forget_rows_after(run_dir, self.step, self.interval)  # rows the run logs again (a fresh start: all)
        write_config(run_dir, self.cfg)
        if game.initialised_from is not None:
            info = game.initialised_from
            atomic_write_bytes(run_dir / INIT_FROM_FILE, (json.dumps(info, indent=1) + "\n").encode())
            self.log.say(f"G's last {info['layers_copied']} layers start from {info['init_from']} "
                         f"({info['init_from_generator']} G, step {info['init_from_step']}); {info['layers_new']} new")
        (run_dir / SAMPLES_DIR).mkdir(exist_ok=True)
        return Monitor(game, self.cfg, run_dir, read_stats(run_dir), monitor_state, self.log.say, data.spec)

    def _announce(self, resume: bool, ranks: Ranks, device: torch.device, threads: tuple[int, str]) -> None:
        """The start line in log.txt and the session's first row in sessions.jsonl."""
        where = f"{device}" + (f", rank {ranks.rank} of {ranks.world_size}" if ranks.distributed else "")
        if device.type == "cpu":
            where += f", {threads[0]} thread{'s' if threads[0] > 1 else ''} ({threads[1]})"
        self.log.copy(f"advnets {__version__}: {'resumed at step ' + str(self.step) if resume else 'started'}: "
                      f"{self.cfg.name}, {self.cfg.train.steps} steps, on {where}")
        self.started = time.perf_counter()
        if self.main:
            record_session(self.run_dir, {"event": "start", "step": self.step, "command": sys.argv,
                                          "device": str(device), "threads": threads[0], "threads_why": threads[1],
                                          "ranks": ranks.world_size, **environment()})

    def run_iteration(self) -> None:
        self._iteration()
        self.interval.steps += 1
        self.bar.update(1)

    def after_iteration(self, step: int, stopping: bool, stop: StopRequest) -> int:
        """What is due after iteration `step`: a check for NaN/Inf (a rollback returns the step gone back to:
        nothing of the diverged steps is written), a statistics row, samples, a checkpoint (also when
        `stopping`, after which the session's interruption is raised); returns the step the run is at."""
        t = self.cfg.train
        at_log = step % t.log_every == 0 or step == t.steps
        at_checkpoint = (step % t.checkpoint_every == 0 or (t.snapshot_every and step % t.snapshot_every == 0)
                         or step == t.steps or stopping)
        if (at_log or at_checkpoint) and (back_at := self.roll_back_if_nonfinite(step)) is not None:
            return back_at
        if at_log:
            self.record(step)
        if step % t.sample_every == 0 or step == t.steps:
            self.save_samples(step)
        if at_checkpoint:
            self.checkpoint(step)
        if stopping and step < t.steps:
            raise self.interrupted(step, stop)
        return step

    def roll_back_if_nonfinite(self, step: int) -> int | None:
        """After `step`, whether anything is not finite in the interval's statistics (the ranks' mean: the
        global minibatch's; linear, so averaging again at the log changes nothing) or the weights; if so, back
        to the last checkpoint with halved rates (recover_from_nonfinite), returning its step, or
        TrainingDiverged. None when all is finite."""
        self.game.collectives.mean_([self.interval.sums])
        bad = find_nonfinite(self.game, self.interval.sums)
        if not bad:
            return None
        step, self.time.elapsed = recover_from_nonfinite(self.game, self.cfg.train, self.run_dir, step, bad,
                                                         self.interval, self.monitor, self.log.say)
        self.bar.reset(step)
        self.time.restart()
        return step

    def record(self, step: int) -> None:
        """The statistics row of the interval that ends at `step` (a whole interval is then begun anew; the
        run's last row may be part of one, which a resumed run replaces by the whole: forget_rows_after)."""
        self.time.pause()
        interval = self.interval
        if self.main:
            row = self.monitor.log(step, named_stats(interval.sums / interval.steps), interval.steps,
                                   interval.seconds, self.time.elapsed)
            self.last_row = row
            self.bar.set_fields({"D(x)": f"{row['d_real']:.3f}", "D(G(z))": f"{row['d_fake']:.3f}",
                                 "diversity": f"{row['diversity']:.2f}", **({"valid": f"{self.monitor.best_valid:.1f}"}
                                                                           if self.monitor.best_valid is not None else {})})
        if step % self.cfg.train.log_every == 0:
            interval.sums.zero_()
            interval.steps, interval.seconds = 0, 0.0
        self.time.restart()

    def save_samples(self, step: int) -> None:
        if self.monitor is not None:
            self.monitor.save_samples(step)

    def checkpoint(self, step: int) -> None:
        """The training state at `step` (every rank takes part; rank 0 writes)."""
        self.time.pause()
        checkpoint(self.game, self.cfg, self.run_dir, step, self.time.elapsed,
                   self.monitor.state() if self.monitor else None, self.interval)
        self.time.restart()

    def _record_end(self, step: int, how: str) -> None:
        if self.main:
            record_session(self.run_dir, {"event": "end", "step": step, "how": how,
                                          "training_s": round(self.time.elapsed, 2),
                                          "session_s": round(time.perf_counter() - self.started, 2)})

    def ended_alone(self, step: int, how: str) -> None:
        """This run, one of several trained at once, ended before the others (advnets.members): its files
        closed, its end recorded."""
        self.bar.close()
        if self.monitor is not None:
            self.monitor.close()
        self._record_end(step, how)

    def interrupted(self, step: int, stop: StopRequest) -> TrainingInterrupted:
        """The session stopped by a signal after `step` (saved): the error that says so."""
        self.bar.close()
        self._record_end(step, f"interrupted by {stop.signal_name}")
        return TrainingInterrupted(step, self.run_dir, stop.signal_name, stop.signal_number)

    def finish(self, step: int) -> TrainResult:
        self.bar.close()
        if self.monitor is not None:
            self.monitor.close()
        self._record_end(step, "finished")
        return TrainResult(self.run_dir, step, self.last_row)


def check_same_images(cfg: Config, header: dict) -> None:
    """A run on your images resumes only on the images it was trained on (data.found's key)."""
    saved = ((header.get("config") or {}).get("data") or {}).get("found") or {}
    found = cfg.data.found
    if saved.get("sha256") and found is not None and found.sha256 != saved["sha256"]:
        raise ConfigError(f"the images at {cfg.data.path} are not those this run was trained on ({saved.get('files')} "
                          f"files then, {found.files} now, or their sizes or times changed): put them back, or train "
                          "a new run on them")


def graph_mode(cfg: Config, ranks: Ranks, device: torch.device, say) -> str:
    """train.graph, or "off" under torchrun (the captured graph does not hold the gradients' all-reduce yet)."""
    if ranks.distributed and cfg.train.graph != "off":
        if device.type == "cuda":
            say("note: training eagerly under torchrun: the captured CUDA graph does not hold the NCCL "
                "all-reduce of the gradients yet")
        return "off"
    return cfg.train.graph


def warn_about_settings(cfg: Config, device: torch.device, say) -> None:
    """Settings that work but cost: bf16 on a CPU without bf16 units; k > 1 with D's rate flooring early."""
    if cfg.train.precision == "bf16" and device.type == "cpu" and not cpu_has_bf16_units():
        say("warning: train.precision=bf16 on a CPU without bfloat16 instructions (avx512_bf16, amx_bf16): "
            "expect it to be many times slower than fp32 here (docs/benchmarks.md)")
    warn_if_d_rate_floors_early(cfg, say)


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


@contextlib.contextmanager
def cpu_threads(threads: int):
    """PyTorch's CPU threads for the run (the plan's choice: advnets.train.budget.choose_threads), put back
    afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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


def recover_from_nonfinite(game: Game, t: TrainConfig, run_dir: Path, step: int, bad: list[str],
                           interval: LogInterval, monitor: Monitor | None, say=tqdm.write) -> tuple[int, float]:
    """After `step` found `bad` (names of non-finite statistics or weights): go back to the last
    checkpoint with the learning rates halved (train.on_nonfinite=rollback, while rollbacks are left);
    returns its (step, elapsed). Otherwise stop: TrainingDiverged, with the checkpoint untouched. `t`: the
    run's train settings (on_nonfinite, max_rollbacks)."""
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
    scale, count = game.lr_factor.value / 2, game.rollbacks + 1
    restored_step, elapsed = restore_training_state(game, tensors, header, interval, run_dir / TRAINING_STATE)
    game.lr_factor.set(scale)
    game.rollbacks = count
    if monitor is not None:  # (rank 0 of a distributed run; every rank restores the same state)
        forget_rows_after(run_dir, restored_step, interval)
        monitor.restore(header.get("monitor", {}), read_stats(run_dir))
    say(f"warning: {where}; rolled back to step {restored_step} with the learning rates x{scale:g} "
               f"(rollback {count} of at most {t.max_rollbacks})")
    return restored_step, elapsed
