"""Minibatch sources for Algorithm 1: ``x ~ p_data``, resident on the training device.

A source yields batches [m, *x_shape] and knows its epoch (the momentum schedule counts epochs).
Its whole state is small (a counter, maybe a generator state), so resuming is exact. Which source a
run trains on is decided where the game is assembled (``advnets.train.build.build_source``).

Drawing a batch needs no host synchronisation: the count of batches drawn lives on the device
and on the host (``drawn``, a :class:`advnets.mirrored.Mirrored`: the step reads the device copy,
bookkeeping the host's), so that a step captured as a CUDA graph can replay it.
The only host work, giving a training set its next epoch's order, happens in :meth:`DataSource.prepare`,
between steps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

import torch

from advnets import runtime
from advnets.data import toy
from advnets.errors import ConfigError
from advnets.mirrored import Mirrored

SYNTHETIC_EPOCH = 50_000  # examples per nominal "epoch" of an infinite synthetic source (as MNIST)


class DataSource(ABC):
    """Shuffled minibatches of one training distribution."""

    x_shape: tuple[int, ...]
    batch_size: int
    batches_per_epoch: int
    device: torch.device
    n_classes: int = 0  # > 0 when the source has class labels (for conditional models)

    def __init__(self, device: torch.device):
        self.device = device
        self.drawn = Mirrored(0, device)  # batches drawn: the step reads the device copy, bookkeeping the host's

    def _advance(self) -> torch.Tensor:
        """The index of the batch drawn now (a device tensor), moving both counts on."""
        index = self.drawn.tensor.clone()
        self.drawn.advance()
        return index

    @abstractmethod
    def next_batch(self) -> torch.Tensor:
        """The next minibatch, [batch_size, *x_shape] float32 on the source's device."""

    def next_labelled_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next minibatch and its class labels [batch_size] (int64), for conditional models."""
        raise TypeError(f"{type(self).__name__} has no class labels")

    def prepare(self, batches: int) -> bool:
        """Host work before the next `batches` batches are drawn (between steps, never inside one);
        whether they can be served without more of it."""
        return True

    @abstractmethod
    def reference_batch(self, n: int) -> torch.Tensor:
        """A fixed set of n real examples (the same in every run), for diversity statistics."""

    def mean(self) -> torch.Tensor | None:
        """Mean training example [*x_shape] in [0, 1], or None when it has no use (synthetic data)."""
        return None

    @property
    def epoch(self) -> int:
        """1-based number of the epoch the next batch belongs to."""
        return self.drawn.value // self.batches_per_epoch + 1

    def epoch_tensor(self) -> torch.Tensor:
        """The same on the device (int64 0-d), for the schedules inside a step."""
        return self.drawn.tensor // self.batches_per_epoch + 1

    def state_dict(self) -> dict[str, Any]:
        return {"batches_drawn": self.drawn.value}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.drawn.set(int(state["batches_drawn"]))


class TensorSource(DataSource):
    """A fixed training set held on the device as uint8 pixels; x = preprocess(pixels / 255), by default
    the pixels in [0, 1] (data/preprocess.py: the CIFAR presets' contrast normalisation, per batch).

    `batch_size` is the global minibatch; with `share` = (rank, ranks) this source serves that rank's
    slice of it (batch_size / ranks examples), so that the ranks together see exactly the examples one
    process would.

    Each epoch visits the examples in a fresh random order, drawn from (seed, epoch) alone (the
    data-order stream of advnets.runtime), so the order never depends on when a run was stopped and
    resumed. The last partial batch is dropped. The orders of two consecutive epochs wait on the
    device (``prepare`` moves them on), so a step finds its rows by device arithmetic alone.
    """

    def __init__(self, pixels: torch.Tensor, batch_size: int, seed: int, device: torch.device,
                 labels: torch.Tensor | None = None, n_classes: int = 0, share: tuple[int, int] = (0, 1),
                 preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None):
        if len(pixels) < batch_size:
            raise ConfigError(f"train.batch_size {batch_size} exceeds the {len(pixels)} training examples")
        super().__init__(device)
        self.pixels = pixels.to(device)  # [N, *x_shape] uint8
        self.preprocess = preprocess or (lambda x: x)  # [m, *x_shape] in [0, 1] -> the model's space
        self.labels = labels.long().to(device) if labels is not None else None  # [N]
        self.n_classes = n_classes
        self.x_shape = tuple(pixels.shape[1:])
        self.batch_size = batch_size
        self.batches_per_epoch = len(pixels) // batch_size
        self.seed = seed
        self._orders = torch.empty(2, len(pixels), dtype=torch.int64, device=device)  # epochs first, first + 1
        self._first = torch.zeros((), dtype=torch.int64, device=device)  # 0-based epoch of _orders[0]
        self._first_host: int | None = None  # the same on the host; None: nothing loaded yet
        rank, ranks = share  # under torch.distributed: this rank's part of every global minibatch
        local = batch_size // ranks
        self._offsets = torch.arange(rank * local, (rank + 1) * local, device=device)  # [m / ranks]

    def _epoch_order(self, epoch: int) -> torch.Tensor:
        """The permutation of 0-based `epoch` [N] (CPU)."""
        return torch.randperm(len(self.pixels), generator=runtime.stream("data-order", self.seed, index=epoch))

    def prepare(self, batches: int) -> bool:
        first = self.drawn.value // self.batches_per_epoch
        last = (self.drawn.value + batches - 1) // self.batches_per_epoch
        if last - first > 1:
            return False  # more than two epochs in one go: the buffer holds two
        if self._first_host is not None and self._first_host <= first and last <= self._first_host + 1:
            return True
        if self._first_host is not None and first == self._first_host + 1:
            self._orders[0].copy_(self._orders[1])  # the next epoch becomes the current one
        else:
            self._orders[0].copy_(self._epoch_order(first))
        self._orders[1].copy_(self._epoch_order(first + 1))
        self._first_host = first
        self._first.fill_(first)
        return True

    def _next_rows(self) -> torch.Tensor:
        self.prepare(1)  # a no-op when the buffer holds this batch's epoch already (always, in a replay)
        index = self._advance()  # the batch's number, 0-based
        epoch, pos = index // self.batches_per_epoch, index % self.batches_per_epoch
        flat = (epoch - self._first) * len(self.pixels) + pos * self.batch_size + self._offsets  # [m]
        # rows pos*m .. (pos+1)*m - 1 of the epoch's order; of them, this rank's share (the same permutation
        # on every rank, disjoint slices of it)
        return self._orders.view(-1).index_select(0, flat)

    def _examples(self, rows: torch.Tensor) -> torch.Tensor:
        return self.preprocess(self.pixels.index_select(0, rows).float().div_(255.0))  # [len(rows), *x_shape]

    def next_batch(self) -> torch.Tensor:
        return self._examples(self._next_rows())

    def next_labelled_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.labels is None:
            return super().next_labelled_batch()
        rows = self._next_rows()
        return self._examples(rows), self.labels.index_select(0, rows)

    def reference_batch(self, n: int) -> torch.Tensor:
        rows = torch.randperm(len(self.pixels), generator=runtime.stream("reference", self.seed))[:n]
        return self._examples(rows.to(self.device))

    def mean(self) -> torch.Tensor:
        """The mean training image in [0, 1] pixels (before any preprocessing)."""
        return self.pixels.float().mean(0).div_(255.0)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._first_host = None  # the orders are drawn again for the restored position


class MixtureSource(DataSource):
    """An endless stream from a synthetic distribution, drawn with the source's own random generator
    (the data-stream of advnets.runtime), whose state is saved with the training state."""

    def __init__(self, mixture: toy.GaussianMixture, batch_size: int, seed: int, device: torch.device,
                 share: tuple[int, int] = (0, 1)):
        super().__init__(device)
        self.mixture = mixture  # as given (CPU): what probes and metrics read
        self._on_device = toy.GaussianMixture(mixture.means.to(device), mixture.stds.to(device),
                                              mixture.mixture_weights.to(device))  # what batches are drawn from
        self.x_shape = (mixture.dim,)
        self.batch_size = batch_size
        self.batches_per_epoch = max(1, SYNTHETIC_EPOCH // batch_size)
        self.seed = seed
        rank, ranks = share  # under torch.distributed: each rank draws its share from its own stream
        self.local_batch_size = batch_size // ranks
        self.rng = runtime.stream("data-stream", seed, device, index=rank)

    def next_batch(self) -> torch.Tensor:
        self._advance()
        return self._on_device.sample(self.local_batch_size, self.rng, self.device)

    def reference_batch(self, n: int) -> torch.Tensor:
        return self.mixture.sample(n, runtime.stream("reference", self.seed, self.device), self.device)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.rng.set_state(state["rng"].cpu())
