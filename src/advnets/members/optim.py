"""The members' optimizers: one update of K stacked networks, each member's elementwise as alone.

Both optimizers are elementwise, so an update of the stacked leaves [K, ...] is every member's own update at
once. Each member's rate (and momentum) comes from its own schedule, update count and rate factor
(advnets.train.player); while they agree, as they do unless a member was rolled back, the update uses the
very arithmetic of the lone optimizer (bit for bit with one member); otherwise per-member factors [K, 1, ...].

- momentum SGD (advnets.train.optim.MomentumSGD, pylearn2's):  v <- mu v - lr g;  theta <- theta + v
- Adam (torch.optim.Adam's defaults: eps 1e-8, no weight decay), at update t:
      m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2
      theta <- theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

Member i's own optimizer (what its checkpoint packs) holds views of slice i of the stacked buffers
(:meth:`StackedOptimizer.point`); :meth:`adopt` takes back a member's buffers after a resume or rollback.
"""

from __future__ import annotations

import torch

from advnets.members.stack import StackedNetwork

BUFFERS = {"momentum-sgd": ("velocity",), "adam": ("exp_avg", "exp_avg_sq")}


def per_member(values: list, like: torch.Tensor) -> torch.Tensor:
    """[K] of per-member numbers or 0-d tensors, in `like`'s dtype (rounded once, as a scalar operand would be)."""
    if all(isinstance(v, torch.Tensor) for v in values):
        stacked = torch.stack([v.to(like.device, torch.float64) for v in values])
    else:
        stacked = torch.tensor([float(v) for v in values], dtype=torch.float64, device=like.device)
    return stacked.to(like.dtype)


def against(factors: torch.Tensor, leaf: torch.Tensor) -> torch.Tensor:
    """Per-member factors [K] shaped [K, 1, ..., 1] to broadcast against a stacked leaf."""
    return factors.view(-1, *([1] * (leaf.dim() - 1)))


class StackedOptimizer:
    """The update of one player's stacked network (see the module docstring)."""

    def __init__(self, kind: str, network: StackedNetwork, member_optimizers: list[torch.optim.Optimizer],
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.kind, self.network, self.optimizers = kind, network, member_optimizers
        self.betas, self.eps = betas, eps
        leaves = network.leaves
        self.buffers = {key: [torch.zeros_like(p, requires_grad=False) for p in leaves] for key in BUFFERS[kind]}
        self.steps = [torch.zeros(len(member_optimizers)) for _ in leaves] if kind == "adam" else []
        for i in range(len(member_optimizers)):
            self.adopt(i)

    def _member_params(self, i: int) -> list[torch.Tensor]:
        return [p for group in self.optimizers[i].param_groups for p in group["params"]]

    def adopt(self, i: int) -> None:
        """Take member i's optimizer buffers (zero where it has none yet: before its first update) into the
        stacks, then give it views of its slices."""
        state = self.optimizers[i].state
        with torch.no_grad():
            for j, p in enumerate(self._member_params(i)):
                own = state.get(p, {})
                for key, stacks in self.buffers.items():
                    if key in own and own[key].data_ptr() != stacks[j][i].data_ptr():
                        stacks[j][i].copy_(own[key])
                    elif key not in own:
                        stacks[j][i].zero_()
                if self.steps:
                    self.steps[j][i] = float(own["step"]) if "step" in own else 0.0
        self.point(i)

    def point(self, i: int) -> None:
        state = self.optimizers[i].state
        for j, p in enumerate(self._member_params(i)):
            entry = {key: stacks[j][i] for key, stacks in self.buffers.items()}
            if self.steps:
                entry = {"step": self.steps[j][i], **entry}
            state[p] = entry

    @torch.no_grad()
    def step(self, lrs: list, momenta: list, counts: list[int]) -> None:
        """One update of every member from the stacked leaves' .grad: member i at rate lrs[i] (a number or a 0-d
        tensor), momentum momenta[i] (SGD), as its update number counts[i] + 1 (Adam). Each member's numbers are
        its own: a member's update never depends on another's rates (one rolled back, say)."""
        leaves = [p for p in self.network.leaves if p.grad is not None]
        grads = [p.grad for p in leaves]
        if self.kind == "momentum-sgd":
            self._sgd(leaves, grads, lrs, momenta)
        else:
            self._adam(leaves, grads, lrs, counts)

    def _sgd(self, params, grads, lrs, momenta) -> None:
        velocity = self.buffers["velocity"][:len(params)]
        mu, minus_lr = per_member(momenta, params[0]), per_member(lrs, params[0]).neg()
        for p, g, v in zip(params, grads, velocity):
            if sliced(p):  # member by member: the lone update's arithmetic, on slices that stay in cache
                for i in range(len(p)):
                    v[i].mul_(mu[i])  # v <- mu v
                    v[i].addcmul_(g[i], minus_lr[i])  # v <- v - lr g, one rounding
                    p[i].add_(v[i])  # theta <- theta + v
                continue
            v.mul_(against(mu, p))
            v.addcmul_(g, against(minus_lr, p))
            p.add_(v)

    def _adam(self, params, grads, lrs, counts) -> None:
        beta1, beta2 = self.betas
        t = [count + 1 for count in counts]
        # torch.optim.Adam's numbers, on the host as it computes them
        step_sizes = [float(lr) / (1 - beta1 ** ti) for lr, ti in zip(lrs, t)]
        roots = [(1 - beta2 ** ti) ** 0.5 for ti in t]
        minus_step_size, bias_correction2_sqrt = per_member([-x for x in step_sizes], params[0]), None
        for j, (p, g) in enumerate(zip(params, grads)):
            m, v = self.buffers["exp_avg"][j], self.buffers["exp_avg_sq"][j]
            self.steps[j] += 1
            if sliced(p):  # member by member, as torch.optim.Adam's update (on slices that stay in cache)
                for i in range(len(p)):
                    m[i].lerp_(g[i], 1 - beta1)
                    v[i].mul_(beta2).addcmul_(g[i], g[i], value=1 - beta2)
                    p[i].addcdiv_(m[i], (v[i].sqrt() / roots[i]).add_(self.eps), value=-step_sizes[i])
                continue
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            if bias_correction2_sqrt is None:
                bias_correction2_sqrt = per_member(roots, params[0])
            denom = (v.sqrt() / against(bias_correction2_sqrt, p)).add_(self.eps)
            p.add_(against(minus_step_size, p) * m / denom)  # theta + (-step_size) m / denom, as addcdiv_


SLICE_ELEMENTS = 1 << 16  # a member's slice of a leaf this large is updated alone (a stacked pass leaves the cache)


def sliced(leaf: torch.Tensor) -> bool:
    """Whether a stacked leaf [K, ...] is updated member by member (large) or all at once (small: fewer kernels)."""
    return leaf[0].numel() >= SLICE_ELEMENTS
