import math

import torch

from advnets.losses import (d_loss_fake, d_loss_real, discriminator_loss, g_loss_minimax, g_loss_nonsaturating,
                            generator_loss)


def test_closed_forms_at_d_equals_one_half():
    zero = torch.zeros(5)
    assert torch.allclose(d_loss_real(zero), torch.full((5,), math.log(2)))
    assert torch.allclose(discriminator_loss(zero, zero), torch.tensor(math.log(2)))
    # V(D, G) = log D + log(1 - D) = -log 4 at the game's equilibrium D = 1/2
    assert torch.allclose(-d_loss_real(zero) + g_loss_minimax(zero), torch.full((5,), -math.log(4)))


def test_losses_match_their_probability_forms():
    logits = torch.linspace(-6, 6, 25, dtype=torch.float64)
    d = torch.sigmoid(logits)
    assert torch.allclose(d_loss_real(logits), -torch.log(d))
    assert torch.allclose(d_loss_fake(logits), -torch.log(1 - d))
    assert torch.allclose(g_loss_minimax(logits), torch.log(1 - d))
    assert torch.allclose(g_loss_nonsaturating(logits), -torch.log(d))
    real, fake = logits[:12], logits[13:]
    expected = 0.5 * (-torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean())
    assert torch.allclose(discriminator_loss(real, fake), expected)


def test_losses_stay_finite_where_d_saturates():
    logits = torch.tensor([-200.0, 200.0])
    for f in (d_loss_real, d_loss_fake, g_loss_minimax, g_loss_nonsaturating):
        assert torch.isfinite(f(logits)).all()


def test_minimax_saturates_when_d_rejects_samples_but_non_saturating_does_not():
    # Early in training D(G(z)) ~ 0 (logit very negative): the paper's motivation for -log D(G(z)).
    logit = torch.tensor([-8.0], requires_grad=True)
    (g_min,) = torch.autograd.grad(generator_loss("minimax", logit), logit)
    (g_ns,) = torch.autograd.grad(generator_loss("non-saturating", logit), logit)
    assert abs(g_min.item()) < 1e-3 < 0.99 < abs(g_ns.item())
