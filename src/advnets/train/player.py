"""One network's side of the game: the network, its optimizer, and everything its updates need.

The game has two players, ``game.d`` and ``game.g``, built alike. :meth:`Player.update` is one
optimizer step, as the released code makes it:

    reduce the gradients (the ranks' mean under torchrun; nothing for one process)
    lr_t = schedule(clock) * lr_factor,  mu_t = momentum(epoch)   (advnets.train.schedules)
    theta <- optimizer step(theta, grad, lr_t, mu_t)
    theta <- max_col_norm constraint (pylearn2's, where the config sets one)
    updates += 1; then what follows each update (G's moving average, the joint inference network)

The rate and momentum are device tensors where the optimizer takes them (our momentum SGD: no host
synchronisation, so that a CUDA graph can replay the step) and Python numbers otherwise (torch's Adam).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from advnets.config import OptimConfig
from advnets.data.sources import DataSource
from advnets.mirrored import Mirrored
from advnets.models.mlp import constrain_column_norms_
from advnets.train import schedules
from advnets.train.optim import takes_tensor_rates

GradientReduce = Callable[[list[torch.Tensor]], None]  # averages the parameters' gradients over the ranks, in place


def keep_gradients(params: list[torch.Tensor]) -> None:
    """One process's gradient reduce: its gradients are the minibatch's already."""


class Player:
    """A network with its optimizer, schedule, update count and weight constraint (see the module docstring)."""

    def __init__(self, name: str, net: nn.Module, opt: torch.optim.Optimizer, schedule: OptimConfig,
                 base_lr: float, max_col_norm: float | None, reduce: GradientReduce = keep_gradients):
        self.name = name  # "D" or "G", for messages
        self.net, self.opt, self.schedule, self.base_lr = net, opt, schedule, base_lr
        self.params = list(net.parameters())
        self.max_col_norm = max_col_norm
        self.reduce = reduce
        self.updates = Mirrored(0, self.params[0].device)  # optimizer steps made
        self.clock = self.updates  # the count its rate decays with (D's may be G's: optim.lr_decay_clock)
        self.followers: list[Callable[[], None]] = []  # run after each update

    def rate(self, lr_factor: Mirrored) -> float:
        """The rate of the next update, on the host (for the logs)."""
        return float(schedules.learning_rate(self.schedule, self.base_lr, self.clock.value) * lr_factor.value)

    def _rates(self, lr_factor: Mirrored, data: DataSource) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """(lr, momentum) of the next update: device tensors from the device counts where the optimizer takes
        them (no host synchronisation), else numbers from the host counts."""
        if takes_tensor_rates(self.opt):
            return (schedules.learning_rate(self.schedule, self.base_lr, self.clock.tensor) * lr_factor.tensor,
                    schedules.momentum(self.schedule, data.epoch_tensor()))
        return self.rate(lr_factor), float(schedules.momentum(self.schedule, data.epoch))

    def update(self, lr_factor: Mirrored, data: DataSource) -> None:
        """One optimizer step from the gradients in the parameters' .grad (see the module docstring)."""
        self.reduce(self.params)
        lr, mu = self._rates(lr_factor, data)
        for group in self.opt.param_groups:
            group["lr"] = lr
            if "momentum" in group:
                group["momentum"] = mu
        self.opt.step()
        if self.max_col_norm is not None:
            constrain_column_norms_(self.net, self.max_col_norm)
        self.updates.advance()
        for follow in self.followers:
            follow()
