"""Whether a run fits its data and its device, judged before anything is created; and how many CPU
threads it trains on.

A minibatch larger than the training split, or networks and activations larger than the device's
memory, would otherwise fail deep inside PyTorch (an allocation traceback, after the run folder and
its step-0 checkpoint exist). A planned run (advnets.train.plan) measures its networks once on the meta
device (advnets.models.footprint.network_sizes: no memory is allocated); :func:`training_budget` adds up
what the run keeps from those sizes and :func:`check_training_fits` refuses what does not fit, in one line.

What one process keeps while it trains:

    weights        G, D, G's moving average, the joint E (their parameters and buffers)
    gradients      one per parameter, and the optimizer's buffers (momentum SGD: one, Adam: two)
    activations    what one iteration's forward passes keep for the backward pass, twice (their gradients)
    data           the training split on the device (uint8 pixels) and two epochs' orders (int64)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from advnets.config import Config
from advnets.distributed import SINGLE, Ranks
from advnets.errors import ConfigError
from advnets.models.footprint import NetworkSizes, network_sizes
from advnets.runtime import available_memory, format_bytes

OPTIMIZER_BUFFERS = {"momentum-sgd": 1, "adam": 2}  # per parameter


@dataclass(frozen=True)
class Budget:
    """What one process of a run keeps, by part (bytes), and what its device has available (None: unknown)."""

    parts: dict[str, int]
    available: int | None

    @property
    def need(self) -> int:
        return sum(self.parts.values())


def footprint(sizes: NetworkSizes, optimizer: str, x_shape: tuple[int, ...], n_train: int | None) -> dict[str, int]:
    """Bytes one process of a run keeps, by part (see the module docstring), from its measured networks."""
    data = n_train * (math.prod(x_shape) + 3 * 8) if n_train else 0  # pixels, two orders, a label
    optimizer_state = sizes.trained * (1 + OPTIMIZER_BUFFERS[optimizer])  # gradients, momentum / Adam's moments
    return {"weights": sizes.weights, "gradients and optimizer buffers": optimizer_state,
            "activations": 2 * sizes.activations, "data": data}


def training_budget(sizes: NetworkSizes, optimizer: str, x_shape: tuple[int, ...], n_train: int | None,
                    device: torch.device) -> Budget:
    """The run's footprint beside the memory `device` has available now (the CPU's memory is shared by the
    ranks torchrun starts on a machine)."""
    available = available_memory(device)
    if available is not None and device.type == "cpu":
        available //= max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))  # torchrun's ranks on this machine
    return Budget(footprint(sizes, optimizer, x_shape, n_train), available)


def check_training_fits(batch_size: int, n_train: int | None, data_title: str, budget: Budget,
                        device: torch.device) -> None:
    """Refuse, in one line, a minibatch larger than the training split (`n_train` examples of `data_title`;
    None: synthetic data, no split) and a run larger than what `device` has available."""
    if n_train is not None and batch_size > n_train:
        raise ConfigError(f"train.batch_size {batch_size} exceeds the {n_train} examples of {data_title}'s "
                          f"training split; choose at most {n_train}")
    if budget.available is not None and budget.need > budget.available:
        shown = ", ".join(f"{name} {format_bytes(n)}" for name, n in sorted(budget.parts.items(), key=lambda p: -p[1])
                          if n)
        raise ConfigError(f"this run needs about {format_bytes(budget.need)} of memory ({shown}) and {device} has "
                          f"{format_bytes(budget.available)} available; make the networks (generator.hidden, "
                          "generator.z_dim, discriminator.hidden) or train.batch_size smaller")


# Below this many multiply-adds per update (the 1-D and 2-D presets: about 5 M), OpenMP's threads cost more
# than they bring: they spin between the many tiny operations, and beside one busy process a tiny step ran
# 10x slower on 2 threads than on 1 (docs/benchmarks.md). The image networks (1.5 G for the paper's MNIST
# step) use every core.
SMALL_UPDATE_MACS = 20_000_000


def choose_threads(cfg: Config, ranks: Ranks = SINGLE, available: int | None = None,
                   update_macs: int | None = None) -> tuple[int, str]:
    """The CPU threads a run of `cfg` uses, and why: `threads` when the config sets it; else one for small
    updates and `available` (PyTorch's own count: the cores, or $OMP_NUM_THREADS) for the rest.
    `update_macs`: one update's multiply-adds when measured already (a planned run's), else measured here."""
    available = available or torch.get_num_threads()
    if cfg.threads:
        return cfg.threads, "threads set in the config"
    if update_macs is None:
        from advnets.data import registry

        update_macs = network_sizes(cfg, registry.for_config(cfg.data).x_shape,
                                    cfg.train.batch_size // ranks.world_size).update_macs
    if update_macs < SMALL_UPDATE_MACS:
        return 1, f"auto: {update_macs / 1e6:.1f} M multiply-adds per update, below {SMALL_UPDATE_MACS / 1e6:.0f} M"
    return available, f"auto: {update_macs / 1e6:.0f} M multiply-adds per update, every thread PyTorch has"
