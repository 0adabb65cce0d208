"""The paper's convolutional networks (``docs/paper.md`` section 4, CIFAR-10 convolutional column).

G (arch deconv): z [m, 100] -> ReLU 8000 -> sigmoid 8000 -> reshape [80, 10, 10] -> a 5x5 transposed
   convolution with output stride 3 -> [3, 32, 32] (10 - 1) * 3 + 5 = 32, linear (the images are
   contrast-normalised), weights ~ U(-0.05, 0.05). Each output pixel has its own bias (pylearn2's
   untied bias), which a sigmoid output starts at logit(mean training pixel) as the MLP's does. Where
   the convolution makes a larger image than the data's, its centre is kept (conv-mnist: 32 -> 28).
D (arch conv-maxout): x [m, 3, 32, 32] -> three convolutional maxout layers, then maxout 500x5 and the
   logit; dropout on each layer's input (keep 0.8 on the pixels, 0.5 later), weights ~ U(-0.005, 0.005).

       layer                                      output (32x32 input)
       conv 8x8 pad 4, 32 channels x 2 pieces     [32, 33, 33]
       max-pool 4 stride 2                        [32, 16, 16]
       conv 8x8 pad 3, 32 x 2                     [32, 15, 15]
       max-pool 4 stride 2                        [32, 7, 7]
       conv 5x5 pad 3, 192 x 2                    [192, 9, 9]
       max-pool 2 stride 2                        [192, 5, 5]
       maxout 500 x 5 on the 4,800 features       [500]
       linear 1                                   the logit of D(x)

   A convolution's output is n + 2 pad - kernel + 1; a pool's is ceil((n - pool) / stride) + 1, pylearn2's
   rule that every input pixel lies in some window (the last window may overhang the edge), which is
   PyTorch's ceil_mode. Any image size and channel count for which every layer's output is at least
   1x1 works (checked when a config is read: advnets.conv_shapes); e.g. MNIST's 28x28 directly
   ([32, 29, 29] -> ... -> [192, 4, 4]) or padded to 32x32 (discriminator.pad_to).

Conditions (models/conditions.py): a class label enters D beside the flattened convolutional features
(its first fully connected layer); an inpainting mask enters as extra input channels beside the
(dropped-out) pixels. G reads them beside z, as the MLP does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from advnets.config import ConvLayerConfig, DiscriminatorConfig, GeneratorConfig
from advnets.conv_shapes import conv_stack_shapes
from advnets.data.masks import unpack_observed
from advnets.models.conditions import NO_CONDITION, Condition
from advnets.models.mlp import (DropoutInput, Maxout, dropped_blocks, hidden_stack, output_init_range,
                                pixel_logit, sample_prior, uniform_init_)

def _centre_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The centre height x width of images [m, C, H', W'] (H' >= height, W' >= width)."""
    top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
    return x[:, :, top : top + height, left : left + width]


class DeconvGenerator(nn.Module):
    """G(z): fully connected layers as the MLP's, reshaped to feature maps, then one transposed convolution."""

    def __init__(self, cfg: GeneratorConfig, x_shape: tuple[int, ...], data_mean: torch.Tensor | None = None,
                 condition: Condition = NO_CONDITION):
        super().__init__()
        self.z_dim = cfg.z_dim
        self.condition = condition
        self.n_classes = condition.n_classes
        self.x_shape = tuple(x_shape)
        self.prior = cfg.z_prior
        self.output = cfg.output
        self.feature_shape = tuple(cfg.feature_shape)  # [C, h, w]
        self.hidden = hidden_stack(cfg, cfg.z_dim + condition.g_width)
        self.out = nn.ConvTranspose2d(self.feature_shape[0], self.x_shape[0], cfg.kernel, stride=cfg.stride,
                                      bias=False)
        nn.init.uniform_(self.out.weight, -output_init_range(cfg), output_init_range(cfg))
        self.bias = nn.Parameter(torch.zeros(self.x_shape))  # one per output pixel [C, H, W]
        if cfg.output_bias == "data-logit" and data_mean is not None:
            with torch.no_grad():
                self.bias.copy_(pixel_logit(data_mean.reshape(self.x_shape)))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.z_dim, f"z must be [m, {self.z_dim}], got {list(z.shape)}"
        h = self.hidden(self.condition.features(z, c, for_d=False))  # [m, C*h*w]
        maps = self.out(h.view(len(z), *self.feature_shape))  # [m, channels, (h-1)*stride + kernel, ...]
        logits = _centre_crop(maps, *self.x_shape[1:]) + self.bias  # [m, *x_shape]
        x = torch.sigmoid(logits) if self.output == "sigmoid" else logits
        return self.condition.compose(x, c)

    def sample_z(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        device = device if device is not None else self.out.weight.device
        return sample_prior(n, self.z_dim, self.prior, generator, device)


class ConvMaxout(nn.Module):
    """A convolution to channels * pieces maps, the max over each group of `pieces` consecutive maps
    (pylearn2's layout), then a max-pool whose windows may overhang the edge."""

    def __init__(self, n_in: int, layer: ConvLayerConfig, init_range: float):
        super().__init__()
        self.channels, self.pieces = layer.channels, layer.pieces
        self.conv = nn.Conv2d(n_in, layer.channels * layer.pieces, layer.kernel, padding=layer.pad)
        nn.init.uniform_(self.conv.weight, -init_range, init_range)
        nn.init.zeros_(self.conv.bias)
        stride = layer.pool_stride or layer.pool
        self.pool = (nn.MaxPool2d(layer.pool, stride, ceil_mode=True) if (layer.pool, stride) != (1, 1)
                     else nn.Identity())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a = self.conv(h)  # [m, U*P, h', w']
        a = a.view(len(h), self.channels, self.pieces, *a.shape[2:]).amax(dim=2)  # [m, U, h', w']
        return self.pool(a)


class ConvDiscriminator(nn.Module):
    """D(x) as a logit: convolutional maxout layers, then maxout layers; dropout on each layer's input."""

    def __init__(self, cfg: DiscriminatorConfig, x_shape: tuple[int, ...], condition: Condition = NO_CONDITION):
        super().__init__()
        self.x_shape = tuple(x_shape)
        self.condition = condition
        self.n_classes = condition.n_classes
        self.pad_to = cfg.pad_to
        extra_channels = x_shape[0] if condition.kind == "mask" else 0  # the mask, beside the pixels
        shapes = conv_stack_shapes(cfg.conv, x_shape, cfg.pad_to)
        n_in = [x_shape[0] + extra_channels] + [c for c, _, _ in shapes[:-1]]
        self.convs = nn.ModuleList(ConvMaxout(n, layer, cfg.init_range) for n, layer in zip(n_in, cfg.conv))
        n_features = math.prod(shapes[-1]) + (condition.n_classes if condition.kind == "class" else 0)
        widths = [n_features, *cfg.hidden]
        self.blocks = nn.ModuleList(Maxout(a, b, cfg.pieces, cfg.init_range) for a, b in zip(widths[:-1], widths[1:]))
        keeps = [cfg.input_keep] + [cfg.hidden_keep] * (len(cfg.conv) + len(cfg.hidden))
        self.dropouts = nn.ModuleList(DropoutInput(k) for k in keeps)  # one per layer's input, the logit's last
        self.out = uniform_init_(nn.Linear(widths[-1], 1), cfg.init_range)

    def _padded(self, x: torch.Tensor) -> torch.Tensor:
        if not self.pad_to:
            return x
        dh, dw = self.pad_to - x.shape[2], self.pad_to - x.shape[3]
        return F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))  # zeros, centred

    def hidden_layers(self, x: torch.Tensor, generator: torch.Generator | None = None,
                      c: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Every hidden layer's output, flattened [m, features] (e.g. for semi-supervised learning)."""
        assert tuple(x.shape[1:]) == self.x_shape, f"x must be [m, {self.x_shape}], got {list(x.shape)}"
        self.condition.check(c, len(x))
        h = self.dropouts[0](x, generator)  # [m, C, H, W]
        if self.condition.kind == "mask":
            h = torch.cat([h, unpack_observed(c)[1].to(h.dtype)], dim=1)  # [m, 2C, H, W]: the mask never dropped
        h = self._padded(h)
        layers = []
        for i, conv in enumerate(self.convs):
            if i > 0:
                h = self.dropouts[i](h, generator)
            h = conv(h)  # [m, channels, h', w']
            layers.append(h.reshape(len(x), -1))
        label = (self.condition, c) if self.condition.kind == "class" else (NO_CONDITION, None)  # beside the features
        return layers + dropped_blocks(layers[-1], self.dropouts[len(self.convs):], self.blocks, *label, generator)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None,
                c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden_layers(x, generator, c)[-1]
        return self.out(self.dropouts[-1](h, generator)).squeeze(1)  # [m] logits of D(x)
