"""The training loop: Algorithm 1 repeated, with bookkeeping around it.

One readable function, :func:`train`: build (or restore) the game, then per iteration run
Algorithm 1's iteration (``train_iteration``, eagerly or as a replayed CUDA graph: train/graph.py) and,
every so often, let the monitor log statistics and draw a progress grid, and checkpoint. Statistics
are summed on the device and read once per log interval; between those, the host reads nothing back.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from advnets.config import Config
from advnets.errors import TrainingInterrupted
from advnets.fileio import atomic_write_bytes
from advnets.runtime import cpu_has_bf16_units, resolve_device
from advnets.train.algorithm import STAT_NAMES, named_stats
from advnets.train.checkpoint import load_training_state, restore_training_state, save_training_state
from advnets.train.game import build_game
from advnets.train.graph import iteration_runner
from advnets.train.monitor import Monitor
from advnets.train.rundir import INIT_FROM_FILE, PROBES_FILE, StatsWriter, read_stats, write_config


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    last_stats: dict


@contextlib.contextmanager
def stop_requests():
    """Turn the first Ctrl-C into a request to stop after the current iteration (so the saved
    state is never half an update); a second Ctrl-C interrupts at once."""
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    def handler(signum, frame):
        if requested.is_set():
            raise KeyboardInterrupt
        requested.set()
        tqdm.write("stopping after this iteration (Ctrl-C again to abort without saving)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield requested
    finally:
        signal.signal(signal.SIGINT, previous)


def warn_if_d_rate_floors_early(cfg: Config) -> None:
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
        tqdm.write(f"warning: with k={t.k}, D's learning rate decays per D update and reaches optim.lr_min "
                   f"at generator update {math.ceil(floor_update / t.k)} of {t.steps}; "
                   "optim.lr_decay_clock=iterations decays both rates per generator update")


def train(cfg: Config, run_dir: Path, resume: bool = False) -> TrainResult:
    """Train `cfg` in `run_dir` (new and empty, or a run to continue when `resume`)."""
    device = resolve_device(cfg.device)
    if cfg.train.precision == "bf16" and device.type == "cpu" and not cpu_has_bf16_units():
        tqdm.write("warning: train.precision=bf16 on a CPU without bfloat16 instructions (avx512_bf16, amx_bf16): "
                   "expect it to be many times slower than fp32 here (docs/benchmarks.md)")
    warn_if_d_rate_floors_early(cfg)
    game = build_game(cfg, device, fresh=not resume)
    step, elapsed, peak_diversity, monitor_state = 0, 0.0, 0.0, {}
    if resume:
        tensors, header = load_training_state(run_dir)
        step, elapsed = restore_training_state(game, tensors, header)
        monitor_state = header.get("monitor", {})
        StatsWriter(run_dir).truncate_after(step)
        StatsWriter(run_dir, PROBES_FILE).truncate_after(step)
        peak_diversity = max((row.get("diversity", 0.0) for row in read_stats(run_dir)), default=0.0)
    write_config(run_dir, cfg)
    if game.initialised_from is not None:
        info = game.initialised_from
        atomic_write_bytes(run_dir / INIT_FROM_FILE, (json.dumps(info, indent=1) + "\n").encode())
        tqdm.write(f"G's last {info['layers_copied']} layers start from {info['init_from']} "
                   f"({info['init_from_generator']} G, step {info['init_from_step']}); {info['layers_new']} new")
    (run_dir / "samples").mkdir(exist_ok=True)
    monitor = Monitor(game, run_dir, peak_diversity, monitor_state)

    t = cfg.train
    sums = torch.zeros(len(STAT_NAMES), device=game.data.device)  # summed on the device, read per log
    run_iteration = iteration_runner(game, sums, t.graph, tqdm.write)  # eager, or a replayed CUDA graph
    since_log, last_row = 0, {}
    bar = tqdm(total=t.steps, initial=step, disable=not t.progress, desc=cfg.name, unit="step", dynamic_ncols=True)
    tick = time.perf_counter()
    with stop_requests() as stop:
        while step < t.steps:
            run_iteration()  # Algorithm 1's iteration; its statistics are added into `sums`
            step += 1
            since_log += 1
            bar.update(1)
            if step % t.log_every == 0 or step == t.steps:
                now = time.perf_counter()
                elapsed += now - tick
                last_row = monitor.log(step, named_stats(sums / since_log), since_log, now - tick, elapsed)
                bar.set_postfix(D_x=f"{last_row['d_real']:.3f}", D_Gz=f"{last_row['d_fake']:.3f}",
                                div=f"{last_row['diversity']:.2f}",
                                **({"valid": f"{monitor.best_valid:.1f}"} if monitor.best_valid is not None else {}))
                sums.zero_()
                since_log = 0
                tick = time.perf_counter()
            if step % t.sample_every == 0 or step == t.steps:
                monitor.save_samples(step)
            numbered_snapshot = t.snapshot_every and step % t.snapshot_every == 0
            if step % t.checkpoint_every == 0 or numbered_snapshot or step == t.steps or stop.is_set():
                save_training_state(game, run_dir, step, elapsed + time.perf_counter() - tick, monitor.state())
            if stop.is_set() and step < t.steps:
                bar.close()
                raise TrainingInterrupted(step, run_dir)
    bar.close()
    monitor.close()
    return TrainResult(run_dir, step, last_row)
