"""The released code's schedules, as pure functions of the update or epoch count.

- learning rate: divided by `lr_decay` after every update, floored at `lr_min`
  (pylearn2 ExponentialDecay(1.000004, min_lr=1e-6)):  lr_t = max(lr_0 / decay^t, lr_min);
  optionally annealed further from update `lr_anneal_from` on (not in the released code):
  lr_t = max(lr_0 / decay^t / anneal^max(0, t - lr_anneal_from), lr_min);
  t counts each optimizer's own updates (the released code, k = 1), or generator updates for both
  (optim.lr_decay_clock: iterations, so that with k > 1 D's rate does not decay k times faster);
- momentum: linear from `momentum` at epoch `momentum_start_epoch` to `momentum_final` at epoch
  `momentum_saturate_epoch` (pylearn2 MomentumAdjustor(start=1, saturate=250, final=0.7)).
"""

from __future__ import annotations

from advnets.config import OptimConfig


def learning_rate(cfg: OptimConfig, base_lr: float, updates_done: int) -> float:
    """lr for the update that follows `updates_done` earlier updates of this optimizer."""
    lr = _divide(base_lr, cfg.lr_decay, updates_done)
    if cfg.lr_anneal_from is not None and updates_done > cfg.lr_anneal_from:
        lr = _divide(lr, cfg.lr_anneal, updates_done - cfg.lr_anneal_from)
    return max(lr, cfg.lr_min)


def network_learning_rate(cfg: OptimConfig, network: str, d_updates: int, g_updates: int) -> float:
    """lr of the next update of `network` ("d" or "g"), given both optimizers' update counts: its own
    base rate (optim.d_lr / g_lr, else optim.lr) on its clock (optim.lr_decay_clock)."""
    base = (cfg.d_lr if network == "d" else cfg.g_lr) or cfg.lr
    own_count = network == "d" and cfg.lr_decay_clock == "updates"
    return learning_rate(cfg, base, d_updates if own_count else g_updates)


def _divide(lr: float, factor: float, times: int) -> float:
    """lr / factor**times; 0 where factor**times is beyond a float (the floor lr_min then applies)."""
    try:
        return lr / factor**times
    except OverflowError:
        return 0.0


def momentum(cfg: OptimConfig, epoch: int) -> float:
    """Momentum during 1-based `epoch`."""
    span = cfg.momentum_saturate_epoch - cfg.momentum_start_epoch
    if span == 0:
        alpha = 1.0 if epoch >= cfg.momentum_start_epoch else 0.0
    else:
        alpha = (epoch - cfg.momentum_start_epoch) / span
    alpha = min(max(alpha, 0.0), 1.0)
    return cfg.momentum * (1 - alpha) + cfg.momentum_final * alpha
