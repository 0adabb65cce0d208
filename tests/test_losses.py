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


def test_one_sided_label_smoothing_is_the_cross_entropy_with_a_softer_target():
    logits = torch.linspace(-6, 6, 25, dtype=torch.float64)
    d = torch.sigmoid(logits)
    assert torch.equal(d_loss_real(logits, 1.0), d_loss_real(logits))  # the paper's loss, bit for bit
    assert torch.allclose(d_loss_real(logits, 0.9), -(0.9 * torch.log(d) + 0.1 * torch.log(1 - d)))
    # smoothing is one-sided: the fakes' target stays 0
    assert torch.allclose(discriminator_loss(logits, logits, 0.9),
                          0.5 * (d_loss_real(logits, 0.9).mean() + d_loss_fake(logits).mean()))
    # the smoothed real loss is smallest where D(x) = 0.9, not at D(x) -> 1
    best = logits[d_loss_real(logits, 0.9).argmin()]
    assert abs(torch.sigmoid(best).item() - 0.9) < 0.05


def test_r1_is_the_squared_gradient_of_ds_logit_at_the_data():
    from advnets.losses import r1_penalty

    w = torch.tensor([[0.5, -2.0, 1.0]], dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    logits = (x @ w.T).squeeze(1) + 0.3 * (x ** 2).sum(1)  # grad_x = w + 0.6 x
    expected = ((w + 0.6 * x) ** 2).sum(1)
    penalty = r1_penalty(logits, x)
    assert torch.allclose(penalty, expected)
    (grad,) = torch.autograd.grad(penalty.sum(), x)  # differentiable: D's update descends it
    assert torch.allclose(grad, 2 * 0.6 * (w + 0.6 * x))
