"""What a config's networks need in memory, found without allocating it.

The networks are built on PyTorch's "meta" device, whose tensors have shapes and types but no
storage, so a config asking for a 40 GB layer costs nothing to inspect. A planned run measures its
networks here once (:func:`network_sizes`) and judges its budget from those numbers before anything is
created (advnets.train.budget); the readers of network files refuse a file larger than its own config's
networks (advnets.snapshot).

    nets = meta_networks(cfg, (1, 28, 28))          # {"generator": G, "discriminator": D, ...}
    tensor_bytes(nets["generator"])                  # 10,015,936 for the paper's MNIST G
    activation_bytes(cfg, (1, 28, 28), batch=100)    # what one iteration keeps for its backward pass
    network_sizes(cfg, (1, 28, 28), batch=100)       # all of a run's sizes from one build
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advnets.config import Config
from advnets.models import build_discriminator, build_encoder, build_generator, condition_for
from advnets.models.conditions import Condition

META = torch.device("meta")


@dataclass(frozen=True)
class NetworkSizes:
    """A run's networks measured once: bytes and multiply-adds, no storage allocated."""

    weights: int  # bytes of every network's parameters and buffers (G, D, G's moving average, the joint E)
    trained: int  # ... of those an optimizer trains (all but G's moving average)
    activations: int  # what one iteration keeps for its backward pass and its outputs (activation_bytes)
    update_macs: int  # multiply-adds of one update's forward passes: G's and twice D's weights per example


def meta_networks(cfg: Config, x_shape: tuple[int, ...], condition: Condition | None = None) -> dict[str, nn.Module]:
    """The networks a run of `cfg` keeps, storage-less: G and D, G's moving average (train.ema_decay) and
    the joint inference network (inference.joint) where the config has them; named as in a snapshot.
    `condition`: what G and D are given besides z and x, when known (else found from the config, once)."""
    condition = condition if condition is not None else condition_for(cfg, x_shape)
    with META:
        nets = {"generator": build_generator(cfg, x_shape, condition=condition),
                "discriminator": build_discriminator(cfg, x_shape, condition=condition)}
        if cfg.train.ema_decay > 0:
            nets["generator_ema"] = build_generator(cfg, x_shape, condition=condition)
        if cfg.inference.joint:
            nets["encoder"] = build_encoder(cfg, x_shape)
    return nets


def tensor_bytes(module: nn.Module) -> int:
    """Bytes of a module's parameters and buffers (what its state_dict holds)."""
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


def _condition_example(condition: Condition, x_shape: tuple[int, ...], m: int) -> torch.Tensor | None:
    """A storage-less condition of the kind the networks read (labels, or observed pixels and mask)."""
    if condition.kind == "class":
        return torch.zeros(m, dtype=torch.int64, device=META)
    if condition.kind == "mask":
        return torch.zeros(m, 2 * x_shape[0], *x_shape[1:], device=META)
    return None


def activation_bytes(cfg: Config, x_shape: tuple[int, ...], batch: int,
                     nets: dict[str, nn.Module] | None = None) -> int:
    """Bytes that one forward pass of G and two of D (over real and generated minibatches of `batch`
    examples) keep for the backward pass, plus their outputs: what an iteration holds at its peak,
    beside the weights. Measured on the meta device with autograd's saved-tensor hooks; `nets`: the
    config's meta networks when built already."""
    nets = nets or meta_networks(cfg, x_shape)
    G, D = nets["generator"].train(), nets["discriminator"].train()
    weights = {id(t) for net in (G, D) for t in net.state_dict(keep_vars=True).values()}
    saved = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal saved
        if id(t) not in weights and id(t._base) not in weights:  # a weight (or a view of one) costs nothing more
            saved += t.numel() * t.element_size()
        return t

    c = _condition_example(G.condition, x_shape, batch)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        z = G.sample_z(batch, None, META)  # [batch, z_dim]
        fake = G(z, c)  # [batch, *x_shape]
        x = torch.zeros(batch, *x_shape, device=META)
        logits = [D(x, None, c), D(fake, None, c)]
    outputs = sum(t.numel() * t.element_size() for t in (z, fake, x, *logits))
    return saved + outputs


def network_sizes(cfg: Config, x_shape: tuple[int, ...], batch: int,
                  condition: Condition | None = None) -> NetworkSizes:
    """Every size a run of `cfg` is judged by (advnets.train.budget), from one build of each of its networks on
    the meta device (G's moving average, where kept, is a copy of G: G's bytes again); `batch`: the examples
    of one process's minibatch."""
    with META:
        nets = {"generator": build_generator(cfg, x_shape, condition=condition),
                "discriminator": build_discriminator(cfg, x_shape, condition=condition)}
        if cfg.inference.joint:
            nets["encoder"] = build_encoder(cfg, x_shape)
    trained = sum(tensor_bytes(net) for net in nets.values())
    average = tensor_bytes(nets["generator"]) if cfg.train.ema_decay > 0 else 0
    params = {name: sum(p.numel() for p in nets[name].parameters()) for name in ("generator", "discriminator")}
    return NetworkSizes(weights=trained + average, trained=trained,
                        activations=activation_bytes(cfg, x_shape, batch, nets),
                        update_macs=(params["generator"] + 2 * params["discriminator"]) * batch)
