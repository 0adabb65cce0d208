"""The paper's fully connected networks (``docs/paper.md`` section 4, MNIST column).

G: z [m, 100] -> ReLU 1200 -> ReLU 1200 -> sigmoid 784 -> x [m, 1, 28, 28], weights ~ U(-0.05, 0.05),
   biases 0 except the output's, which starts at logit(mean training pixel).
D: x -> dropout(keep 0.8) -> maxout 240x5 -> dropout(0.5) -> maxout 240x5 -> dropout(0.5) -> linear 1
   (the logit of D(x)), weights ~ U(-0.005, 0.005). Dropout uses inverted scaling (kept units are
   divided by the keep probability) and is active only in training mode.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from advnets.config import DiscriminatorConfig, GeneratorConfig
from advnets.models.conditions import NO_CONDITION, Condition

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def uniform_init_(linear: nn.Linear, init_range: float) -> nn.Linear:
    """Pylearn2's "irange": W ~ U(-r, r), b = 0."""
    nn.init.uniform_(linear.weight, -init_range, init_range)
    nn.init.zeros_(linear.bias)
    return linear


def sample_prior(n: int, z_dim: int, prior: str, generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """z ~ p_z, [n, z_dim]. "uniform" is U(-sqrt3, sqrt3) (unit variance), "gaussian" N(0, I)."""
    if prior == "uniform":
        u = torch.rand(n, z_dim, generator=generator, device=device)
        return (2 * u - 1) * math.sqrt(3.0)
    if prior == "gaussian":
        return torch.randn(n, z_dim, generator=generator, device=device)
    raise ValueError(f"unknown prior {prior!r}")


def output_init_range(cfg: GeneratorConfig) -> float:
    """irange of G's output layer: generator.output_init_range where given (CIFAR-10 fully connected:
    0.5), else generator.init_range."""
    return cfg.output_init_range if cfg.output_init_range is not None else cfg.init_range


def hidden_stack(cfg: GeneratorConfig, n_in: int) -> nn.Sequential:
    """G's fully connected hidden layers: Linear + activation for each width of generator.hidden,
    weights ~ U(-init_range, init_range), biases generator.hidden_bias (default 0); with
    generator.batch_norm (not the paper's), batch normalisation between each Linear and its activation."""
    widths = [n_in, *cfg.hidden]
    activations = cfg.hidden_activations or [cfg.activation] * len(cfg.hidden)
    biases = cfg.hidden_bias or [0.0] * len(cfg.hidden)
    layers: list[nn.Module] = []
    for n_in, n_out, activation, bias in zip(widths[:-1], widths[1:], activations, biases):
        linear = uniform_init_(nn.Linear(n_in, n_out), cfg.init_range)
        nn.init.constant_(linear.bias, bias)
        norm = [nn.BatchNorm1d(n_out)] if cfg.batch_norm else []
        layers += [linear, *norm, ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """G(z): an MLP from the latent space to data space."""

    def __init__(self, cfg: GeneratorConfig, x_shape: tuple[int, ...], data_mean: torch.Tensor | None = None,
                 condition: Condition = NO_CONDITION):
        super().__init__()
        self.z_dim = cfg.z_dim
        self.condition = condition  # G(z, c): c a class label or observed pixels (models/conditions.py)
        self.n_classes = condition.n_classes  # > 0: class-conditional
        self.x_shape = tuple(x_shape)
        self.prior = cfg.z_prior
        self.output = cfg.output
        n_in = cfg.z_dim + condition.g_width
        self.hidden = hidden_stack(cfg, n_in)
        self.out = uniform_init_(nn.Linear(cfg.hidden[-1] if cfg.hidden else n_in, math.prod(self.x_shape)),
                                 output_init_range(cfg))
        if cfg.output_bias == "data-logit" and data_mean is not None:
            with torch.no_grad():
                self.out.bias.copy_(pixel_logit(data_mean.reshape(-1)))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.z_dim, f"z must be [m, {self.z_dim}], got {list(z.shape)}"
        h = self.condition.features(z, c, for_d=False)  # [m, z_dim (+ the condition's width)]
        logits = self.out(self.hidden(h))  # [m, prod(x_shape)]
        x = torch.sigmoid(logits) if self.output == "sigmoid" else logits
        return self.condition.compose(x.view(len(z), *self.x_shape), c)  # [m, *x_shape]

    def sample_z(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        device = device if device is not None else self.out.weight.device
        return sample_prior(n, self.z_dim, self.prior, generator, device)


@torch.no_grad()
def constrain_column_norms_(module: nn.Module, max_norm: float) -> None:
    """Pylearn2's max_col_norm: scale each unit's incoming weight vector (a row of a torch Linear's
    weight, a column of pylearn2's W) to norm <= max_norm, as W * clip(|w|, 0, c) / (1e-7 + |w|)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            clip_row_norms_(layer.weight, max_norm)


@torch.no_grad()
def clip_row_norms_(weight: torch.Tensor, max_norm: float) -> None:
    """Each row of `weight` [..., out, in] (over its last dimension) scaled to norm <= max_norm, as
    constrain_column_norms_ does (for a leading member dimension too: advnets.members)."""
    norms = weight.norm(dim=-1, keepdim=True)  # [..., out, 1]
    weight.mul_(norms.clamp(max=max_norm) / (1e-7 + norms))


def pixel_logit(mean: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """logit of the mean pixel, clipped like pylearn2's init_bias_target_marginals."""
    p = mean.double().clamp(eps, 1 - eps)
    return torch.log(p / (1 - p)).float()


class Maxout(nn.Module):
    """Maxout(U units, P pieces): a linear map to U*P outputs, then the max over each group of P
    consecutive outputs (pylearn2's layout)."""

    def __init__(self, n_in: int, units: int, pieces: int, init_range: float):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = uniform_init_(nn.Linear(n_in, units * pieces), init_range)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a = self.linear(h)  # [m, U*P]
        return a.view(len(h), self.units, self.pieces).amax(dim=2)  # [m, U]


class DropoutInput(nn.Module):
    """Dropout on a layer's input with inverted scaling: h * mask / keep, mask ~ Bernoulli(keep).

    The mask is drawn as (u < keep) with u ~ U[0, 1) from an explicit generator when one is given,
    so runs replay exactly; on CPU this is about twice as fast as ``Tensor.bernoulli_``.
    """

    def __init__(self, keep: float):
        super().__init__()
        self.keep = keep

    def forward(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if not self.training or self.keep >= 1.0:
            return h
        kept = torch.rand(h.shape, generator=generator, device=h.device, dtype=h.dtype) < self.keep  # [m, n]
        return h * kept * (1.0 / self.keep)


def dropped_blocks(h: torch.Tensor, dropouts, blocks, condition: Condition, c: torch.Tensor | None,
                   generator: torch.Generator | None) -> list[torch.Tensor]:
    """D's fully connected layers on features h [m, n]: dropout on each block's input, then the block;
    the condition's features join the first block's input after its dropout (a condition is never
    dropped). Returns every block's output [m, units]."""
    layers = []
    for i, (dropout, block) in enumerate(zip(dropouts, blocks)):
        h = dropout(h, generator)
        if i == 0:
            h = condition.features(h, c, for_d=True)  # [m, n (+ the condition's width)]
        h = block(h)  # [m, units]
        layers.append(h)
    return layers


class MLPDiscriminator(nn.Module):
    """D(x) as a logit: maxout (or plain activation) layers, dropout on each layer's input."""

    def __init__(self, cfg: DiscriminatorConfig, x_shape: tuple[int, ...], condition: Condition = NO_CONDITION):
        super().__init__()
        self.x_shape = tuple(x_shape)
        self.condition = condition  # D(x, c): c's features beside the (dropped-out) pixels
        self.n_classes = condition.n_classes
        widths = [math.prod(self.x_shape) + condition.d_width, *cfg.hidden]
        keeps = [cfg.input_keep] + [cfg.hidden_keep] * len(cfg.hidden)
        self.dropouts = nn.ModuleList(DropoutInput(k) for k in keeps)
        blocks: list[nn.Module] = []
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            if cfg.arch == "maxout":
                blocks.append(Maxout(n_in, n_out, cfg.pieces, cfg.init_range))
            else:
                blocks.append(nn.Sequential(uniform_init_(nn.Linear(n_in, n_out), cfg.init_range),
                                            ACTIVATIONS[cfg.activation]()))
        self.blocks = nn.ModuleList(blocks)
        self.out = uniform_init_(nn.Linear(widths[-1], 1), cfg.init_range)

    def hidden_layers(self, x: torch.Tensor, generator: torch.Generator | None = None,
                      c: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Every hidden layer's output [m, units] (its features, e.g. for semi-supervised learning)."""
        assert tuple(x.shape[1:]) == self.x_shape, f"x must be [m, {self.x_shape}], got {list(x.shape)}"
        return dropped_blocks(x.reshape(len(x), -1), self.dropouts, self.blocks, self.condition, c, generator)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None,
                c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden_layers(x, generator, c)[-1]
        return self.out(self.dropouts[-1](h, generator)).squeeze(1)  # [m] logits of D(x)
