"""The released code's schedules, as functions of the update or epoch count.

- learning rate: divided by `lr_decay` after every update, floored at `lr_min`
  (pylearn2 ExponentialDecay(1.000004, min_lr=1e-6)):  lr_t = max(lr_0 / decay^t, lr_min);
  optionally annealed further from update `lr_anneal_from` on (not in the released code):
  lr_t = max(lr_0 / decay^t / anneal^max(0, t - lr_anneal_from), lr_min);
  t counts each optimizer's own updates (the released code, k = 1), or generator updates for both
  (optim.lr_decay_clock: iterations, so that with k > 1 D's rate does not decay k times faster);
- momentum: linear from `momentum` at epoch `momentum_start_epoch` to `momentum_final` at epoch
  `momentum_saturate_epoch` (pylearn2 MomentumAdjustor(start=1, saturate=250, final=0.7)).

Written once, in torch ops on float64 0-d tensors: given counts as device tensors they run on the
training device without a host synchronisation (what a captured CUDA graph needs), given Python ints
they run on the CPU. Float64 arithmetic, op for op as the released formulas, gives the same numbers
as Python floats (a test checks it bit for bit).
"""

from __future__ import annotations

import torch

from advnets.config import OptimConfig


def _count(value: int | float | torch.Tensor) -> torch.Tensor:
    """A count as a float64 tensor (exact up to 2^53), where it lives."""
    return torch.as_tensor(value).to(torch.float64)


def learning_rate(cfg: OptimConfig, base_lr: float, updates_done: int | torch.Tensor) -> torch.Tensor:
    """lr for the update that follows `updates_done` earlier updates of this optimizer (float64 0-d)."""
    t = _count(updates_done)
    # lr_0 / decay^t (decay^t beyond a float is inf, and lr then 0, floored). A true division of two
    # tensors: `number / tensor` would multiply by the reciprocal, a second rounding.
    lr = torch.full_like(t, base_lr) / cfg.lr_decay**t
    if cfg.lr_anneal_from is not None:
        lr = lr / cfg.lr_anneal ** (t - cfg.lr_anneal_from).clamp_min(0)  # / anneal^max(0, t - from)
    return lr.clamp_min(cfg.lr_min)


def network_learning_rate(cfg: OptimConfig, network: str, d_updates: int | torch.Tensor,
                          g_updates: int | torch.Tensor) -> torch.Tensor:
    """lr of the next update of `network` ("d" or "g"), given both optimizers' update counts: its own
    base rate (optim.d_lr / g_lr, else optim.lr) on its clock (optim.lr_decay_clock)."""
    base = (cfg.d_lr if network == "d" else cfg.g_lr) or cfg.lr
    own_count = network == "d" and cfg.lr_decay_clock == "updates"
    return learning_rate(cfg, base, d_updates if own_count else g_updates)


def momentum(cfg: OptimConfig, epoch: int | float | torch.Tensor) -> torch.Tensor:
    """Momentum during 1-based `epoch` (float64 0-d)."""
    e = _count(epoch)
    span = cfg.momentum_saturate_epoch - cfg.momentum_start_epoch
    if span == 0:
        alpha = (e >= cfg.momentum_start_epoch).to(torch.float64)
    else:
        alpha = ((e - cfg.momentum_start_epoch) / span).clamp(0.0, 1.0)
    return cfg.momentum * (1 - alpha) + cfg.momentum_final * alpha
