"""Minibatch sources for Algorithm 1: ``x ~ p_data``, resident on the training device.

A source yields batches [m, *x_shape] and knows its epoch (the momentum schedule counts epochs).
Its whole state is small (a counter, maybe a generator state), so resuming is exact. Which source a
run trains on is decided where the game is assembled (``advnets.train.game.build_source``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

from advnets import runtime
from advnets.data import toy

SYNTHETIC_EPOCH = 50_000  # examples per nominal "epoch" of an infinite synthetic source (as MNIST)


class DataSource(ABC):
    """Shuffled minibatches of one training distribution."""

    x_shape: tuple[int, ...]
    batch_size: int
    batches_per_epoch: int
    device: torch.device
    batches_drawn: int = 0
    n_classes: int = 0  # > 0 when the source has class labels (for conditional models)

    @abstractmethod
    def next_batch(self) -> torch.Tensor:
        """The next minibatch, [batch_size, *x_shape] float32 on the source's device."""

    def next_labelled_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next minibatch and its class labels [batch_size] (int64), for conditional models."""
        raise TypeError(f"{type(self).__name__} has no class labels")

    @abstractmethod
    def reference_batch(self, n: int) -> torch.Tensor:
        """A fixed set of n real examples (the same in every run), for diversity statistics."""

    def mean(self) -> torch.Tensor | None:
        """Mean training example [*x_shape] in [0, 1], or None when it has no use (synthetic data)."""
        return None

    @property
    def epoch(self) -> int:
        """1-based number of the epoch the next batch belongs to."""
        return self.batches_drawn // self.batches_per_epoch + 1

    def state_dict(self) -> dict[str, Any]:
        return {"batches_drawn": self.batches_drawn}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches_drawn = int(state["batches_drawn"])


class TensorSource(DataSource):
    """A fixed training set held on the device as uint8 pixels; x = pixels / 255 in [0, 1].

    Each epoch visits the examples in a fresh random order, drawn from (seed, epoch) alone (the
    data-order stream of advnets.runtime), so the order never depends on when a run was stopped and
    resumed. The last partial batch is dropped.
    """

    def __init__(self, pixels: torch.Tensor, batch_size: int, seed: int, device: torch.device,
                 labels: torch.Tensor | None = None, n_classes: int = 0):
        if len(pixels) < batch_size:
            raise ValueError(f"batch size {batch_size} exceeds the {len(pixels)} training examples")
        self.pixels = pixels.to(device)  # [N, *x_shape] uint8
        self.labels = labels.long().to(device) if labels is not None else None  # [N]
        self.n_classes = n_classes
        self.x_shape = tuple(pixels.shape[1:])
        self.batch_size = batch_size
        self.batches_per_epoch = len(pixels) // batch_size
        self.seed = seed
        self.device = device
        self._order_epoch = -1
        self._order = torch.empty(0, dtype=torch.long)

    def _epoch_order(self, epoch: int) -> torch.Tensor:
        if epoch != self._order_epoch:
            g = runtime.stream("data-order", self.seed, index=epoch)
            self._order = torch.randperm(len(self.pixels), generator=g).to(self.device)
            self._order_epoch = epoch
        return self._order

    def _next_rows(self) -> torch.Tensor:
        epoch, pos = divmod(self.batches_drawn, self.batches_per_epoch)
        self.batches_drawn += 1
        return self._epoch_order(epoch)[pos * self.batch_size : (pos + 1) * self.batch_size]

    def next_batch(self) -> torch.Tensor:
        return self.pixels.index_select(0, self._next_rows()).float().div_(255.0)

    def next_labelled_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.labels is None:
            return super().next_labelled_batch()
        rows = self._next_rows()
        return self.pixels.index_select(0, rows).float().div_(255.0), self.labels.index_select(0, rows)

    def reference_batch(self, n: int) -> torch.Tensor:
        rows = torch.randperm(len(self.pixels), generator=runtime.stream("reference", self.seed))[:n]
        return self.pixels[rows.to(self.device)].float().div_(255.0)

    def mean(self) -> torch.Tensor:
        return self.pixels.float().mean(0).div_(255.0)


class MixtureSource(DataSource):
    """An endless stream from a synthetic distribution, drawn with the source's own random generator
    (the data-stream of advnets.runtime), whose state is saved with the training state."""

    def __init__(self, mixture: toy.GaussianMixture, batch_size: int, seed: int, device: torch.device):
        self.mixture = mixture
        self.x_shape = (mixture.dim,)
        self.batch_size = batch_size
        self.batches_per_epoch = max(1, SYNTHETIC_EPOCH // batch_size)
        self.device = device
        self.seed = seed
        self.rng = runtime.stream("data-stream", seed, device)

    def next_batch(self) -> torch.Tensor:
        self.batches_drawn += 1
        return self.mixture.sample(self.batch_size, self.rng, self.device)

    def reference_batch(self, n: int) -> torch.Tensor:
        return self.mixture.sample(n, runtime.stream("reference", self.seed, self.device), self.device)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.rng.set_state(state["rng"].cpu())
