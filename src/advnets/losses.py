"""The value function's pieces, as pure functions of D's logits (never sigmoid then log).

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]                      (paper, eq. 1)

With l the logit of D, log D = -softplus(-l) and log(1 - D) = -softplus(l), which stay finite
where D saturates. Each function returns per-example values [m]; the loop reduces them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_real(real_logits: torch.Tensor) -> torch.Tensor:
    """-log D(x) = CE(1, D(x)): D's loss on data, per example."""
    return F.softplus(-real_logits)


def d_loss_fake(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log(1 - D(G(z))) = CE(0, D(G(z))): D's loss on samples, per example."""
    return F.softplus(fake_logits)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The released code's D loss, 0.5 [CE(1, D(x)) + CE(0, D(G(z)))], as a scalar.

    Minimising it ascends V(D, G) (Algorithm 1's D step), scaled by 1/2.
    """
    return 0.5 * (d_loss_real(real_logits).mean() + d_loss_fake(fake_logits).mean())


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """log(1 - D(G(z))): G descends this in the paper's minimax game. Saturates when D wins."""
    return -F.softplus(fake_logits)


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)) = CE(1, D(G(z))): the paper's practical advice, and the released code's G loss."""
    return F.softplus(-fake_logits)


GENERATOR_LOSSES = {"minimax": g_loss_minimax, "non-saturating": g_loss_nonsaturating}


def generator_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss as a scalar for `kind` in GENERATOR_LOSSES."""
    return GENERATOR_LOSSES[kind](fake_logits).mean()
