"""Non-finite numbers in a run: found on the device, never written to a checkpoint.

A GAN that diverges (a learning rate too large, D saturating) turns its losses and then its weights
into NaN or infinity, after which every further step, snapshot and sample is worthless. The loop asks
:func:`find_nonfinite` at every log interval and before every checkpoint: one reduction on the device
over the interval's summed statistics and every tensor a checkpoint would hold (weights, moving
average, optimizer buffers), read back with the statistics the log reads anyway. What it finds is
named in one line; the loop then stops (train.on_nonfinite=stop) or goes back to the last checkpoint
with the learning rates halved (rollback).
"""

from __future__ import annotations

import torch

from advnets.train.algorithm import STAT_NAMES
from advnets.train.game import Game


def _optimizer_tensors(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [v for state in opt.state.values() for v in state.values()
            if isinstance(v, torch.Tensor) and v.is_floating_point()]


def checked_tensors(game: Game) -> dict[str, list[torch.Tensor]]:
    """What a checkpoint holds, by the name a message gives it."""
    groups = {
        "D's weights": list(game.d.net.parameters()) + _optimizer_tensors(game.d.opt),
        "G's weights": list(game.g.net.parameters()) + _optimizer_tensors(game.g.opt),
    }
    if game.average is not None:
        groups["G's moving average"] = list(game.average.model.parameters())
    if game.encoder is not None:
        groups["E's weights"] = list(game.encoder.model.parameters()) + _optimizer_tensors(game.encoder.opt)
    return groups


@torch.no_grad()
def find_nonfinite(game: Game, sums: torch.Tensor) -> list[str]:
    """Names of what is not finite: statistics of the interval (summed in `sums`, indexed as
    STAT_NAMES) and groups of checkpointed tensors; [] when everything is finite."""
    groups = checked_tensors(game)
    flags = [torch.isfinite(sums)]
    for tensors in groups.values():
        flags.append(torch.stack([torch.isfinite(t).all() for t in tensors]).all().reshape(1) if tensors
                     else torch.ones(1, dtype=torch.bool, device=sums.device))
    finite = torch.cat([f.to(sums.device) for f in flags]).tolist()  # the one host read
    names = list(STAT_NAMES) + list(groups)
    return [name for name, ok in zip(names, finite) if not ok]
