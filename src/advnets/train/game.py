"""The game's state: what one training iteration touches.

:class:`Game` holds the two players ``d`` and ``g`` (network, optimizer, schedule and update count each:
advnets.train.player), the data source, the random stream, the step's rules (advnets.train.rules), the
optional moving average of G and joint inference network. The order of the updates is Algorithm 1's
(advnets.train.algorithm); a game is assembled from a planned run by advnets.train.build.
"""

from __future__ import annotations

import torch
from torch import nn

from advnets.data.sources import DataSource, MixtureSource
from advnets.distributed import SINGLE, Collectives
from advnets.mirrored import Mirrored
from advnets.train import schedules
from advnets.train.ema import GeneratorAverage
from advnets.train.joint_encoder import JointEncoder
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
