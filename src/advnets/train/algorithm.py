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


def member_stats(loss_d, loss_g, real_logits, fake_logits) -> torch.Tensor:
    """_stats for K members at once (losses [K], logits [K, m]): [K, len(STAT_NAMES)], detached."""
    with torch.no_grad():
        return torch.stack([loss_d, loss_g, torch.sigmoid(real_logits).mean(-1), torch.sigmoid(fake_logits).mean(-1)],
                           dim=1)


# ----------------------------------------------------------------------------------------------
# sampling the minibatches


def real_batch(game: Game) -> tuple[torch.Tensor, torch.Tensor | None]:
    """x ~ p_data [m, *x_shape], with its condition c when the model has one: the class labels
    [m] (data.conditional), or the batch with random pixels hidden, [x * mask, mask] (data.inpainting)."""
    condition = game.rules.condition
    if condition == "class":
        return game.data.next_labelled_batch()
    x = game.data.next_batch()
    if condition == "mask":
        masks = random_masks(len(x), x.shape[-2:], game.rules.masks, game.rng, x.device)  # [m, 1, H, W]
        return x, pack_observed(x, masks)
    return x, None


def generator_condition(game: Game, m: int) -> torch.Tensor | None:
    """The condition of G's samples in its own update (alternating schedule): uniform class
    labels [m], or real images with random pixels hidden; None for an unconditional model."""
    if game.rules.condition == "class":
        return torch.randint(0, game.data.n_classes, (m,), generator=game.rng, device=game.data.device)
    if game.rules.condition == "mask":
        return real_batch(game)[1]
    return None


def d_objective(game: Game, x: torch.Tensor, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[
        torch.Tensor, torch.Tensor]:
    """(what D's update descends, D's loss for the statistics): the released loss, with the config's
    stabilisers when it asks for them (one-sided label smoothing in the loss, R1 added to what is descended)."""
    rules = game.rules
    loss_d = discriminator_loss(real_logits, fake_logits, 1.0 - rules.label_smoothing)
    if rules.r1_gamma == 0:
        return loss_d, loss_d
    return loss_d + 0.5 * rules.r1_gamma * r1_penalty(real_logits, x).mean(), loss_d


def real_for_d(game: Game, x: torch.Tensor) -> torch.Tensor:
    """x as D reads it: a leaf that records its gradient when R1 needs grad_x D(x), else x itself."""
    return x.detach().requires_grad_(True) if game.rules.r1_gamma > 0 else x


def d_logits(game: Game, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    """logit D(x) [m] in float32, D reading x through instance noise when the config asks for it."""
    return game.d.net(with_instance_noise(game, x), game.rng, c).float()


def with_instance_noise(game: Game, x: torch.Tensor) -> torch.Tensor:
    """x + sigma_t * N(0, I) under loss.instance_noise, sigma_t = sigma * max(0, 1 - t / T) after t iterations
    (read from G's update count on the device: no host synchronisation); x itself otherwise."""
    rules = game.rules
    if rules.instance_noise == 0:
        return x
    sigma = rules.instance_noise * (1 - game.g.updates.tensor / rules.instance_noise_steps).clamp(min=0)  # []
    return x + sigma.to(x.dtype) * torch.randn(x.shape, generator=game.rng, device=x.device, dtype=x.dtype)


def sample_fakes(game: Game, m: int, c: torch.Tensor | None = None) -> torch.Tensor:
    """G(z) [m, *x_shape] for z ~ p_z (and the condition c, for a conditional G)."""
    z = game.g.net.sample_z(m, game.rng)  # [m, z_dim]
    return game.g.net(z, c)


# ----------------------------------------------------------------------------------------------
# the forward passes (what advnets.members runs for K members at once, under vmap)


def released_pass(game: Game, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The released code's one pass: G(z) for z ~ p_z, then (logit D(x), logit D(G(z))) [m] each, from one
    dropped-out D; a conditional G gets the batch's condition."""
    with game.autocast():
        fake = sample_fakes(game, len(x), c)  # [m, *x_shape]
        return d_logits(game, x, c), d_logits(game, fake, c)  # the same dropped-out pass feeds both losses


def d_step_pass(game: Game, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """D's update in the alternating schedule: G(z) without gradients, then (logit D(x), logit D(G(z)))."""
    with torch.no_grad(), game.autocast():
        fake = sample_fakes(game, len(x), c)
    with game.autocast():
        return d_logits(game, x, c), d_logits(game, fake, c)


def g_step_pass(game: Game, m: int, c: torch.Tensor | None) -> torch.Tensor:
    """G's update in the alternating schedule: logit D(G(z)) [m] for m fresh z (and the condition c)."""
    with game.autocast():
        return d_logits(game, sample_fakes(game, m, c), c)


# ----------------------------------------------------------------------------------------------
# the two schedules


def simultaneous_update(game: Game) -> torch.Tensor:
    """The released code's step: one minibatch, one pass of D over G(z), both nets updated."""
    x, c = real_batch(game)  # [m, *x_shape]; the condition (labels, observed pixels) or None
    x = real_for_d(game, x)
    real_logits, fake_logits = released_pass(game, x, c)
    descend_d, loss_d = d_objective(game, x, real_logits, fake_logits)  # 0.5 [CE(1, D(x)) + CE(0, D(G(z)))]
    loss_g = generator_loss(game.rules.generator_loss, fake_logits)
    d, g = game.d, game.g
    d.opt.zero_grad(set_to_none=True)
    g.opt.zero_grad(set_to_none=True)
    descend_d.backward(inputs=d.params, retain_graph=True)  # grad_theta_d only
    loss_g.backward(inputs=g.params)  # grad_theta_g only
    game.update(d)  # each network's lr comes from its own update count
    game.update(g)
    return _stats(loss_d, loss_g, real_logits, fake_logits)


def alternating_update(game: Game) -> torch.Tensor:
    """Algorithm 1 as printed: k discriminator updates, then one generator update."""
    d, g, k = game.d, game.g, game.rules.k
    d_sums = torch.zeros(len(STAT_NAMES), device=game.data.device)  # D's statistics summed over its k updates
    no_loss = torch.zeros((), device=game.data.device)
    for _ in range(k):
        x, c = real_batch(game)  # [m, *x_shape]; the condition (labels, observed pixels) or None
        x = real_for_d(game, x)
        real_logits, fake_logits = d_step_pass(game, x, c)
        descend_d, loss_d = d_objective(game, x, real_logits, fake_logits)
        d.opt.zero_grad(set_to_none=True)
        descend_d.backward(inputs=d.params)
        game.update(d)
        d_sums += _stats(loss_d.detach(), no_loss, real_logits, fake_logits)
    d.net.train(game.rules.g_sees_dropout)
    m = game.rules.local_batch_size  # (this rank's share of the minibatch)
    c = generator_condition(game, m)
    fake_logits = g_step_pass(game, m, c)
    d.net.train(True)
    loss_g = generator_loss(game.rules.generator_loss, fake_logits)
    g.opt.zero_grad(set_to_none=True)
    loss_g.backward(inputs=g.params)
    game.update(g)
    means = d_sums / k  # D's statistics: the means over its k updates; G's: its one update
    means[STAT["loss_g"]] = loss_g.detach()
    return means


SCHEDULES = {"simultaneous": simultaneous_update, "alternating": alternating_update}  # train.schedule


def train_iteration(game: Game) -> torch.Tensor:
    """One iteration of Algorithm 1 in the configured schedule; returns the statistics vector."""
    return SCHEDULES[game.rules.schedule](game)
