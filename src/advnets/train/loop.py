"""The training loop: Algorithm 1 repeated, with bookkeeping around it.

One readable function, :func:`train`: build (or restore) the game, then per iteration run
:func:`train_iteration` and, every so often, log statistics, draw a progress grid and checkpoint.
Statistics are summed on the device and read once per log interval.
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

from advnets.config import Config, to_dict
from advnets.data.sources import MixtureSource, build_source
from advnets.errors import ConfigError
from advnets.fileio import atomic_write_bytes
from advnets.inference import JointEncoder
from advnets.models import build_discriminator, build_generator
from advnets.models.stacking import check_source, initialise_from
from advnets.sampling import generate
from advnets.train import checkpoint as ckpt
from advnets.train.algorithm import STAT_NAMES, Game, train_iteration
from advnets.train.ema import GeneratorAverage
from advnets.train.optim import build_optimizer
from advnets.train.probe import probe_1d
from advnets.train.rundir import INIT_FROM_FILE, PROBES_FILE, StatsWriter, read_stats, write_config
from advnets.viz import save_progress_image

# Diversity = mean pairwise distance of G's samples of a fixed latent batch / that of real data.
# G starts near the mean image (diversity ~0.05 for paper-mnist), so collapse is a *fall*: below
# COLLAPSE_DIVERSITY after having been above HEALTHY_DIVERSITY.
COLLAPSE_DIVERSITY = 0.1
HEALTHY_DIVERSITY = 0.3


class TrainingInterrupted(Exception):
    """Raised after Ctrl-C, once the training state has been saved."""

    def __init__(self, step: int, run_dir: Path):
        super().__init__(f"interrupted at step {step}; state saved, continue with: advnets train --resume {run_dir}")
        self.step = step


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    last_stats: dict


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: '{name}' was asked for but PyTorch sees no CUDA device (use device=cpu)")
    return torch.device(name)


def build_game(cfg: Config, device: torch.device, fresh: bool = True) -> Game:
    """Fresh networks, optimizers, data source and random generator for `cfg`, seeded by cfg.seed.
    `fresh`: the game starts here (G may start from generator.init_from), rather than being
    restored from a training state next."""
    if fresh and cfg.generator.init_from:
        check_source(cfg.generator.init_from)
    data = build_source(cfg, device)
    with torch.random.fork_rng(devices=[]):  # initial weights from the seed, drawn on the CPU
        torch.manual_seed(cfg.seed)
        G = build_generator(cfg, data.x_shape, data.mean())
        D = build_discriminator(cfg, data.x_shape)
    initialised_from = initialise_from(G, cfg.generator.init_from) if fresh and cfg.generator.init_from else None
    G, D = G.to(device).train(), D.to(device).train()
    o = cfg.optim
    opt_d = build_optimizer(o, D.parameters(), o.d_lr or o.lr)
    opt_g = build_optimizer(o, G.parameters(), o.g_lr or o.lr)
    rng = torch.Generator(device).manual_seed(cfg.seed)
    average = GeneratorAverage(G, cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
    encoder = None
    if cfg.inference.joint:
        encoder = JointEncoder(G, cfg.inference.hidden, cfg.inference.lr, cfg.train.batch_size, cfg.seed + 3)
    return Game(cfg, G, D, opt_d, opt_g, data, rng, average, encoder, initialised_from=initialised_from)


# ----------------------------------------------------------------------------------------------
# training state <-> game


def save_state(game: Game, run_dir: Path, step: int, elapsed: float, monitor_state: dict | None = None) -> None:
    """Write the snapshot and the training state (both atomically)."""
    cfg, G, D = game.cfg, game.generator, game.discriminator
    average, encoder = game.average_model, game.encoder_model
    ckpt.save_snapshot(run_dir / ckpt.LATEST_SNAPSHOT, G, D, cfg, step, average, encoder=encoder)
    if cfg.train.snapshot_every and step % cfg.train.snapshot_every == 0:
        ckpt.save_snapshot(run_dir / f"network-{step:08d}.safetensors", G, D, cfg, step, average, encoder=encoder)
    t_d, h_d = ckpt.pack_optimizer("opt_d", game.opt_d)
    t_g, h_g = ckpt.pack_optimizer("opt_g", game.opt_g)
    t_e, h_e = ckpt.pack_optimizer("opt_e", game.encoder.opt) if game.encoder is not None else ({}, None)
    data_state = game.data.state_dict()
    data_tensors = ckpt.with_prefix("data", {k: v for k, v in data_state.items() if isinstance(v, torch.Tensor)})
    header = {
        "config": to_dict(cfg), "step": step, "x_shape": list(G.x_shape), "elapsed_s": elapsed,
        "d_updates": game.d_updates, "g_updates": game.g_updates, "rng_device": game.rng.device.type,
        "opt_d": h_d, "opt_g": h_g, "opt_e": h_e,
        "data": {k: v for k, v in data_state.items() if not isinstance(v, torch.Tensor)},
        "monitor": monitor_state or {},
    }
    tensors = {**ckpt.network_tensors(G, D, average, encoder), **t_d, **t_g, **t_e, **data_tensors,
               "rng": game.rng.get_state()}
    if game.encoder is not None:
        tensors["encoder_rng"] = game.encoder.rng.get_state()
    ckpt.save_training_state(run_dir / ckpt.TRAINING_STATE, header, tensors)


def restore_state(game: Game, tensors: dict[str, torch.Tensor], header: dict) -> tuple[int, float]:
    """Load a saved training state into a freshly built game; returns (step, elapsed seconds)."""
    ckpt.load_networks(game.generator, game.discriminator, tensors, game.average_model, game.encoder_model)
    ckpt.unpack_optimizer("opt_d", game.opt_d, tensors, header["opt_d"])
    ckpt.unpack_optimizer("opt_g", game.opt_g, tensors, header["opt_g"])
    if game.encoder is not None:
        ckpt.unpack_optimizer("opt_e", game.encoder.opt, tensors, header["opt_e"])
    game.data.load_state_dict({**header["data"], **ckpt.strip_prefix("data", tensors)})
    game.d_updates, game.g_updates = header["d_updates"], header["g_updates"]
    if header["rng_device"] == game.rng.device.type:
        game.rng.set_state(tensors["rng"])
        if game.encoder is not None:
            game.encoder.rng.set_state(tensors["encoder_rng"])
    else:  # a CUDA generator state cannot seed a CPU generator: continue, but not bit-identically
        game.rng.manual_seed(game.cfg.seed + header["step"])
        tqdm.write(f"note: resumed on {game.rng.device.type} a run saved on {header['rng_device']}; "
                   "noise and dropout now differ from an uninterrupted run")
    return int(header["step"]), float(header["elapsed_s"])


# ----------------------------------------------------------------------------------------------
# statistics


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean L2 distance between distinct rows of x [n, ...]."""
    flat = x.reshape(len(x), -1).double()
    n = len(flat)
    return float(torch.cdist(flat, flat).sum() / (n * (n - 1))) if n > 1 else 0.0


def fixed_batch_samples(game: Game, z_fixed: torch.Tensor, observed: torch.Tensor | None = None) -> torch.Tensor:
    """G's samples [n, *x_shape] (CPU) of the fixed latent batch; balanced labels if class-conditional;
    completions of the fixed `observed` images if an inpainting model."""
    return generate(game.generator, len(z_fixed), z=z_fixed, observed=observed)


def fixed_observed(game: Game, n: int) -> torch.Tensor | None:
    """An inpainting model's fixed progress inputs: n reference images [x * mask, mask], the named
    masks in turn (left, right, top, bottom halves, center, random half of the pixels)."""
    if not game.cfg.data.inpainting:
        return None
    from advnets.data.masks import pack_observed, named_masks

    x = game.data.reference_batch(n)  # [n, C, H, W]
    names = ("left-half", "right-half", "top-half", "bottom-half", "center", "random:0.5")
    masks = torch.cat([named_masks(names[i % len(names)], 1, tuple(x.shape[-2:]), seed=i) for i in range(n)])
    return pack_observed(x, masks.to(x.device))


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


# ----------------------------------------------------------------------------------------------
# the loop


class Monitor:
    """Per-interval statistics: the means of the step statistics, the schedules, and the diversity
    of G's samples of a fixed latent batch (mode collapse, the "Helvetica scenario", shows as a
    fall of diversity toward 0). Writes ``stats.jsonl`` rows and the progress images."""

    def __init__(self, game: Game, run_dir: Path, peak_diversity: float = 0.0, saved: dict | None = None):
        cfg, device = game.cfg, game.data.device
        self.game, self.run_dir = game, run_dir
        self.writer = StatsWriter(run_dir)
        self.z_fixed = game.generator.sample_z(cfg.train.grid_size, torch.Generator().manual_seed(cfg.seed + 1),
                                               "cpu").to(device)  # [grid_size, z_dim]
        self.real_spread = mean_pairwise_distance(game.data.reference_batch(cfg.train.grid_size))
        self.observed = fixed_observed(game, cfg.train.grid_size)  # inpainting: what the grid completes
        self.peak_diversity = peak_diversity
        self.warned = False
        saved = saved or {}
        # Best validation score and its step, per tracked generator: "" is the one the run samples
        # from (G's moving average when kept, else G); "_live" is G itself, tracked beside an average.
        self.tracks = [""] + (["_live"] if game.average is not None else [])
        self.best = {t: (saved.get(f"best_valid{t}"), saved.get(f"best_step{t}")) for t in self.tracks}
        self.probes = None  # 1-D data: Figure-1 probes with every progress image
        if isinstance(game.data, MixtureSource) and game.data.mixture.dim == 1:
            self.probes = StatsWriter(run_dir, PROBES_FILE)
        self.tensorboard = open_tensorboard(run_dir) if cfg.train.tensorboard else None
        self.validator = None
        if cfg.train.valid_every:
            from advnets.metrics.evaluate import ValidationParzen

            self.validator = ValidationParzen(cfg.data.name, cfg.data.dir, cfg.train.valid_samples, cfg.seed + 2,
                                              device)

    @property
    def best_valid(self) -> float | None:
        return self.best[""][0]

    def state(self) -> dict:
        """What a resumed run needs to go on selecting the best snapshots."""
        return {f"{key}{t}": value for t, (score, step) in self.best.items()
                for key, value in (("best_valid", score), ("best_step", step))}

    def validate(self, step: int) -> dict:
        """Score G (and G's average, if kept) on validation data; keep each one's best snapshot."""
        game, row = self.game, {}
        for track in self.tracks:
            live = track == "_live"
            generator = game.generator if live or game.average is None else game.average.model
            score, sigma = self.validator(generator)
            if self.best[track][0] is None or score > self.best[track][0]:
                self.best[track] = (score, step)
                name = ckpt.BEST_LIVE_SNAPSHOT if live else ckpt.BEST_SNAPSHOT
                ckpt.save_snapshot(self.run_dir / name, game.generator, game.discriminator, game.cfg, step,
                                   None if live else game.average_model, encoder=game.encoder_model)
            row.update({f"parzen_valid{track}": score, f"parzen_sigma{track}": sigma,
                        f"best_valid{track}": self.best[track][0], f"best_step{track}": self.best[track][1]})
        return row

    def log(self, step: int, means: list[float], steps: int, seconds: float, elapsed: float) -> dict:
        game = self.game
        samples = fixed_batch_samples(game, self.z_fixed, self.observed)
        diversity = mean_pairwise_distance(samples) / max(self.real_spread, 1e-12)
        self.peak_diversity = max(self.peak_diversity, diversity)
        collapsed = self.peak_diversity > HEALTHY_DIVERSITY and diversity < COLLAPSE_DIVERSITY
        row = {
            "step": step, "epoch": round(game.data.batches_drawn / game.data.batches_per_epoch, 4),
            **dict(zip(STAT_NAMES, means)),
            "lr": game.current_lr("d"), "lr_g": game.current_lr("g"), "momentum": game.current_momentum(),
            "diversity": diversity, "collapsed": collapsed,
            "steps_per_s": steps / seconds, "wall_s": round(elapsed, 3),
        }
        if self.validator is not None and step % game.cfg.train.valid_every == 0:  # same steps however the run is split
            row.update(self.validate(step))
        self.writer.write(row)
        if self.tensorboard is not None:
            for key, value in row.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.tensorboard.add_scalar(key, float(value), step)
            self.tensorboard.flush()
        if collapsed and not self.warned:
            tqdm.write(f"warning: step {step}: the generator has collapsed: sample diversity fell from "
                       f"{self.peak_diversity:.2f} to {diversity:.3f} (samples nearly identical); "
                       f"D(G(z)) = {means[3]:.3f}")
        self.warned = collapsed
        return row

    def save_samples(self, step: int) -> None:
        game = self.game
        path = self.run_dir / "samples" / f"step-{step:08d}.png"
        save_progress_image(fixed_batch_samples(game, self.z_fixed, self.observed), path,
                            title=f"{game.cfg.name} step {step}")
        if self.tensorboard is not None:
            import numpy as np
            from PIL import Image

            self.tensorboard.add_image("samples", np.asarray(Image.open(path).convert("RGB")), step, dataformats="HWC")
        if self.probes is not None:
            self.probes.write(probe_1d(game.generator, game.discriminator, game.data.mixture, step))


def open_tensorboard(run_dir: Path):
    """A TensorBoard writer for RUN_DIR/tensorboard, or one clear error when the package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("train.tensorboard: the tensorboard package is not installed "
                          "(pip install tensorboard, or set train.tensorboard=false)") from None
    return SummaryWriter(str(run_dir / "tensorboard"))


def cpu_has_bf16_units() -> bool:
    """Whether this CPU has bfloat16 matrix instructions (AVX512-BF16 or AMX); Linux only, else assume so."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


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
        tensors, header = ckpt.load_training_state(run_dir)
        step, elapsed = restore_state(game, tensors, header)
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
    since_log, last_row = 0, {}
    bar = tqdm(total=t.steps, initial=step, disable=not t.progress, desc=cfg.name, unit="step", dynamic_ncols=True)
    tick = time.perf_counter()
    with stop_requests() as stop:
        while step < t.steps:
            sums += train_iteration(game)
            step += 1
            since_log += 1
            bar.update(1)
            if step % t.log_every == 0 or step == t.steps:
                now = time.perf_counter()
                elapsed += now - tick
                last_row = monitor.log(step, (sums / since_log).tolist(), since_log, now - tick, elapsed)
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
                save_state(game, run_dir, step, elapsed + time.perf_counter() - tick, monitor.state())
            if stop.is_set() and step < t.steps:
                bar.close()
                raise TrainingInterrupted(step, run_dir)
    bar.close()
    if monitor.tensorboard is not None:
        monitor.tensorboard.close()
    return TrainResult(run_dir, step, last_row)
