"""Algorithm 1 of the paper: one training iteration, in either schedule.

    for k steps:                                                      ("alternating")
        sample m noise vectors z ~ p_z and m examples x ~ p_data
        ascend  grad_theta_d (1/m) sum [log D(x_i) + log(1 - D(G(z_i)))]
    sample m noise vectors z ~ p_z
    descend grad_theta_g (1/m) sum log(1 - D(G(z_i)))   (or ascend log D(G(z_i)))

The authors' released code instead takes D's and G's gradients from the same minibatch and the
same dropped-out pass of D over G(z), and applies both in one update ("simultaneous", k = 1).

Every iteration returns a detached statistics vector, the means over its minibatches of STAT_NAMES
in that order, so that the caller can accumulate on the device without syncing; read it by name with
:func:`named_stats`. A new training mode is a function here and an entry in SCHEDULES (and its name
among the config's train.schedule choices).
"""

from __future__ import annotations

import torch

from advnets.data.masks import pack_observed, random_masks
from advnets.losses import discriminator_loss, generator_loss, r1_penalty
from advnets.train.game import Game

STAT_NAMES = ("loss_d", "loss_g", "d_real", "d_fake")  # the statistics vector: D's and G's losses, D(x), D(G(z))
STAT = {name: i for i, name in enumerate(STAT_NAMES)}  # name -> position in the vector


def named_stats(vector: torch.Tensor) -> dict[str, float]:
    """{"loss_d": ..., "loss_g": ..., "d_real": ..., "d_fake": ...} from a statistics vector (one sync)."""
    return dict(zip(STAT_NAMES, vector.tolist()))


def _stats(loss_d, loss_g, real_logits, fake_logits) -> torch.Tensor:
    """The statistics vector [len(STAT_NAMES)] of one update, detached."""
    with torch.no_grad():
        return torch.stack([loss_d, loss_g, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean()])


# ----------------------------------------------------------------------------------------------
# sampling the minibatches


def real_batch(game: Game) -> tuple[torch.Tensor, torch.Tensor | None]:
    """x ~ p_data [m, *x_shape], with its condition c when the model has one: the class labels
    [m] (data.conditional), or the batch with random pixels hidden, [x * mask, mask] (data.inpainting)."""
    d = game.cfg.data
    if d.conditional:
        return game.data.next_labelled_batch()
    x = game.data.next_batch()
    if d.inpainting:
        masks = random_masks(len(x), x.shape[-2:], d.masks, game.rng, x.device)  # [m, 1, H, W]
        return x, pack_observed(x, masks)
    return x, None


def generator_condition(game: Game, m: int) -> torch.Tensor | None:
    """The condition of G's samples in its own update (alternating schedule): uniform class
    labels [m], or real images with random pixels hidden; None for an unconditional model."""
    if game.cfg.data.conditional:
        return torch.randint(0, game.data.n_classes, (m,), generator=game.rng, device=game.data.device)
    if game.cfg.data.inpainting:
        return real_batch(game)[1]
    return None


def d_objective(game: Game, x: torch.Tensor, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[
        torch.Tensor, torch.Tensor]:
    """(what D's update descends, D's loss for the statistics): the released loss, with the config's
    stabilisers when it asks for them (one-sided label smoothing in the loss, R1 added to what is descended)."""
    loss = game.cfg.loss
    loss_d = discriminator_loss(real_logits, fake_logits, 1.0 - loss.label_smoothing)
    if loss.r1_gamma == 0:
        return loss_d, loss_d
    return loss_d + 0.5 * loss.r1_gamma * r1_penalty(real_logits, x).mean(), loss_d


def real_for_d(game: Game, x: torch.Tensor) -> torch.Tensor:
    """x as D reads it: a leaf that records its gradient when R1 needs grad_x D(x), else x itself."""
    return x.detach().requires_grad_(True) if game.cfg.loss.r1_gamma > 0 else x


def sample_fakes(game: Game, m: int, c: torch.Tensor | None = None) -> torch.Tensor:
    """G(z) [m, *x_shape] for z ~ p_z (and the condition c, for a conditional G)."""
    z = game.generator.sample_z(m, game.rng)  # [m, z_dim]
    return game.generator(z, c)


# ----------------------------------------------------------------------------------------------
# the two schedules


def simultaneous_update(game: Game) -> torch.Tensor:
    """The released code's step: one minibatch, one pass of D over G(z), both nets updated."""
    D, rng = game.discriminator, game.rng
    x, c = real_batch(game)  # [m, *x_shape]; the condition (labels, observed pixels) or None
    x = real_for_d(game, x)
    with game.autocast():
        fake = sample_fakes(game, len(x), c)  # [m, *x_shape]; a conditional G gets the batch's condition
        real_logits = D(x, rng, c).float()  # [m]
        fake_logits = D(fake, rng, c).float()  # [m]; the same dropped-out pass feeds both losses
    descend_d, loss_d = d_objective(game, x, real_logits, fake_logits)  # 0.5 [CE(1, D(x)) + CE(0, D(G(z)))]
    loss_g = generator_loss(game.cfg.loss.generator, fake_logits)
    game.opt_d.zero_grad(set_to_none=True)
    game.opt_g.zero_grad(set_to_none=True)
    descend_d.backward(inputs=game.d_params, retain_graph=True)  # grad_theta_d only
    loss_g.backward(inputs=game.g_params)  # grad_theta_g only
    game.apply_update("d")  # each network's lr comes from its own update count
    game.apply_update("g")
    return _stats(loss_d, loss_g, real_logits, fake_logits)


def alternating_update(game: Game) -> torch.Tensor:
    """Algorithm 1 as printed: k discriminator updates, then one generator update."""
    D, rng, k = game.discriminator, game.rng, game.cfg.train.k
    d_sums = torch.zeros(len(STAT_NAMES), device=game.data.device)  # D's statistics summed over its k updates
    no_loss = torch.zeros((), device=game.data.device)
    for _ in range(k):
        x, c = real_batch(game)  # [m, *x_shape]; the condition (labels, observed pixels) or None
        x = real_for_d(game, x)
        with torch.no_grad(), game.autocast():
            fake = sample_fakes(game, len(x), c)
        with game.autocast():
            real_logits, fake_logits = D(x, rng, c).float(), D(fake, rng, c).float()
        descend_d, loss_d = d_objective(game, x, real_logits, fake_logits)
        game.opt_d.zero_grad(set_to_none=True)
        descend_d.backward(inputs=game.d_params)
        game.apply_update("d")
        d_sums += _stats(loss_d.detach(), no_loss, real_logits, fake_logits)
    D.train(game.cfg.train.g_sees_dropout)
    c = generator_condition(game, game.local_batch_size)  # (this rank's share of the minibatch)
    with game.autocast():
        fake_logits = D(sample_fakes(game, game.local_batch_size, c), rng, c).float()
    D.train(True)
    loss_g = generator_loss(game.cfg.loss.generator, fake_logits)
    game.opt_g.zero_grad(set_to_none=True)
    loss_g.backward(inputs=game.g_params)
    game.apply_update("g")
    means = d_sums / k  # D's statistics: the means over its k updates; G's: its one update
    means[STAT["loss_g"]] = loss_g.detach()
    return means


SCHEDULES = {"simultaneous": simultaneous_update, "alternating": alternating_update}  # train.schedule


def train_iteration(game: Game) -> torch.Tensor:
    """One iteration of Algorithm 1 in the configured schedule; returns the statistics vector."""
    return SCHEDULES[game.cfg.train.schedule](game)
