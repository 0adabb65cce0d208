"""K networks of one architecture as one: their weights stacked along a leading member dimension.

    S_name = [theta^1_name, ..., theta^K_name]      (one leaf tensor [K, *shape] per parameter)
    net_i's parameter `name` = S_name[i]               (a view: what a member's files and figures read)

The stacked leaves are what autograd and the stacked optimizers see; every member keeps its own module,
whose parameters are views into the stacks, so that its checkpoint, samples, validation and snapshot read and
write exactly the tensors a lone run has. :meth:`StackedNetwork.__call__` runs the K networks as one with
``torch.func.functional_call`` under ``torch.func.vmap`` (PyTorch's model-ensembling recipe): inside the
vmap, :class:`MemberNetwork` is one member's network, called as the module would be.

Whatever replaces a member's tensors (a resume, a rollback) is taken back into the stacks by :meth:`adopt`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.func import functional_call


def stacked_leaves(modules: list[nn.Module], names: list[str], requires_grad: bool) -> dict[str, torch.Tensor]:
    """One [K, *shape] leaf per named tensor of the modules (a copy of their current values)."""
    tensors = [dict(m.named_parameters()) | dict(m.named_buffers()) for m in modules]
    with torch.no_grad():
        return {name: torch.stack([t[name].detach() for t in tensors]).requires_grad_(requires_grad) for name in names}


def point_at(module: nn.Module, stacks: dict[str, torch.Tensor], i: int) -> None:
    """Make `module`'s parameters and buffers views of member i's slices of `stacks` (same values, shared storage)."""
    for name, stack in stacks.items():
        owner_name, _, leaf = name.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        view = stack.detach()[i]
        if leaf in owner._parameters:
            owner._parameters[leaf].data = view
        else:
            owner._buffers[leaf] = view


class StackedNetwork:
    """The members' networks of one role (D, G or G's average) stacked (see the module docstring)."""

    def __init__(self, modules: list[nn.Module], trainable: bool = True):
        self.modules = modules
        self.template = modules[0]  # the architecture functional_call runs (member 0's module, itself a view)
        self.param_names = [name for name, _ in self.template.named_parameters()]
        self.buffer_names = [name for name, _ in self.template.named_buffers()]
        self.params = stacked_leaves(modules, self.param_names, trainable)
        self.buffers = stacked_leaves(modules, self.buffer_names, False)
        for i, module in enumerate(modules):
            point_at(module, self.params | self.buffers, i)

    @property
    def leaves(self) -> list[torch.Tensor]:
        return list(self.params.values())

    def adopt(self, i: int) -> None:
        """Take member i's current tensors into the stacks (after something replaced or rewrote them), and point
        its module at its slices again."""
        module = self.modules[i]
        current = dict(module.named_parameters()) | dict(module.named_buffers())
        stacks = self.params | self.buffers
        with torch.no_grad():
            for name, stack in stacks.items():
                if current[name].data_ptr() != stack[i].data_ptr():
                    stack[i].copy_(current[name])
        point_at(module, stacks, i)

    def train(self, mode: bool) -> None:
        """Training mode (dropout on) for the architecture the members run (and member 0's own module)."""
        self.template.train(mode)


class MemberNetwork:
    """One member's network inside the vmap: the architecture called with that member's (batched) tensors;
    anything else (sample_z, z_dim, x_shape) read from the architecture."""

    def __init__(self, template: nn.Module, tensors: dict[str, torch.Tensor]):
        self.template, self.tensors = template, tensors

    def __call__(self, *args: Any) -> Any:
        return functional_call(self.template, self.tensors, args, tie_weights=False)  # (the paper's nets tie none)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.template, name)
