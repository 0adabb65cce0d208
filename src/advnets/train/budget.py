"""Whether a run fits its data and its device, decided before anything is created; and how many CPU
threads it trains on.

A minibatch larger than the training split, or networks and activations larger than the device's
memory, would otherwise fail deep inside PyTorch (an allocation traceback, after the run folder and
its step-0 checkpoint exist). :func:`check_training_fits` measures the config's networks on the meta
device (advnets.models.footprint: no memory is allocated) and refuses such a run in one line.

What one process keeps while it trains:

    weights        G, D, G's moving average, the joint E (their parameters and buffers)
    gradients      one per parameter, and the optimizer's buffers (momentum SGD: one, Adam: two)
    activations    what one iteration's forward passes keep for the backward pass, twice (their gradients)
    data           the training split on the device (uint8 pixels) and two epochs' orders (int64)
"""

from __future__ import annotations

import functools
import math
import os

import torch

from advnets.config import Config
from advnets.data import registry as datasets
from advnets.distributed import SINGLE, Ranks
from advnets.errors import ConfigError
from advnets.models.footprint import activation_bytes, meta_networks, tensor_bytes
from advnets.runtime import available_memory, format_bytes

OPTIMIZER_BUFFERS = {"momentum-sgd": 1, "adam": 2}  # per parameter


def training_split_size(cfg: Config) -> int | None:
    """Examples in the training split of an image data set (read from its files once per process: the
    command line checks before it creates the run folder, train() again); None for synthetic data."""
    if datasets.get(cfg.data.name).from_config is not None:  # your images (their decoded array is cached)
        images, _ = datasets.for_config(cfg.data).load_pixels("train", cfg.data.dir, cfg.data.download)
        return len(images)
    return _split_size(cfg.data.name, cfg.data.dir, cfg.data.download)


@functools.lru_cache(maxsize=8)
def _split_size(name: str, data_dir: str | None, download: bool) -> int | None:
    spec = datasets.get(name)
    if not spec.is_image:
        return None
    images, _ = spec.load_pixels("train", data_dir, download)
    return len(images)


def footprint(cfg: Config, n_train: int | None, local_batch: int) -> dict[str, int]:
    """Bytes one process of a run of `cfg` keeps, by part (see the module docstring)."""
    x_shape = datasets.for_config(cfg.data).x_shape
    nets = meta_networks(cfg, x_shape)
    weights = sum(tensor_bytes(net) for net in nets.values())
    trained = sum(tensor_bytes(net) for name, net in nets.items() if name != "generator_ema")
    data = n_train * (math.prod(x_shape) + 3 * 8) if n_train else 0  # pixels, two orders, a label
    return {"weights": weights, "gradients and optimizer buffers": trained * (1 + OPTIMIZER_BUFFERS[cfg.optim.name]),
            "activations": 2 * activation_bytes(cfg, x_shape, local_batch), "data": data}


def check_training_fits(cfg: Config, device: torch.device, ranks: Ranks = SINGLE,
                        n_train: int | None = None) -> None:
    """Refuse, in one line, a minibatch larger than the training split and a run larger than what
    `device` has available (the CPU's memory is shared by the ranks a machine runs). `n_train`: the
    training split's size when the caller has read it (else read here)."""
    n_train = training_split_size(cfg) if n_train is None else n_train
    t = cfg.train
    if n_train is not None and t.batch_size > n_train:
        raise ConfigError(f"train.batch_size {t.batch_size} exceeds the {n_train} examples of "
                          f"{datasets.for_config(cfg.data).title}'s training split; choose at most {n_train}")
    parts = footprint(cfg, n_train, t.batch_size // ranks.world_size)
    available = available_memory(device)
    if available is None:
        return
    if device.type == "cpu":
        available //= max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))  # torchrun's ranks on this machine
    need = sum(parts.values())
    if need > available:
        shown = ", ".join(f"{name} {format_bytes(n)}" for name, n in sorted(parts.items(), key=lambda p: -p[1]) if n)
        raise ConfigError(f"this run needs about {format_bytes(need)} of memory ({shown}) and {device} has "
                          f"{format_bytes(available)} available; make the networks (generator.hidden, "
                          "generator.z_dim, discriminator.hidden) or train.batch_size smaller")


# Below this many multiply-adds per update (the 1-D and 2-D presets: about 5 M), OpenMP's threads cost more
# than they bring: they spin between the many tiny operations, and beside one busy process a tiny step ran
# 10x slower on 2 threads than on 1 (docs/benchmarks.md). The image networks (1.5 G for the paper's MNIST
# step) use every core.
SMALL_UPDATE_MACS = 20_000_000


def update_macs(cfg: Config, local_batch: int) -> int:
    """Multiply-adds of one update's forward passes, roughly: G's and twice D's weights per example (the
    fully connected layers' count; a convolution reuses its weights, so this undercounts those)."""
    nets = meta_networks(cfg, datasets.for_config(cfg.data).x_shape)
    weights = {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
    return (weights["generator"] + 2 * weights["discriminator"]) * local_batch


def choose_threads(cfg: Config, ranks: Ranks = SINGLE, available: int | None = None) -> tuple[int, str]:
    """The CPU threads a run of `cfg` uses, and why: `threads` when the config sets it; else one for small
    updates and `available` (PyTorch's own count: the cores, or $OMP_NUM_THREADS) for the rest."""
    available = available or torch.get_num_threads()
    if cfg.threads:
        return cfg.threads, "threads set in the config"
    macs = update_macs(cfg, cfg.train.batch_size // ranks.world_size)
    if macs < SMALL_UPDATE_MACS:
        return 1, f"auto: {macs / 1e6:.1f} M multiply-adds per update, below {SMALL_UPDATE_MACS / 1e6:.0f} M"
    return available, f"auto: {macs / 1e6:.0f} M multiply-adds per update, every thread PyTorch has"
