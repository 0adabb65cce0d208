"""Every member's random numbers from its own stream, drawn outside the vmap and replayed inside it.

A lone run draws its noise, dropout masks and instance noise from its "game" generator as its forward
passes go (``torch.rand(shape, generator=game.rng)``). Members run one forward pass for all K under
``torch.func.vmap``, where a draw would be one draw for all members (or refused). So a member's code is
handed a marker generator, :data:`MEMBER_STREAM`, in place of its own, and:

1. once per phase (a named forward pass of the iteration), a dry run under vmap with :class:`Recording`
   notes every draw the code makes from the marker: the function, its shape arguments, in order;
2. at every iteration, :meth:`Tape.draw` makes those draws for each member from that member's own
   generator, in that order (what its lone run would draw, value for value), stacked to [K, ...];
3. the phase runs under vmap with :class:`Replaying`, which hands the code the next stacked draw (member
   i's slice, inside the vmap) where it asks the marker.

A draw from PyTorch's global generator (``nn.Dropout``, ``torch.rand`` without ``generator=``) is not any
member's stream: vmap refuses it, and :func:`explain_vmap_failure` says so in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from advnets.errors import ConfigError

MEMBER_STREAM = torch.Generator()  # the marker a member's code draws from (never drawn from itself)

Draw = tuple[Callable, tuple, dict]  # a recorded draw: the function, its arguments, its keywords (no generator)


def _is_member_draw(kwargs: dict | None) -> bool:
    return bool(kwargs) and kwargs.get("generator") is MEMBER_STREAM


def _call(func, args, kwargs: dict | None):
    """`func` as called, except that an `out=` variant (which vmap cannot batch: spectral normalisation's power
    iteration writes its vectors so) is computed, then copied into `out` in place."""
    kwargs = kwargs or {}
    out = kwargs.get("out")
    if isinstance(out, torch.Tensor):
        result = func(*args, **{k: v for k, v in kwargs.items() if k != "out"})
        with torch.no_grad():
            return out.copy_(result)
    return func(*args, **kwargs)


class Recording(TorchFunctionMode):
    """Notes the draws made from MEMBER_STREAM (their values are throwaway: a dry run)."""

    def __init__(self):
        super().__init__()
        self.draws: list[Draw] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if _is_member_draw(kwargs):
            plain = {k: v for k, v in kwargs.items() if k != "generator"}
            if any(isinstance(a, torch.Tensor) for a in args):
                raise ConfigError(f"a network draws with {getattr(func, '__name__', func)} on a tensor; "
                                  "members replay only draws that make a new tensor (torch.rand, randn, randint, ...)")
            self.draws.append((func, tuple(args), plain))
            throwaway = torch.Generator(torch.device(plain.get("device") or "cpu"))  # the global stream untouched
            return func(*args, generator=throwaway, **plain)
        return _call(func, args, kwargs)


class Replaying(TorchFunctionMode):
    """Hands out a phase's pre-drawn tensors, in order, where the code draws from MEMBER_STREAM."""

    def __init__(self, draws: list[Draw], values: list[torch.Tensor]):
        super().__init__()
        self.draws, self.values, self.next = draws, values, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if _is_member_draw(kwargs):
            i = self.next
            if i >= len(self.draws) or self.draws[i][0] is not func:
                raise RuntimeError(f"members: draw {i + 1} of this phase is {getattr(func, '__name__', func)}, "
                                   "not what the recorded pass drew; the iteration's draws must not depend on data")
            self.next += 1
            return self.values[i]
        return _call(func, args, kwargs)


class Tape:
    """The draws of each phase of the iteration (recorded once), made per member (see the module docstring)."""

    def __init__(self):
        self.phases: dict[str, list[Draw]] = {}

    def known(self, phase: str) -> bool:
        return phase in self.phases

    def record(self, phase: str, dry_run: Callable[[], Any], state: list[torch.Tensor] = ()) -> None:
        """Run `dry_run` (the phase under vmap with randomness "same", without gradients) once, noting its draws;
        `state`: tensors the pass may write (spectral normalisation's vectors), put back afterwards."""
        recording = Recording()
        kept = [t.clone() for t in state]
        with torch.no_grad(), recording:
            dry_run()
            for tensor, value in zip(state, kept):
                tensor.copy_(value)
        self.phases[phase] = recording.draws

    def draw(self, phase: str, generators: list[torch.Generator]) -> list[torch.Tensor]:
        """The phase's draws for every member, each from its own generator in the recorded order: [K, ...] each."""
        draws = self.phases[phase]
        per_member = [[func(*args, generator=rng, **kwargs) for func, args, kwargs in draws] for rng in generators]
        return [torch.stack(values) for values in zip(*per_member)] if per_member and draws else []

    def replaying(self, phase: str, values: list[torch.Tensor]) -> Replaying:
        return Replaying(self.phases[phase], values)


def explain_vmap_failure(error: Exception, what: str) -> ConfigError:
    """One line for a network that cannot run as members (vmap refused it)."""
    text = (str(error).splitlines() or [type(error).__name__])[0]
    if "randomness" in text:
        return ConfigError(f"{what} draws random numbers from PyTorch's global generator (e.g. nn.Dropout or "
                           "torch.rand without generator=), which is no member's own stream: draw from the generator "
                           "the network is handed, or train the seeds one by one")
    return ConfigError(f"{what} cannot run as stacked members under torch.func.vmap ({text}); train the seeds "
                       "one by one")
