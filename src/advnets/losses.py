"""The value function's pieces, as pure functions of D's logits (never sigmoid then log).

    V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))]                      (paper, eq. 1)

With l the logit of D, log D = -softplus(-l) and log(1 - D) = -softplus(l), which stay finite
where D saturates. Each function returns per-example values [m]; the loop reduces them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_real(real_logits: torch.Tensor, target: float = 1.0) -> torch.Tensor:
    """-log D(x) = CE(1, D(x)): D's loss on data, per example. With `target` < 1 (one-sided label
    smoothing, Salimans et al. 2016; not the paper's): CE(t, D(x)) = -t log D(x) - (1 - t) log(1 - D(x))."""
    if target == 1.0:
        return F.softplus(-real_logits)
    return target * F.softplus(-real_logits) + (1 - target) * F.softplus(real_logits)


def d_loss_fake(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log(1 - D(G(z))) = CE(0, D(G(z))): D's loss on samples, per example."""
    return F.softplus(fake_logits)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0,
                       dim: int | None = None) -> torch.Tensor:
    """The released code's D loss, 0.5 [CE(1, D(x)) + CE(0, D(G(z)))], as a scalar (`dim`: the means over that
    dimension only, e.g. -1 for one loss per member of logits [K, m]).

    Minimising it ascends V(D, G) (Algorithm 1's D step), scaled by 1/2. `real_target` < 1: one-sided
    label smoothing (the target on data only; smoothing the fakes' would reward D for G's mistakes).
    """
    if dim is not None:
        return 0.5 * (d_loss_real(real_logits, real_target).mean(dim) + d_loss_fake(fake_logits).mean(dim))
    return 0.5 * (d_loss_real(real_logits, real_target).mean() + d_loss_fake(fake_logits).mean())


def r1_penalty(real_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018; not the paper's): |grad_x logit D(x)|^2 on data, per example [m], kept
    differentiable (D's update descends gamma/2 times its mean). `x` must require grad and be what the
    logits were computed from."""
    (grad,) = torch.autograd.grad(real_logits.sum(), x, create_graph=True)
    return grad.pow(2).reshape(len(x), -1).sum(1)


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """log(1 - D(G(z))): G descends this in the paper's minimax game. Saturates when D wins."""
    return -F.softplus(fake_logits)


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)) = CE(1, D(G(z))): the paper's practical advice, and the released code's G loss."""
    return F.softplus(-fake_logits)


GENERATOR_LOSSES = {"minimax": g_loss_minimax, "non-saturating": g_loss_nonsaturating}


def generator_loss(kind: str, fake_logits: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """G's loss as a scalar for `kind` in GENERATOR_LOSSES (`dim`: the mean over that dimension only)."""
    per_example = GENERATOR_LOSSES[kind](fake_logits)
    return per_example.mean() if dim is None else per_example.mean(dim)
