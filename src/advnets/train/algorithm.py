"""Algorithm 1 of the paper: one training iteration, in either schedule.

    for k steps:                                                      ("alternating")
        sample m noise vectors z ~ p_z and m examples x ~ p_data
        ascend  grad_theta_d (1/m) sum [log D(x_i) + log(1 - D(G(z_i)))]
    sample m noise vectors z ~ p_z
    descend grad_theta_g (1/m) sum log(1 - D(G(z_i)))   (or ascend log D(G(z_i)))

The authors' released code instead takes D's and G's gradients from the same minibatch and the
same dropped-out pass of D over G(z), and applies both in one update ("simultaneous", k = 1).

Every update function returns a detached statistics vector [loss_d, loss_g, D(x), D(G(z))]
(means over the minibatch) so that the caller can accumulate on the device without syncing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from advnets.config import Config
from advnets.data.masks import pack_observed, random_masks
from advnets.data.sources import DataSource
from advnets.losses import discriminator_loss, generator_loss
from advnets.models.mlp import constrain_column_norms_
from advnets.train import schedules
from advnets.inference import JointEncoder
from advnets.train.ema import GeneratorAverage

STAT_NAMES = ("loss_d", "loss_g", "d_real", "d_fake")


@dataclass
class Game:
    """Everything one training iteration touches. Networks never own their optimizers."""

    cfg: Config
    generator: nn.Module
    discriminator: nn.Module
    opt_d: torch.optim.Optimizer
    opt_g: torch.optim.Optimizer
    data: DataSource
    rng: torch.Generator  # noise and dropout masks; its state is saved with the training state
    average: GeneratorAverage | None = None  # train.ema_decay > 0: the moving average of G's weights
    encoder: JointEncoder | None = None  # inference.joint: E: x -> z trained alongside
    initialised_from: dict | None = None  # generator.init_from: where G's last layers came from
    d_updates: int = 0
    g_updates: int = 0
    d_params: list[nn.Parameter] = field(init=False)
    g_params: list[nn.Parameter] = field(init=False)

    def __post_init__(self) -> None:
        self.d_params = list(self.discriminator.parameters())
        self.g_params = list(self.generator.parameters())

    # The schedules are set just before each update, from that optimizer's own update count, or from
    # the generator's for both (optim.lr_decay_clock: iterations).
    def current_lr(self, network: str) -> float:
        o = self.cfg.optim
        base = (o.d_lr if network == "d" else o.g_lr) or o.lr
        own_count = network == "d" and o.lr_decay_clock == "updates"
        return schedules.learning_rate(o, base, self.d_updates if own_count else self.g_updates)

    def current_momentum(self) -> float:
        return schedules.momentum(self.cfg.optim, self.data.epoch)

    def apply_update(self, network: str) -> None:
        """Step `network`'s optimizer ("d" or "g") with its scheduled lr and momentum, then apply
        the network's weight-norm constraint if it has one, and count the update."""
        opt = self.opt_d if network == "d" else self.opt_g
        lr, mu = self.current_lr(network), self.current_momentum()
        for group in opt.param_groups:
            group["lr"] = lr
            if "momentum" in group:
                group["momentum"] = mu
        opt.step()
        max_norm = (self.cfg.discriminator if network == "d" else self.cfg.generator).max_col_norm
        if max_norm is not None:
            constrain_column_norms_(self.discriminator if network == "d" else self.generator, max_norm)
        if network == "d":
            self.d_updates += 1
        else:
            self.g_updates += 1
            if self.average is not None:
                self.average.update(self.generator, self.g_updates)
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
        """Mixed precision for the forward passes when train.precision is bf16 (else a no-op)."""
        return torch.autocast(self.data.device.type, dtype=torch.bfloat16,
                              enabled=self.cfg.train.precision == "bf16")

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x ~ p_data [m, *x_shape], with its condition c when the model has one: the class labels
        [m] (data.conditional), or the batch with random pixels hidden, [x * mask, mask] (data.inpainting)."""
        if self.cfg.data.conditional:
            return self.data.next_labelled_batch()
        x = self.data.next_batch()
        if self.cfg.data.inpainting:
            masks = random_masks(len(x), x.shape[-2:], self.cfg.data.masks, self.rng, x.device)  # [m, 1, H, W]
            return x, pack_observed(x, masks)
        return x, None

    def generator_condition(self, m: int) -> torch.Tensor | None:
        """The condition of G's samples in its own update (alternating schedule): uniform class
        labels [m], or real images with random pixels hidden; None for an unconditional model."""
        if self.cfg.data.conditional:
            return torch.randint(0, self.data.n_classes, (m,), generator=self.rng, device=self.data.device)
        if self.cfg.data.inpainting:
            return self.real_batch()[1]
        return None

    def sample_fakes(self, m: int, c: torch.Tensor | None = None) -> torch.Tensor:
        """G(z) [m, *x_shape] for z ~ p_z (and the condition c, for a conditional G)."""
        z = self.generator.sample_z(m, self.rng)  # [m, z_dim]
        return self.generator(z, c)


def train_iteration(game: Game) -> torch.Tensor:
    """One iteration of Algorithm 1 in the configured schedule; returns the statistics vector."""
    if game.cfg.train.schedule == "simultaneous":
        return simultaneous_update(game)
    return alternating_update(game)


def simultaneous_update(game: Game) -> torch.Tensor:
    """The released code's step: one minibatch, one pass of D over G(z), both nets updated."""
    D, rng = game.discriminator, game.rng
    x, c = game.real_batch()  # [m, *x_shape]; the condition (labels, observed pixels) or None
    with game.autocast():
        fake = game.sample_fakes(len(x), c)  # [m, *x_shape]; a conditional G gets the batch's condition
        real_logits = D(x, rng, c).float()  # [m]
        fake_logits = D(fake, rng, c).float()  # [m]; the same dropped-out pass feeds both losses
    loss_d = discriminator_loss(real_logits, fake_logits)  # 0.5 [CE(1, D(x)) + CE(0, D(G(z)))]
    loss_g = generator_loss(game.cfg.loss.generator, fake_logits)
    game.opt_d.zero_grad(set_to_none=True)
    game.opt_g.zero_grad(set_to_none=True)
    loss_d.backward(inputs=game.d_params, retain_graph=True)  # grad_theta_d only
    loss_g.backward(inputs=game.g_params)  # grad_theta_g only
    game.apply_update("d")  # each network's lr comes from its own update count
    game.apply_update("g")
    return _stats(loss_d, loss_g, real_logits, fake_logits)


def alternating_update(game: Game) -> torch.Tensor:
    """Algorithm 1 as printed: k discriminator updates, then one generator update."""
    D, rng, k = game.discriminator, game.rng, game.cfg.train.k
    d_stats = torch.zeros(3, device=game.data.device)
    for _ in range(k):
        x, c = game.real_batch()  # [m, *x_shape]; the condition (labels, observed pixels) or None
        with torch.no_grad(), game.autocast():
            fake = game.sample_fakes(len(x), c)
        with game.autocast():
            real_logits, fake_logits = D(x, rng, c).float(), D(fake, rng, c).float()
        loss_d = discriminator_loss(real_logits, fake_logits)
        game.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        game.apply_update("d")
        d_stats += torch.stack([loss_d.detach(), torch.sigmoid(real_logits).mean().detach(),
                                torch.sigmoid(fake_logits).mean().detach()])
    D.train(game.cfg.train.g_sees_dropout)
    c = game.generator_condition(game.cfg.train.batch_size)
    with game.autocast():
        fake_logits = D(game.sample_fakes(game.cfg.train.batch_size, c), rng, c).float()
    D.train(True)
    loss_g = generator_loss(game.cfg.loss.generator, fake_logits)
    game.opt_g.zero_grad(set_to_none=True)
    loss_g.backward(inputs=game.g_params)
    game.apply_update("g")
    d_stats /= k
    return torch.stack([d_stats[0], loss_g.detach(), d_stats[1], d_stats[2]])


def _stats(loss_d, loss_g, real_logits, fake_logits) -> torch.Tensor:
    with torch.no_grad():
        return torch.stack([loss_d, loss_g, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()])
