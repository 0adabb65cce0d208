"""What a conditional network is given besides z (G) or x (D): the paper's future work 1 and 3.

    none    G(z), D(x)
    class   p(x | c), c the class label [m] (int64): G reads [z, one_hot(c)], D reads
            [dropout(x), one_hot(c)] (data.conditional)
    mask    p(x_S | x_notS), c = [x * mask, mask] [m, 2C, H, W] (data/masks.py, 1 = observed): G reads
            [z, c] and its output keeps the observed pixels, x = mask * x_obs + (1 - mask) * G's
            pixels; D reads [dropout(x), mask], so it judges a completed image knowing which pixels
            were given (data.inpainting)

The condition's features are appended *after* D's input dropout: a label or a mask is never dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from advnets.data.masks import unpack_observed


@dataclass(frozen=True)
class Condition:
    kind: str = "none"  # none | class | mask
    n_classes: int = 0
    x_shape: tuple[int, ...] = ()

    @property
    def g_width(self) -> int:
        """Extra inputs of G beside z."""
        return {"none": 0, "class": self.n_classes, "mask": 2 * math.prod(self.x_shape)}[self.kind]

    @property
    def d_width(self) -> int:
        """Extra inputs of D beside the pixels."""
        return {"none": 0, "class": self.n_classes, "mask": math.prod(self.x_shape)}[self.kind]

    def check(self, c: torch.Tensor | None, m: int) -> None:
        if self.kind == "none":
            assert c is None, "a condition given to an unconditional network"
        elif self.kind == "class":
            assert c is not None and c.shape == (m,), f"a class-conditional network needs labels [{m}]"
        else:
            assert c is not None and tuple(c.shape) == (m, 2 * self.x_shape[0], *self.x_shape[1:]), \
                f"an inpainting network needs [x * mask, mask] of shape [{m}, {2 * self.x_shape[0]}, ...]"

    def features(self, h: torch.Tensor, c: torch.Tensor | None, for_d: bool) -> torch.Tensor:
        """[h, the condition's features] for G (h = z) or D (h = dropped-out pixels) [m, width]."""
        self.check(c, len(h))
        if self.kind == "none":
            return h
        if self.kind == "class":
            return torch.cat([h, F.one_hot(c, self.n_classes).to(h.dtype)], dim=1)
        given = unpack_observed(c)[1] if for_d else c  # D: the mask; G: observed pixels and mask
        return torch.cat([h, given.reshape(len(h), -1).to(h.dtype)], dim=1)

    def compose(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """G's output with the observed pixels kept (inpainting), else x unchanged."""
        if self.kind != "mask":
            return x
        observed, mask = unpack_observed(c)
        return mask * observed + (1 - mask) * x  # [m, C, H, W]


NO_CONDITION = Condition()
