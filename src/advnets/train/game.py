"""The game's state, and how a config becomes one.

:class:`Game` holds everything one training iteration touches (networks, optimizers, data source,
random generator, the optional moving average of G and joint inference network, update counters)
and applies one network's update (:meth:`Game.apply_update`: its scheduled rate and momentum, the
optimizer step, the weight-norm constraint, the counters, then what follows a G update). The order of
the updates is Algorithm 1's (advnets.train.algorithm); the rates are advnets.train.schedules'.

:func:`build_game` assembles a fresh game from a config: the training source its data set's spec
asks for, the networks initialised from the run's "init" stream (advnets.runtime), G started from a
trained G when the config says so (generator.init_from), optimizers, and the "game" stream.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from advnets import runtime
from advnets.config import Config
from advnets.distributed import SINGLE, Ranks, average_, check_batch_size
from advnets.data import preprocess as preprocessing
from advnets.data import registry as datasets
from advnets.data.sources import DataSource, MixtureSource, TensorSource
from advnets.errors import ConfigError
from advnets.fileio import file_sha256
from advnets.models import build_discriminator, build_generator
from advnets.models.mlp import constrain_column_norms_
from advnets.models.stacking import stack_onto
from advnets.snapshot import load_snapshot, resolve_snapshot_path
from advnets.train import schedules
from advnets.train.ema import GeneratorAverage
from advnets.train.joint_encoder import JointEncoder
from advnets.train.optim import build_optimizer, takes_tensor_rates


class Game:
    """Everything one training iteration touches. Networks never own their optimizers.

    The update counts live twice, advanced by the same code: on the device (``d_count``, ``g_count``:
    what the schedules inside a step read, without a host synchronisation) and on the host
    (``d_updates``, ``g_updates``: what logs and checkpoints read)."""

    def __init__(self, cfg: Config, generator: nn.Module, discriminator: nn.Module, opt_d: torch.optim.Optimizer,
                 opt_g: torch.optim.Optimizer, data: DataSource, rng: torch.Generator,
                 average: GeneratorAverage | None = None, encoder: JointEncoder | None = None,
                 initialised_from: dict | None = None, ranks: Ranks = SINGLE):
        self.cfg, self.generator, self.discriminator = cfg, generator, discriminator
        self.opt_d, self.opt_g, self.data = opt_d, opt_g, data
        self.rng = rng  # the "game" stream: noise, dropout masks, training masks; saved with the training state
        self.average = average  # train.ema_decay > 0: the moving average of G's weights
        self.encoder = encoder  # inference.joint: E: x -> z trained alongside
        self.initialised_from = initialised_from  # generator.init_from: where G's last layers came from
        self.ranks = ranks  # under torch.distributed: this process's rank; its gradients are averaged over all
        self.local_batch_size = check_batch_size(cfg.train.batch_size, ranks)  # this rank's share of a minibatch
        self.d_params = list(discriminator.parameters())
        self.g_params = list(generator.parameters())
        self.d_count = torch.zeros((), dtype=torch.int64, device=data.device)
        self.g_count = torch.zeros((), dtype=torch.int64, device=data.device)
        self._d_updates = self._g_updates = 0
        # Every learning rate is the schedule's times this factor: 1 unless train.on_nonfinite=rollback
        # halved it after a divergence (on the device, like the counts, for a captured graph to read).
        self.lr_scale = torch.ones((), dtype=torch.float64, device=data.device)
        self._lr_scale = 1.0
        self.rollbacks = 0  # how many times this run went back to a checkpoint after a divergence

    def set_lr_scale(self, value: float) -> None:
        self.lr_scale.fill_(value)
        self._lr_scale = float(value)

    @property
    def lr_scale_value(self) -> float:
        return self._lr_scale

    @property
    def d_updates(self) -> int:
        return self._d_updates

    @property
    def g_updates(self) -> int:
        return self._g_updates

    def set_update_counts(self, d_updates: int, g_updates: int) -> None:
        """Both copies of both counts (a restored training state)."""
        self._d_updates, self._g_updates = int(d_updates), int(g_updates)
        self.d_count.fill_(self._d_updates)
        self.g_count.fill_(self._g_updates)

    def count_on_host(self, d_updates: int, g_updates: int) -> None:
        """Move the host's counts on by updates the device has made (a replayed CUDA graph's)."""
        self._d_updates += d_updates
        self._g_updates += g_updates

    def current_lr(self, network: str) -> float:
        """The rate of `network`'s next update ("d" or "g"), for the logs."""
        return float(schedules.network_learning_rate(self.cfg.optim, network, self.d_updates, self.g_updates)
                     * self._lr_scale)

    def current_momentum(self) -> float:
        return float(schedules.momentum(self.cfg.optim, self.data.epoch))

    def _rates(self, network: str, opt: torch.optim.Optimizer) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """(lr, momentum) of `network`'s next update: device tensors from the device counts where the
        optimizer takes them (no host synchronisation), else numbers from the host counts."""
        o = self.cfg.optim
        if takes_tensor_rates(opt):
            return (schedules.network_learning_rate(o, network, self.d_count, self.g_count) * self.lr_scale,
                    schedules.momentum(o, self.data.epoch_tensor()))
        return self.current_lr(network), self.current_momentum()

    def apply_update(self, network: str) -> None:
        """Step `network`'s optimizer ("d" or "g") with its scheduled lr and momentum, then apply
        the network's weight-norm constraint if it has one, and count the update. After a G update,
        G's moving average and the joint E (when kept) follow."""
        opt = self.opt_d if network == "d" else self.opt_g
        if self.ranks.distributed:  # the global minibatch's gradient: the mean of the ranks' (distributed.py)
            params = self.d_params if network == "d" else self.g_params
            for p in params:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
            average_([p.grad for p in params], self.ranks)
        lr, mu = self._rates(network, opt)
        for group in opt.param_groups:
            group["lr"] = lr
            if "momentum" in group:
                group["momentum"] = mu
        opt.step()
        max_norm = (self.cfg.discriminator if network == "d" else self.cfg.generator).max_col_norm
        if max_norm is not None:
            constrain_column_norms_(self.discriminator if network == "d" else self.generator, max_norm)
        if network == "d":
            self.d_count.add_(1)
            self._d_updates += 1
        else:
            self.g_count.add_(1)
            self._g_updates += 1
            if self.average is not None:
                self.average.update(self.generator, self.g_count)
            if self.encoder is not None:
                self.encoder.update(self.generator)

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
        return torch.autocast(device, dtype=torch.bfloat16, enabled=self.cfg.train.precision == "bf16",
                              cache_enabled=device != "cuda")

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


def build_source(cfg: Config, device: torch.device, ranks: Ranks = SINGLE) -> DataSource:
    """The training source named by ``cfg.data`` (for file data sets: the paper's train split); under
    torch.distributed, this rank's share of each global minibatch."""
    spec = datasets.get(cfg.data.name)
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
    check_batch_size(cfg.train.batch_size, ranks)
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
    o = cfg.optim
    opt_d = build_optimizer(o, D.parameters(), o.d_lr or o.lr)
    opt_g = build_optimizer(o, G.parameters(), o.g_lr or o.lr)
    rng = runtime.stream("game", cfg.seed, device, index=ranks.rank)
    average = GeneratorAverage(G, cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
    encoder = None
    if cfg.inference.joint:
        encoder = JointEncoder(G, cfg.inference.hidden, cfg.inference.lr, cfg.train.batch_size, cfg.seed)
    return Game(cfg, G, D, opt_d, opt_g, data, rng, average, encoder, initialised_from=initialised_from, ranks=ranks)


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
