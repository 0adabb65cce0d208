"""A planned run's game assembled: the training source, the networks, the players, the streams.

:func:`build_game` takes a :class:`~advnets.train.plan.TrainPlan` (the config resolved once: data set,
device, condition, step rules) and builds what :class:`~advnets.train.game.Game` holds: the training source
its data set asks for (:func:`build_source`), the networks initialised from the run's "init" stream
(advnets.runtime), G started from a trained G when the config says so (generator.init_from), the
optimizers, the "game" stream, G's moving average and the joint inference network.
"""

from __future__ import annotations

import torch
from torch import nn

from advnets import runtime
from advnets.config import OptimConfig
from advnets.data import preprocess as preprocessing
from advnets.data.sources import DataSource, MixtureSource, TensorSource
from advnets.distributed import SINGLE, Collectives, Ranks
from advnets.models import build_discriminator, build_generator
from advnets.train.ema import GeneratorAverage
from advnets.train.game import Game
from advnets.train.init_from import initialise_from
from advnets.train.joint_encoder import JointEncoder
from advnets.train.optim import build_optimizer
from advnets.train.plan import DataFacts, TrainPlan
from advnets.train.player import Player


def build_source(data: DataFacts, batch_size: int, seed: int, device: torch.device,
                 ranks: Ranks = SINGLE) -> DataSource:
    """The training source of the resolved data set `data` (for file data sets: the paper's train split), with
    minibatches of `batch_size` in the "data-order" / "data-stream" streams of `seed`; under torch.distributed,
    this rank's share of each global minibatch."""
    spec, config, share = data.spec, data.config, (ranks.rank, ranks.world_size)
    if spec.is_image:
        images, labels = spec.load_pixels("train", config.dir, config.download)  # MNIST: [50000, 1, 28, 28]
        pixels = torch.from_numpy(images)
        preprocess = preprocessing.for_data(config)
        if config.conditional:
            return TensorSource(pixels, batch_size, seed, device, torch.from_numpy(labels), spec.n_classes,
                                share=share, preprocess=preprocess)
        return TensorSource(pixels, batch_size, seed, device, share=share, preprocess=preprocess)
    return MixtureSource(spec.mixture(config), batch_size, seed, device, share=share)


def build_game(plan: TrainPlan, fresh: bool = True) -> Game:
    """Fresh networks, optimizers, data source and random generator for a planned run, seeded by its seed.
    `fresh`: the game starts here (G may start from generator.init_from), rather than being restored from a
    training state next. Under torch.distributed, every rank builds the same networks from the same seed, and
    draws noise and dropout from its own stream."""
    cfg, device, ranks = plan.cfg, plan.device, plan.ranks
    data = build_source(plan.data, cfg.train.batch_size, cfg.seed, device, ranks)
    with runtime.seeded("init", cfg.seed):  # initial weights from the seed, drawn on the CPU
        G = build_generator(cfg, data.x_shape, data.mean(), plan.condition)
        D = build_discriminator(cfg, data.x_shape, plan.condition)
    initialised_from = initialise_from(G, cfg.generator.init_from) if fresh and cfg.generator.init_from else None
    G, D = G.to(device).train(), D.to(device).train()
    collectives = Collectives(ranks, device)
    d, g = _players(cfg.optim, G, D, cfg.discriminator.max_col_norm, cfg.generator.max_col_norm,
                    collectives.reduce_gradients)
    rng = runtime.stream("game", cfg.seed, device, index=ranks.rank)
    average = GeneratorAverage(G, cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
    encoder = None
    if cfg.inference.joint:
        encoder = JointEncoder(G, cfg.inference.hidden, cfg.inference.lr, cfg.train.batch_size, cfg.seed)
    return Game(plan.rules, d, g, data, rng, average, encoder, initialised_from=initialised_from,
                collectives=collectives)


def _players(o: OptimConfig, G: nn.Module, D: nn.Module, d_max_norm: float | None, g_max_norm: float | None,
             reduce) -> tuple[Player, Player]:
    """D's and G's players: each network with its optimizer at its own rate (optim.d_lr / g_lr, else optim.lr)
    and its weight constraint; with optim.lr_decay_clock=iterations both rates decay per generator update."""
    d_lr, g_lr = o.d_lr or o.lr, o.g_lr or o.lr
    d = Player("D", D, build_optimizer(o, D.parameters(), d_lr), o, d_lr, d_max_norm, reduce)
    g = Player("G", G, build_optimizer(o, G.parameters(), g_lr), o, g_lr, g_max_norm, reduce)
    if o.lr_decay_clock == "iterations":
        d.clock = g.updates  # both rates decay per generator update
    return d, g
