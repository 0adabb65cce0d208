"""What a run records while it trains, every so often, between iterations.

Every train.log_every steps, one ``stats.jsonl`` row: the means of the step statistics over the
interval, the schedules, the diversity of G's samples of a fixed latent batch and the collapse flag
(advnets.metrics.diversity), and every train.valid_every steps the validation score of G (and of G's
moving average, when kept; train.valid_metric, advnets.train.validation), keeping the best snapshot of each
(network-best*.safetensors).
Every train.sample_every steps, the progress grid (``samples/step-*.png``) and, on 1-D data, a
Figure-1 probe (``probes.jsonl``, advnets.metrics.probe_1d). Optionally the same to TensorBoard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from advnets import runtime
from advnets.config import Config
from advnets.data import preprocess as preprocessing
from advnets.data.masks import named_masks, pack_observed
from advnets.data.sources import MixtureSource
from advnets.data.spec import DatasetSpec
from advnets.errors import ConfigError
from advnets.metrics.diversity import (COLLAPSE_DIVERSITY, HEALTHY_DIVERSITY, CollapseWatch, diversity,
                                      mean_pairwise_distance)
from advnets.metrics.probe_1d import probe_1d
from advnets.sampling import generate
from advnets.snapshot import BEST_LIVE_SNAPSHOT, BEST_SNAPSHOT, save_snapshot
from advnets.train.game import Game
from advnets.train.rundir import PROBES_FILE, StatsWriter
from advnets.train.validation import build_validator
from advnets.viz import save_progress_image

# An inpainting model's progress grid completes reference images under these masks, in turn.
PROGRESS_MASKS = ("left-half", "right-half", "top-half", "bottom-half", "center", "random:0.5")


def fixed_observed(game: Game, n: int) -> torch.Tensor | None:
    """An inpainting model's fixed progress inputs: n reference images [x * mask, mask], the
    PROGRESS_MASKS in turn (random:0.5 drawn from the image's index)."""
    if game.rules.condition != "mask":
        return None
    x = game.data.reference_batch(n)  # [n, C, H, W]
    names = PROGRESS_MASKS
    masks = torch.cat([named_masks(names[i % len(names)], 1, tuple(x.shape[-2:]), seed=i) for i in range(n)])
    return pack_observed(x, masks.to(x.device))


def open_tensorboard(run_dir: Path):
    """A TensorBoard writer for RUN_DIR/tensorboard, or one clear error when the package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("train.tensorboard: the tensorboard package is not installed "
                          "(pip install tensorboard, or set train.tensorboard=false)") from None
    return SummaryWriter(str(run_dir / "tensorboard"))


class Monitor:
    """Per-interval statistics, validation and progress images of one run (see the module docstring)."""

    def __init__(self, game: Game, cfg: Config, run_dir: Path, rows: list[dict] | None = None,
                 saved: dict | None = None, say: Callable[[str], None] = tqdm.write, spec: DatasetSpec | None = None):
        """`spec`: the data set's, resolved by the run's plan (else found from cfg.data when validation needs it)."""
        device = game.data.device
        self.game, self.cfg, self.run_dir, self.say = game, cfg, run_dir, say
        self.writer = StatsWriter(run_dir)
        self.z_fixed = game.g.net.sample_z(cfg.train.grid_size, runtime.stream("fixed-batch", cfg.seed),
                                               "cpu").to(device)  # [grid_size, z_dim]
        self.real_spread = mean_pairwise_distance(game.data.reference_batch(cfg.train.grid_size))
        self.observed = fixed_observed(game, cfg.train.grid_size)  # inpainting: what the grid completes
        # Best validation score and its step, per tracked generator: "" is the one the run samples
        # from (G's moving average when kept, else G); "_live" is G itself, tracked beside an average.
        self.tracks = [""] + (["_live"] if game.average is not None else [])
        self.restore(saved or {}, rows or [])
        self.probes = None  # 1-D data: Figure-1 probes with every progress image
        if isinstance(game.data, MixtureSource) and game.data.mixture.dim == 1:
            self.probes = StatsWriter(run_dir, PROBES_FILE)
        self.tensorboard = open_tensorboard(run_dir) if cfg.train.tensorboard else None
        self.validator = None
        if cfg.train.valid_every:
            from advnets.data import registry as datasets

            self.validator = build_validator(cfg, spec or datasets.for_config(cfg.data),
                                             runtime.stream_seed("validation", cfg.seed), device)

    @property
    def best_valid(self) -> float | None:
        return self.best[""][0]

    def restore(self, saved: dict, rows: list[dict]) -> None:
        """Continue from a checkpoint's monitor state (and the stats rows kept, for the collapse rule)."""
        self.best = {t: (saved.get(f"best_valid{t}"), saved.get(f"best_step{t}")) for t in self.tracks}
        self.collapse = CollapseWatch.from_rows(rows)
        self.warned = False

    def state(self) -> dict:
        """What a resumed run needs to go on selecting the best snapshots."""
        return {f"{key}{t}": value for t, (score, step) in self.best.items()
                for key, value in (("best_valid", score), ("best_step", step))}

    def fixed_batch_samples(self, sampled: bool = False) -> torch.Tensor:
        """G's samples [n, *x_shape] (CPU) of the fixed latent batch; balanced labels if class-conditional;
        completions of the fixed observed images if an inpainting model. `sampled`: from the generator
        that `advnets sample` reads (G's moving average when the run keeps one), else the live G."""
        generator = self.game.average.model if sampled and self.game.average is not None else self.game.g.net
        return generate(generator, len(self.z_fixed), z=self.z_fixed, observed=self.observed)

    def validate(self, step: int) -> dict:
        """Score G (and G's average, if kept) on validation data; keep each one's best snapshot."""
        game, row = self.game, {}
        for track in self.tracks:
            live = track == "_live"
            generator = game.g.net if live or game.average is None else game.average.model
            score, extra = self.validator.score(generator)
            if self.validator.better(score, self.best[track][0]):
                self.best[track] = (score, step)
                name = BEST_LIVE_SNAPSHOT if live else BEST_SNAPSHOT
                save_snapshot(self.run_dir / name, game.g.net, game.d.net, self.cfg, step,
                              None if live else game.average_model, encoder=game.encoder_model)
            row.update({f"{self.validator.key}{track}": score, **{f"{k}{track}": v for k, v in extra.items()},
                        f"best_valid{track}": self.best[track][0], f"best_step{track}": self.best[track][1]})
        return row

    def log(self, step: int, means: dict[str, float], steps: int, seconds: float, elapsed: float) -> dict:
        """Write the row of the interval that ends at `step`: `means` of the step statistics over its
        `steps` iterations, which took `seconds`; `elapsed` is the run's training time so far."""
        game = self.game
        value = diversity(self.fixed_batch_samples(), self.real_spread)
        collapsed = self.collapse.collapsed(value, means["d_real"], means["d_fake"])
        row = {
            "step": step, "epoch": round(game.data.drawn.value / game.data.batches_per_epoch, 4),
            **means,
            "lr": game.d.rate(game.lr_factor), "lr_g": game.g.rate(game.lr_factor),
            "momentum": game.current_momentum(),
            "diversity": value, "collapsed": collapsed,
            "steps_per_s": steps / seconds, "wall_s": round(elapsed, 3),
        }
        if self.validator is not None and step % self.cfg.train.valid_every == 0:  # same steps however the run is split
            row.update(self.validate(step))
        self.writer.write(row)
        if self.tensorboard is not None:
            for key, number in row.items():
                if isinstance(number, (int, float)) and key != "step":
                    self.tensorboard.add_scalar(key, float(number), step)
            self.tensorboard.flush()
        if collapsed and not self.warned:
            how = (f"sample diversity fell from {self.collapse.peak:.2f} to {value:.3f}"
                   if self.collapse.peak > HEALTHY_DIVERSITY else
                   f"sample diversity has stayed below {COLLAPSE_DIVERSITY} for {self.collapse.low} log intervals")
            self.say(f"warning: step {step}: the generator has collapsed: {how} (samples nearly identical); "
                       f"D(G(z)) = {means['d_fake']:.3f}")
        self.warned = collapsed
        return row

    def save_samples(self, step: int) -> None:
        game = self.game
        path = self.run_dir / "samples" / f"step-{step:08d}.png"
        which = " (moving average of G)" if game.average is not None else ""
        save_progress_image(self.fixed_batch_samples(sampled=True), path, title=f"{self.cfg.name} step {step}{which}",
                            preprocessing=preprocessing.for_data(self.cfg.data))
        if self.tensorboard is not None:
            import numpy as np
            from PIL import Image

            self.tensorboard.add_image("samples", np.asarray(Image.open(path).convert("RGB")), step, dataformats="HWC")
        if self.probes is not None:
            self.probes.write(probe_1d(game.g.net, game.d.net, game.data.mixture, step))

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
