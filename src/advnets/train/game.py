"""The game's state, and how a config becomes one.

:class:`Game` holds everything one training iteration touches: the two players ``d`` and ``g``
(network, optimizer, schedule and update count each: advnets.train.player), the data source, the
random stream, the step's rules (advnets.train.rules), the optional moving average of G and joint
inference network. The order of the updates is Algorithm 1's (advnets.train.algorithm).

:func:`build_game` assembles a fresh game from a config: the training source its data set's spec
asks for, the networks initialised from the run's "init" stream (advnets.runtime), G started from a
trained G when the config says so (generator.init_from), optimizers, and the "game" stream.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from advnets import runtime
from advnets.config import Config, FoundImages, check_against_data
from advnets.distributed import SINGLE, Collectives, Ranks, check_batch_size
from advnets.data import preprocess as preprocessing
from advnets.data import registry as datasets
from advnets.data.sources import DataSource, MixtureSource, TensorSource
from advnets.errors import ConfigError
from advnets.fileio import file_sha256
from advnets.models import build_discriminator, build_generator
from advnets.models.stacking import stack_onto
from advnets.mirrored import Mirrored
from advnets.snapshot import load_snapshot, resolve_snapshot_path
from advnets.train import schedules
from advnets.train.ema import GeneratorAverage
from advnets.train.joint_encoder import JointEncoder
from advnets.train.optim import build_optimizer
from advnets.train.player import Player
from advnets.train.rules import StepRules


class Game:
    """Everything one training iteration touches: the two players (``d``, ``g``: network, optimizer,
    update count; advnets.train.player), the data source, the "game" random stream, the step's rules,
    the learning-rate factor, and what follows G (its moving average, the joint inference network)."""

    def __init__(self, rules: StepRules, d: Player, g: Player, data: DataSource, rng: torch.Generator,
                 average: GeneratorAverage | None = None, encoder: JointEncoder | None = None,
                 initialised_from: dict | None = None, collectives: Collectives | None = None):
        self.rules = rules  # what the step needs to know of the config (advnets.train.algorithm)
        self.d, self.g, self.data = d, g, data
        self.rng = rng  # the "game" stream: noise, dropout masks, training masks; saved with the training state
        self.average = average  # train.ema_decay > 0: the moving average of G's weights
        self.encoder = encoder  # inference.joint: E: x -> z trained alongside
        self.initialised_from = initialised_from  # generator.init_from: where G's last layers came from
        # under torch.distributed: the ranks' collectives (gradients, statistics, stop agreement, gathering)
        self.collectives = collectives or Collectives(SINGLE, data.device)
        self.ranks = self.collectives.ranks  # this process's rank, and how many there are
        # Every learning rate is the schedule's times this factor: 1 unless train.on_nonfinite=rollback
        # halved it after a divergence (on the device too, for a captured graph to read).
        self.lr_factor = Mirrored(1.0, data.device, torch.float64)
        self.rollbacks = 0  # how many times this run went back to a checkpoint after a divergence
        if average is not None:
            g.followers.append(lambda: average.update(g.net, g.updates.tensor))
        if encoder is not None:
            g.followers.append(lambda: encoder.update(g.net))

    def update(self, player: Player) -> None:
        """One optimizer step of `player` (game.d or game.g) from its gradients (Player.update)."""
        player.update(self.lr_factor, self.data)

    def set_update_counts(self, d_updates: int, g_updates: int) -> None:
        """Both copies of both counts (a restored training state)."""
        self.d.updates.set(d_updates)
        self.g.updates.set(g_updates)

    def current_momentum(self) -> float:
        return float(schedules.momentum(self.g.schedule, self.data.epoch))

    @property
    def average_model(self) -> nn.Module | None:
        """G's moving average (train.ema_decay > 0), which samples and validation read; else None."""
        return self.average.model if self.average is not None else None

    @property
    def encoder_model(self) -> nn.Module | None:
        """The joint inference network E (inference.joint), else None."""
        return self.encoder.model if self.encoder is not None else None

    def autocast(self) -> torch.autocast:
        """Mixed precision for the forward passes when train.precision is bf16 (else a no-op). On CUDA,
        where the iteration may be captured as a graph, the weights' casts are not cached (a cached cast
        would not be redone at a replay); the values are the same either way."""
        device = self.data.device.type
        return torch.autocast(device, dtype=torch.bfloat16, enabled=self.rules.bf16, cache_enabled=device != "cuda")

    def generators(self) -> list[torch.Generator]:
        """Every random generator a training iteration draws from (a captured step registers them)."""
        return [self.rng] + ([self.data.rng] if isinstance(self.data, MixtureSource) else [])

    def replace_generators(self) -> None:
        """New generator objects in the same states for every one of generators() (after a failed CUDA-graph
        capture, whose registered generators may be left unusable)."""
        self.rng = _fresh_copy(self.rng)
        if isinstance(self.data, MixtureSource):
            self.data.rng = _fresh_copy(self.data.rng)


def _fresh_copy(generator: torch.Generator) -> torch.Generator:
    fresh = torch.Generator(generator.device)
    try:
        fresh.set_state(generator.get_state())
    except RuntimeError:  # unreadable: the caller restores a saved state into it next
        pass
    return fresh


def with_data_found(cfg: Config, resume: bool = False) -> Config:
    """`cfg` with what its data set is, once its content is known: for your images (data.name images), what was
    read (data.found: key, files, shape, classes), which config.yaml and every snapshot then carry, checked
    against the networks (conditional labels, convolution sizes). A new run reads its images afresh (a record
    copied in with another run's config.yaml is not its own); a resumed one keeps its record, so that changed
    images are refused. Other configs as they are."""
    if not resume and cfg.data.found is not None:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, found=None))
    spec = datasets.for_config(cfg.data)
    if spec.source is None:
        return cfg
    check_against_data(cfg, spec)
    found = FoundImages(**spec.source)
    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, found=found))


def build_source(cfg: Config, device: torch.device, ranks: Ranks = SINGLE) -> DataSource:
    """The training source named by ``cfg.data`` (for file data sets: the paper's train split); under
    torch.distributed, this rank's share of each global minibatch."""
    spec = datasets.for_config(cfg.data)
    share = (ranks.rank, ranks.world_size)
    if spec.is_image:
        images, labels = spec.load_pixels("train", cfg.data.dir, cfg.data.download)  # MNIST: [50000, 1, 28, 28]
        pixels = torch.from_numpy(images)
        preprocess = preprocessing.for_data(cfg.data)
        if cfg.data.conditional:
            return TensorSource(pixels, cfg.train.batch_size, cfg.seed, device, torch.from_numpy(labels),
                                spec.n_classes, share=share, preprocess=preprocess)
        return TensorSource(pixels, cfg.train.batch_size, cfg.seed, device, share=share, preprocess=preprocess)
    return MixtureSource(spec.mixture(cfg.data), cfg.train.batch_size, cfg.seed, device, share=share)


def build_game(cfg: Config, device: torch.device, fresh: bool = True, ranks: Ranks = SINGLE) -> Game:
    """Fresh networks, optimizers, data source and random generator for `cfg`, seeded by cfg.seed.
    `fresh`: the game starts here (G may start from generator.init_from), rather than being
    restored from a training state next. Under torch.distributed (`ranks`), every rank builds the same
    networks from the same seed, and draws noise and dropout from its own stream."""
    local_batch = check_batch_size(cfg.train.batch_size, ranks)  # this rank's share of each minibatch
    if ranks.distributed and cfg.inference.joint:
        raise ConfigError("inference.joint is not available under torchrun yet (its E would need its own "
                          "all-reduce); train without it, then fit E with advnets infer")
    if fresh and cfg.generator.init_from:
        check_init_source(cfg.generator.init_from)  # before any data is loaded
    data = build_source(cfg, device, ranks)
    with runtime.seeded("init", cfg.seed):  # initial weights from the seed, drawn on the CPU
        G = build_generator(cfg, data.x_shape, data.mean())
        D = build_discriminator(cfg, data.x_shape)
    initialised_from = initialise_from(G, cfg.generator.init_from) if fresh and cfg.generator.init_from else None
    G, D = G.to(device).train(), D.to(device).train()
    collectives = Collectives(ranks, device)
    o, reduce = cfg.optim, collectives.reduce_gradients
    d_lr, g_lr = o.d_lr or o.lr, o.g_lr or o.lr
    d = Player("D", D, build_optimizer(o, D.parameters(), d_lr), o, d_lr, cfg.discriminator.max_col_norm, reduce)
    g = Player("G", G, build_optimizer(o, G.parameters(), g_lr), o, g_lr, cfg.generator.max_col_norm, reduce)
    if o.lr_decay_clock == "iterations":
        d.clock = g.updates  # both rates decay per generator update
    rng = runtime.stream("game", cfg.seed, device, index=ranks.rank)
    average = GeneratorAverage(G, cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
    encoder = None
    if cfg.inference.joint:
        encoder = JointEncoder(G, cfg.inference.hidden, cfg.inference.lr, cfg.train.batch_size, cfg.seed)
    rules = StepRules.from_config(cfg, local_batch)
    return Game(rules, d, g, data, rng, average, encoder, initialised_from=initialised_from, collectives=collectives)


# ----------------------------------------------------------------------------------------------
# generator.init_from: G's last layers start as a trained G's (TFD stage 2; models/stacking.py)

REQUIRED = "required"  # a preset's way of saying "this config must be given generator.init_from"


def check_init_source(source: str):
    """The snapshot file `source` names, or one clear error (before any data is loaded)."""
    if source == REQUIRED:
        raise ConfigError("generator.init_from: this config starts from a trained generator "
                          "(e.g. TFD stage 2 from stage 1); pass --set generator.init_from=RUN_DIR_OR_SNAPSHOT")
    return resolve_snapshot_path(source)


@torch.no_grad()
def initialise_from(generator: nn.Module, source: str) -> dict[str, Any]:
    """Copy the trained G found at `source` (a run directory or snapshot) into the last layers of
    `generator`; returns where the weights came from (path, SHA-256, which G, layers copied)."""
    snap = load_snapshot(check_init_source(source), "cpu")
    layers = stack_onto(generator, snap.generator, f"generator.init_from: {snap.path}")
    return {"init_from": str(snap.path), "init_from_sha256": file_sha256(snap.path),
            "init_from_generator": snap.variant, "init_from_step": snap.step, **layers}
