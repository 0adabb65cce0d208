"""Optimizers: the released code's classical momentum SGD, and Adam.

Pylearn2's momentum rule, which produced the paper's numbers:

    v     <- mu * v - lr * grad
    theta <- theta + v

It differs from ``torch.optim.SGD(momentum=mu)`` (v <- mu v + g; theta <- theta - lr v) as soon as
lr changes between updates, which it does after every update here. lr and mu may be Python numbers
or 0-d tensors on the parameters' device (the schedules' values, so that a captured step reads them
anew at every replay); the arithmetic is the same either way.
"""

from __future__ import annotations

from typing import Iterable

import torch

from advnets.config import OptimConfig


class MomentumSGD(torch.optim.Optimizer):
    """Classical momentum SGD in pylearn2's form (see the module docstring)."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, momentum: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    def init_state(self) -> None:
        """A zero velocity for every parameter that has none yet (what the first update starts from),
        so that a step captured as a CUDA graph finds its buffers rather than allocating them."""
        for group in self.param_groups:
            for p in group["params"]:
                if "velocity" not in self.state[p]:
                    self.state[p]["velocity"] = torch.zeros_like(p)

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102 - torch.optim.Optimizer's contract
        assert closure is None, "MomentumSGD takes no closure"
        self.init_state()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            velocity = [self.state[p]["velocity"] for p in params]
            grads = [p.grad for p in params]
            like = params[0]
            mu = torch.as_tensor(group["momentum"], device=like.device).to(like.dtype)
            minus_lr = torch.as_tensor(group["lr"], device=like.device).to(like.dtype).neg()
            torch._foreach_mul_(velocity, mu)  # v <- mu v
            torch._foreach_addcmul_(velocity, grads, [minus_lr] * len(grads))  # v <- v - lr g, one rounding
            torch._foreach_add_(params, velocity)  # theta <- theta + v


def build_optimizer(cfg: OptimConfig, params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if cfg.name == "momentum-sgd":
        return MomentumSGD(params, lr=lr, momentum=cfg.momentum)
    return torch.optim.Adam(params, lr=lr, betas=tuple(cfg.betas))


def takes_tensor_rates(opt: torch.optim.Optimizer) -> bool:
    """Whether `opt` reads its learning rate and momentum as device tensors (ours), or needs Python
    numbers (torch's Adam outside its capturable mode)."""
    return isinstance(opt, MomentumSGD)


def plain_param_groups(state: dict) -> dict:
    """An optimizer state_dict whose param_groups hold numbers, not tensors (for a JSON header)."""
    groups = [{k: (float(v) if isinstance(v, torch.Tensor) else v) for k, v in g.items()} for g in state["param_groups"]]
    return {**state, "param_groups": groups}
