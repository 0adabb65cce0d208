"""A wall-clock budget turned into updates, once per setting: every trial then trains a fixed number of updates,
so that its result depends on its seed (and the thread count), not on how busy the machine was.

A setting's updates per second are timed on the study's machine (`budget.threads` threads, default
PyTorch's), iterations of its real training step in windows, the median taken. Settings whose updates are the
same operations on the same shapes (they differ only in numbers such as rates, betas or label smoothing) share
one timing: their differences in time would be the machine's drift, not theirs.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from advnets.studies.spec import StudySpec

# Keys whose values change numbers, not operations (a setting differing only in these costs the same)
SAME_COST_KEYS = {"name", "seed", "optim.lr", "optim.g_lr", "optim.d_lr", "optim.betas", "optim.lr_decay",
                  "optim.lr_min", "optim.momentum", "optim.momentum_final", "loss.label_smoothing", "loss.r1_gamma",
                  "loss.instance_noise", "train.ema_decay", "train.steps", "threads", "train.progress"}
ON_OFF_KEYS = ("loss.r1_gamma", "loss.instance_noise", "train.ema_decay", "loss.label_smoothing")  # 0 or not


def cost_signature(spec: StudySpec, setting: str) -> str:
    """What decides a setting's cost per update: its config without SAME_COST_KEYS (whether R1, instance noise,
    label smoothing and G's average are on still counts)."""
    from advnets.config import flatten, load_config, to_dict

    cfg = flatten(to_dict(load_config(spec.base, spec.trial_overrides(setting, spec.seeds[0], 1))))
    on_off = {f"{key} on": bool(cfg[key]) for key in ON_OFF_KEYS}
    return json.dumps({**{k: v for k, v in sorted(cfg.items()) if k not in SAME_COST_KEYS}, **on_off}, sort_keys=True)


def updates_per_second(spec: StudySpec, setting: str, threads: int | None, windows: int = 5,
                       window_s: float = 1.0) -> float:
    """The median, over `windows` windows of about `window_s` seconds, of the setting's training steps per second
    (after a warm-up), on `threads` threads."""
    import torch

    from advnets.config import load_config
    from advnets.train import build_game, plan_training
    from advnets.train.algorithm import train_iteration

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        game = build_game(plan_training(load_config(spec.base, spec.trial_overrides(setting, spec.seeds[0], 1))))
        started = time.perf_counter()
        for _ in range(5):  # warm-up: buffers, caches; and a first estimate of the step's time
            train_iteration(game)
        per_step = (time.perf_counter() - started) / 5
        n = max(3, round(window_s / max(per_step, 1e-6)))
        rates = []
        for _ in range(windows):
            started = time.perf_counter()
            for _ in range(n):
                train_iteration(game)
            rates.append(n / (time.perf_counter() - started))
        return statistics.median(rates)
    finally:
        torch.set_num_threads(before)


def calibrate(spec: StudySpec, settings: list[str], known: dict[str, Any] | None = None, say=print
              ) -> dict[str, Any]:
    """Each of `settings`' updates in the budget's seconds (a multiple of 100, at least 100), with how it was
    measured; `known`: calibrations made already (kept, and shared with settings of the same cost)."""
    import torch

    from advnets.runtime import environment

    out = dict(known or {})
    by_cost = {cost_signature(spec, name): name for name in out}
    threads = spec.budget.threads or torch.get_num_threads()
    for setting in settings:
        if setting in out:
            continue
        signature = cost_signature(spec, setting)
        if signature in by_cost:
            out[setting] = {**out[by_cost[signature]], "same_cost_as": by_cost[signature]}
        else:
            rate = updates_per_second(spec, setting, threads)
            updates = max(100, round(spec.budget.seconds * rate / 100) * 100)
            env = environment()
            out[setting] = {"updates": updates, "updates_per_s": round(rate, 3), "threads": threads,
                            "seconds": spec.budget.seconds, "machine": f"{env.get('cpu', '?')}, torch "
                            f"{env.get('torch', '?')}", "date": time.strftime("%Y-%m-%d")}
            by_cost[signature] = setting
        say(f"  {setting}: {out[setting]['updates']} updates in {spec.budget.seconds:g} s "
            f"({out[setting]['updates_per_s']:.1f} updates/s on {out[setting]['threads']} threads"
            + (f", as {out[setting]['same_cost_as']}" if "same_cost_as" in out[setting] else "") + ")")
    return out
