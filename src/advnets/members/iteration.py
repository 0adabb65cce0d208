"""Algorithm 1's iteration for K members at once: the same schedules as advnets.train.algorithm, stacked.

Per member, outside any vmap and from its own streams: its minibatch (and condition), as its lone run draws
them (``real_batch``, ``generator_condition``). Then each forward pass of the iteration (the released pass,
or the alternating schedule's D and G passes: advnets.train.algorithm's own functions) runs once for all K
under ``torch.func.vmap``, its draws replayed from each member's stream (advnets.members.draws). The losses
are each member's (vmapped as well); their sum is differentiated once, which gives every member the gradient
of its own loss (d sum / d loss_i = 1). The updates are each member's (advnets.members.optim).

    stats = members_iteration(members)     # [K, len(STAT_NAMES)]: each member's statistics vector
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch.func import vmap

from advnets.errors import ConfigError
from advnets.losses import discriminator_loss, generator_loss
from advnets.members.draws import MEMBER_STREAM, Tape, explain_vmap_failure
from advnets.members.optim import StackedOptimizer, against, per_member, sliced
from advnets.members.stack import MemberNetwork, StackedNetwork
from advnets.models.mlp import clip_row_norms_
from advnets.train.algorithm import (STAT, STAT_NAMES, d_step_pass, g_step_pass, generator_condition, member_stats,
                                     real_batch, released_pass)
from advnets.train.ema import ema_decay_at
from advnets.train.game import Game
from advnets.train.optim import MomentumSGD


class _Counts:
    def __init__(self, tensor: torch.Tensor | None):
        self.tensor = tensor


class _PlayerView:
    def __init__(self, net: MemberNetwork, updates: torch.Tensor | None = None):
        self.net, self.updates = net, _Counts(updates)


class MemberView:
    """What advnets.train.algorithm's forward passes read of a game, for one member inside the vmap: the rules,
    its networks, its G update count (instance noise) and, as its random stream, the marker the tape replays."""

    def __init__(self, members: Members, g: dict, d: dict, g_updates: torch.Tensor | None):
        self.rules, self.rng, self.device = members.rules, MEMBER_STREAM, members.device
        self.g = _PlayerView(MemberNetwork(members.g.template, g), g_updates)
        self.d = _PlayerView(MemberNetwork(members.d.template, d))

    def autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.rules.bf16, cache_enabled=False)


class Members:
    """K games of one config, built as lone runs (their own seeds, sources, streams and files), with their
    networks and optimizer buffers stacked. `active[i]`: member i still trains (a finished or stopped member
    takes no updates and draws nothing)."""

    def __init__(self, games: list[Game]):
        refuse_unstackable(games[0])
        self.games = games
        self.rules, self.device = games[0].rules, games[0].data.device
        self.d = StackedNetwork([game.d.net for game in games])
        self.g = StackedNetwork([game.g.net for game in games])
        self.average = (StackedNetwork([game.average.model for game in games], trainable=False)
                        if games[0].average is not None else None)
        self.opt_d, self.opt_g = (_stacked_optimizer(network, [getattr(game, role).opt for game in games])
                                  for role, network in (("d", self.d), ("g", self.g)))
        self.tape = Tape()
        self.active = [True] * len(games)

    def adopt(self, i: int) -> None:
        """Take member i's tensors back into the stacks after a resume or rollback replaced them."""
        for part in (self.d, self.g, self.average, self.opt_d, self.opt_g):
            if part is not None:
                part.adopt(i)

    def _stacks(self) -> list[torch.Tensor]:
        tensors = [*self.d.leaves, *self.g.leaves, *self.d.buffers.values(), *self.g.buffers.values()]
        if self.average is not None:
            tensors += [*self.average.leaves, *self.average.buffers.values()]
        for opt in (self.opt_d, self.opt_g):
            tensors += [t for stacks in opt.buffers.values() for t in stacks] + opt.steps
        return tensors

    @contextlib.contextmanager
    def frozen_kept(self):
        """Whatever the iteration does to members that no longer train is undone afterwards."""
        frozen = [i for i, on in enumerate(self.active) if not on]
        kept = [(t, [t[i].clone() for i in frozen]) for t in self._stacks()] if frozen else []
        yield
        with torch.no_grad():
            for tensor, values in kept:
                for i, value in zip(frozen, values):
                    tensor[i].copy_(value)

    # -- per member, from its own streams -------------------------------------------------------------

    def _each_active(self, draw: Callable[[Game], object]) -> list:
        """`draw(game)` for every active member from its own game (its streams); None for the others."""
        return [draw(game) if on else None for game, on in zip(self.games, self.active)]

    def _stack(self, values: list) -> torch.Tensor | None:
        """[K, ...] of the members' tensors (zeros for members that draw nothing), or None when none has one."""
        present = next((v for v in values if v is not None), None)
        if present is None:
            return None
        return torch.stack([v if v is not None else torch.zeros_like(present) for v in values])

    def real_batches(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x [K, m, *x_shape] and its condition [K, ...] (or None): each active member's own minibatch."""
        pairs = self._each_active(real_batch)
        xs = [p[0] if p is not None else None for p in pairs]
        cs = [p[1] if p is not None else None for p in pairs]
        return self._stack(xs), self._stack(cs)

    def generator_conditions(self, m: int) -> torch.Tensor | None:
        return self._stack(self._each_active(lambda game: generator_condition(game, m)))

    # -- the K forward passes as one ------------------------------------------------------------------

    def run_pass(self, name: str, forward: Callable, *inputs: torch.Tensor | None):
        """`forward(view, *inputs)` for every member at once (inputs [K, ...] or None), its draws from each
        member's own stream (recorded once per pass name: advnets.members.draws)."""
        g_updates = (torch.stack([game.g.updates.tensor for game in self.games])
                     if self.rules.instance_noise > 0 else None)

        def one(g, d, counts, draws, *args):
            view = MemberView(self, g, d, counts)
            with self.tape.replaying(name, draws) if draws is not None else contextlib.nullcontext():
                return forward(view, *args)

        dims = (0, 0, 0 if g_updates is not None else None)
        arguments = (self.g.params | self.g.buffers, self.d.params | self.d.buffers, g_updates)
        in_dims = tuple(0 if t is not None else None for t in inputs)
        try:
            if not self.tape.known(name):
                self.tape.record(name, lambda: vmap(one, in_dims=(*dims, None, *in_dims), randomness="same")(
                    *arguments, None, *inputs), state=[*self.g.buffers.values(), *self.d.buffers.values()])
            draws = self.tape.draw(name, [game.rng if on else torch.Generator(self.device)
                                          for game, on in zip(self.games, self.active)])
            return vmap(one, in_dims=(*dims, 0, *in_dims))(*arguments, draws, *inputs)
        except RuntimeError as e:
            if not any(word in str(e) for word in ("vmap", "Batching rule", "batched")):
                raise
            raise explain_vmap_failure(e, "a network of this config") from None

    # -- the members' losses and updates --------------------------------------------------------------

    def d_objective(self, x: torch.Tensor, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(what each member's D descends [K], its loss for the statistics [K]): advnets.train.algorithm.d_objective
        per member, R1's input gradient taken over the stack (each member's logits depend on its own x only)."""
        rules = self.rules
        loss_d = discriminator_loss(real, fake, 1.0 - rules.label_smoothing, dim=-1)  # [K]
        if rules.r1_gamma == 0:
            return loss_d, loss_d
        (grad,) = torch.autograd.grad(real.sum(), x, create_graph=True)  # [K, m, *x_shape]
        r1 = grad.pow(2).reshape(*grad.shape[:2], -1).sum(2)  # [K, m]
        return loss_d + 0.5 * rules.r1_gamma * r1.mean(1), loss_d

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return generator_loss(self.rules.generator_loss, fake_logits, dim=-1)  # [K]

    def update(self, role: str) -> None:
        """One optimizer step of every active member's D (role "d") or G ("g"), then what follows it."""
        games = self.games
        players = [getattr(game, role) for game in games]
        rates = self._rates(players)
        network, opt = (self.d, self.opt_d) if role == "d" else (self.g, self.opt_g)
        opt.step([r[0] for r in rates], [r[1] for r in rates], [p.updates.value for p in players])
        max_norm = players[0].max_col_norm
        if max_norm is not None:
            for name in linear_weights(network.template):
                clip_row_norms_(network.params[name].data, max_norm)
        for player, on in zip(players, self.active):
            if on:
                player.updates.advance()
        if role == "g" and self.average is not None:
            self._fold_average()

    def _rates(self, players: list) -> list[tuple]:
        """Each member's (lr, momentum) of its next update (advnets.train.player), computed once for members whose
        rates agree (the same update count, rate factor and epoch: all of them, unless one was rolled back)."""
        known: dict[tuple, tuple] = {}
        rates = []
        for player, game in zip(players, self.games):
            key = (player.clock.value, game.lr_factor.value, game.data.epoch)
            if key not in known:
                known[key] = player._rates(game.lr_factor, game.data)
            rates.append(known[key])
        return rates

    @torch.no_grad()
    def _fold_average(self) -> None:
        """G's moving average after G's update (advnets.train.ema): theta_ema <- lerp(theta_ema, theta, 1 - beta_t),
        beta_t from each member's own update count."""
        decay = self.games[0].average.decay
        betas = [ema_decay_at(decay, game.g.updates.value) for game in self.games]
        live = [*self.g.leaves, *self.g.buffers.values()]
        averaged = [*self.average.leaves, *self.average.buffers.values()]
        weights = per_member([1 - beta for beta in betas], averaged[0])  # 1 - beta_t in float64, then rounded
        for a, b in zip(averaged, live):
            if a.is_floating_point() and sliced(a):
                for i in range(len(a)):
                    a[i].lerp_(b[i], weights[i].to(a.dtype))
            elif a.is_floating_point():
                a.lerp_(b, against(weights.to(a.dtype), a))
            else:  # counters are copied
                a.copy_(b)


def refuse_unstackable(game: Game) -> None:
    """One line for a network members cannot stack: batch normalisation's running statistics (a plugin's too),
    which its forward pass updates as one buffer for the batch."""
    for role, net in (("G", game.g.net), ("D", game.d.net)):
        for name, layer in net.named_modules():
            if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm) and layer.track_running_stats:
                raise ConfigError(f"several members in one process cannot train {role} with batch normalisation's "
                                  f"running statistics ({name or 'the network'}: {type(layer).__name__}); train the "
                                  "seeds one by one")


def linear_weights(module: torch.nn.Module) -> list[str]:
    """Names of the weights of `module`'s linear layers (what a max-norm constraint clips)."""
    return [f"{name}.weight" if name else "weight" for name, layer in module.named_modules()
            if isinstance(layer, torch.nn.Linear)]


def _stacked_optimizer(network: StackedNetwork, optimizers: list[torch.optim.Optimizer]) -> StackedOptimizer:
    if isinstance(optimizers[0], MomentumSGD):
        return StackedOptimizer("momentum-sgd", network, optimizers)
    defaults = optimizers[0].defaults
    return StackedOptimizer("adam", network, optimizers, tuple(defaults["betas"]), defaults["eps"])


# ----------------------------------------------------------------------------------------------
# the two schedules, stacked


def _zero_grads(*networks: StackedNetwork) -> None:
    for network in networks:
        for leaf in network.leaves:
            leaf.grad = None


def _real_for_d(members: Members, x: torch.Tensor) -> torch.Tensor:
    return x.detach().requires_grad_(True) if members.rules.r1_gamma > 0 else x


def simultaneous_update(members: Members) -> torch.Tensor:
    """advnets.train.algorithm.simultaneous_update for every member: one pass, both networks updated."""
    x, c = members.real_batches()
    x = _real_for_d(members, x)
    real_logits, fake_logits = members.run_pass("released", released_pass, x, c)  # [K, m] each
    descend_d, loss_d = members.d_objective(x, real_logits, fake_logits)  # [K]
    loss_g = members.generator_loss(fake_logits)  # [K]
    _zero_grads(members.d, members.g)
    descend_d.sum().backward(inputs=members.d.leaves, retain_graph=True)  # each member's grad_theta_d
    loss_g.sum().backward(inputs=members.g.leaves)
    members.update("d")
    members.update("g")
    return member_stats(loss_d, loss_g, real_logits, fake_logits)


def alternating_update(members: Members) -> torch.Tensor:
    """advnets.train.algorithm.alternating_update for every member: k updates of D, then one of G."""
    k, K = members.rules.k, len(members.games)
    d_sums = torch.zeros(K, len(STAT_NAMES), device=members.device)
    for _ in range(k):
        x, c = members.real_batches()
        x = _real_for_d(members, x)
        real_logits, fake_logits = members.run_pass("d-step", d_step_pass, x, c)
        descend_d, loss_d = members.d_objective(x, real_logits, fake_logits)
        _zero_grads(members.d)
        descend_d.sum().backward(inputs=members.d.leaves)
        members.update("d")
        d_sums += member_stats(loss_d.detach(), torch.zeros_like(loss_d), real_logits, fake_logits)
    members.d.train(members.rules.g_sees_dropout)
    m = members.rules.local_batch_size
    c = members.generator_conditions(m)
    fake_logits = members.run_pass("g-step", lambda view, c: g_step_pass(view, m, c), c)
    members.d.train(True)
    loss_g = members.generator_loss(fake_logits)
    _zero_grads(members.g)
    loss_g.sum().backward(inputs=members.g.leaves)
    members.update("g")
    means = d_sums / k
    means[:, STAT["loss_g"]] = loss_g.detach()
    return means


SCHEDULES = {"simultaneous": simultaneous_update, "alternating": alternating_update}


def members_iteration(members: Members) -> torch.Tensor:
    """One iteration of Algorithm 1 for every active member; [K, len(STAT_NAMES)] statistics (zeros where frozen)."""
    with members.frozen_kept():
        stats = SCHEDULES[members.rules.schedule](members)
    return stats * torch.tensor(members.active, dtype=stats.dtype, device=stats.device)[:, None]
