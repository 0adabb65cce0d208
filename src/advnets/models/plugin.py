"""Networks from registered factories (advnets.plugins), wrapped so that the rest of advnets reads them
as it reads its own: G with ``z_dim``, ``x_shape``, ``n_classes``, ``condition`` and ``sample_z``; D called
as ``D(x, generator, c)`` and returning logits [m]. What each must do is checked once, when it is built, on
a batch of two, with one line saying what is wrong.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from advnets import plugins
from advnets.errors import ConfigError
from advnets.models.conditions import NO_CONDITION, Condition
from advnets.models.mlp import sample_prior


class PluginGenerator(nn.Module):
    """A registered G: z [m, z_dim] (and labels [m], for a class-conditional model) -> x [m, *x_shape]."""

    def __init__(self, net: nn.Module, x_shape: tuple[int, ...], z_dim: int, prior: str, condition: Condition):
        super().__init__()
        self.net, self.x_shape, self.z_dim, self.prior = net, tuple(x_shape), z_dim, prior
        self.condition, self.n_classes = condition, condition.n_classes

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.net(z, c) if self.n_classes else self.net(z)
        return x.reshape(len(z), *self.x_shape)

    def sample_z(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        device = device if device is not None else next(self.parameters()).device
        return sample_prior(n, self.z_dim, self.prior, generator, device)


class PluginDiscriminator(nn.Module):
    """A registered D: x [m, *x_shape] (and labels [m]) -> logits [m]."""

    def __init__(self, net: nn.Module, x_shape: tuple[int, ...], condition: Condition):
        super().__init__()
        self.net, self.x_shape, self.condition, self.n_classes = net, tuple(x_shape), condition, condition.n_classes

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None,
                c: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.net(x, c) if self.n_classes else self.net(x)
        return logits.reshape(len(x))


def build_plugin_generator(cfg, x_shape: tuple[int, ...], condition: Condition) -> PluginGenerator:
    """G from the factory registered as generator.arch, checked."""
    name, g = cfg.generator.arch, cfg.generator
    _no_mask(condition, f"generator.arch {name}")
    request = plugins.NetworkRequest(tuple(x_shape), g.z_dim, condition.n_classes, g)
    G = PluginGenerator(_made(plugins.generators()[name].factory, request, "generator", name), x_shape, g.z_dim,
                        g.z_prior, condition).eval()
    device = next(G.parameters()).device  # (the meta device, where a run's memory is estimated)
    z = G.sample_z(2, torch.Generator().manual_seed(0), "cpu").to(device)
    c = torch.zeros(2, dtype=torch.long, device=device) if condition.n_classes else None
    _check(lambda: G.net(z, c) if c is not None else G.net(z), (2, *x_shape), "generator", name,
           f"z [2, {g.z_dim}]", f"x [2, {', '.join(map(str, x_shape))}]")
    return G.train()


def build_plugin_discriminator(cfg, x_shape: tuple[int, ...], condition: Condition) -> PluginDiscriminator:
    """D from the factory registered as discriminator.arch, checked."""
    name = cfg.discriminator.arch
    _no_mask(condition, f"discriminator.arch {name}")
    request = plugins.NetworkRequest(tuple(x_shape), cfg.generator.z_dim, condition.n_classes, cfg.discriminator)
    D = PluginDiscriminator(_made(plugins.discriminators()[name].factory, request, "discriminator", name), x_shape,
                            condition).eval()
    device = next(D.parameters()).device
    x = torch.zeros(2, *x_shape, device=device)
    c = torch.zeros(2, dtype=torch.long, device=device) if condition.n_classes else None
    _check(lambda: D.net(x, c) if c is not None else D.net(x), None, "discriminator", name,
           f"x [2, {', '.join(map(str, x_shape))}]", "logits [2] or [2, 1]")
    return D.train()


def _no_mask(condition: Condition, what: str) -> None:
    if condition is not NO_CONDITION and condition.kind == "mask":
        raise ConfigError(f"{what}: a registered network cannot be an inpainting model yet (data.inpainting=false)")


def _made(factory, request: plugins.NetworkRequest, what: str, name: str) -> nn.Module:
    try:
        net = factory(request)
    except Exception as e:  # noqa: BLE001 - the plugin's own failure: one line naming it
        raise ConfigError(f"{what}.arch {name}: its factory failed ({type(e).__name__}: "
                          f"{(str(e).splitlines() or [''])[0][:160]})") from None
    if not isinstance(net, nn.Module):
        raise ConfigError(f"{what}.arch {name}: its factory returned {type(net).__name__}, not a torch.nn.Module")
    if not any(True for _ in net.parameters()):
        raise ConfigError(f"{what}.arch {name}: the network has no parameters to train")
    return net


def _check(call, shape: tuple[int, ...] | None, what: str, name: str, given: str, expected: str) -> None:
    """Run the new network once on a batch of two (no gradients) and check what it returns."""
    try:
        with torch.no_grad():
            out = call()
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"{what}.arch {name}: given {given} it failed ({type(e).__name__}: "
                          f"{(str(e).splitlines() or [''])[0][:160]}); it must return {expected}") from None
    ok = isinstance(out, torch.Tensor) and out.is_floating_point() and (
        out.numel() == math.prod(shape) if shape is not None else tuple(out.shape) in ((2,), (2, 1)))
    if not ok:
        got = f"{out.dtype} {list(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(f"{what}.arch {name}: given {given} it returned {got}; it must return {expected}")
