"""Image sizes through convolutions, transposed convolutions and pools: the arithmetic of the
convolutional networks (advnets.models.conv), kept free of PyTorch so that a config can be checked
against its data's image size before anything is built.

A layer here is anything with the attributes of ``advnets.config.ConvLayerConfig`` (channels, kernel,
pad, pool, pool_stride).
"""

from __future__ import annotations

from typing import Any, Sequence


def deconv_size(n: int, kernel: int, stride: int) -> int:
    """Output size of a transposed convolution without padding: (n - 1) * stride + kernel."""
    return (n - 1) * stride + kernel


def deconv_problem(feature_shape: Sequence[int], kernel: int, stride: int, x_shape: Sequence[int]) -> str | None:
    """Why G's transposed convolution cannot make images of `x_shape` [C, H, W], or None."""
    _, h, w = feature_shape
    out = (deconv_size(h, kernel, stride), deconv_size(w, kernel, stride))
    if out[0] < x_shape[1] or out[1] < x_shape[2]:
        return (f"{h}x{w} features, kernel {kernel}, stride {stride} make {out[0]}x{out[1]} images, smaller than "
                f"the data's {x_shape[1]}x{x_shape[2]} (need (h - 1) * stride + kernel >= the image size)")
    return None


def conv_size(n: int, kernel: int, pad: int) -> int:
    return n + 2 * pad - kernel + 1


def pooled_size(n: int, pool: int, stride: int) -> int:
    """Max-pool output size with windows allowed to overhang the edge (PyTorch's ceil_mode; pylearn2's
    rule): ceil((n - pool) / stride) + 1, less one where the last window would start past the input."""
    if pool == 1 and stride == 1:
        return n
    out = -(-(n - pool) // stride) + 1
    return out - 1 if (out - 1) * stride >= n else out


def conv_stack_shapes(layers: Sequence[Any], x_shape: Sequence[int],
                      pad_to: int | None = None) -> list[tuple[int, int, int]]:
    """[C, H, W] after each convolutional maxout layer (after its pooling), for images of `x_shape`."""
    h, w = (pad_to, pad_to) if pad_to else (x_shape[1], x_shape[2])
    shapes = []
    for layer in layers:
        h, w = conv_size(h, layer.kernel, layer.pad), conv_size(w, layer.kernel, layer.pad)
        if min(h, w) < layer.pool:
            return shapes + [(layer.channels, min(h, 0), min(w, 0))]
        stride = layer.pool_stride or layer.pool
        h, w = pooled_size(h, layer.pool, stride), pooled_size(w, layer.pool, stride)
        shapes.append((layer.channels, h, w))
    return shapes


def conv_stack_problem(layers: Sequence[Any], x_shape: Sequence[int],
                       pad_to: int | None = None) -> str | None:
    """Why D's convolutional layers cannot read images of `x_shape`, or None."""
    size = f"{pad_to}x{pad_to}" if pad_to else f"{x_shape[1]}x{x_shape[2]}"
    for i, (c, h, w) in enumerate(conv_stack_shapes(layers, x_shape, pad_to)):
        if h < 1 or w < 1:
            return (f"on {size} images, layer {i}'s convolution (kernel {layers[i].kernel}, pad {layers[i].pad}) "
                    f"leaves less than its {layers[i].pool}x{layers[i].pool} pool (smaller kernels, more padding "
                    "or fewer layers)")
    return None
