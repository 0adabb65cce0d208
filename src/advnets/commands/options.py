"""Argument types and the arguments several commands share: each type checks one kind of value at parse time,
before anything is loaded or written (a bad value is one error line: advnets.cli.Parser)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def multiple_of(n: int, what: str) -> Callable[[str], int]:
    def check(text: str) -> int:
        value = _int(text)
        if value < n or value % n:
            raise argparse.ArgumentTypeError(f"must be a positive multiple of {n} ({what}), got {value}")
        return value

    return check


def output_file(*suffixes: str) -> Callable[[str], Path]:
    """A path whose name ends in one of `suffixes` (whether it may exist is --force's business)."""
    def check(text: str) -> Path:
        path = Path(text)
        if path.suffix not in suffixes:
            raise argparse.ArgumentTypeError(f"must end in {' or '.join(suffixes)} (got {path.name})")
        return path

    return check


def mask_name(text: str) -> str:
    """One of the named masks of advnets.data.masks."""
    from advnets.data.masks import check_mask_name
    from advnets.errors import ConfigError

    try:
        check_mask_name(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix(f"--mask {text}: ").removeprefix("--mask ")) from None
    return text


def seed_list(text: str) -> list[int]:
    """Seeds as "0-35", "0,4,7" or both ("0-3,9"): each at most once, in the order given."""
    seeds: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        low = _int(first)
        high = _int(last) if last else low
        if low < 0 or high < low:
            raise argparse.ArgumentTypeError(f"must be seeds >= 0 as A-B (A <= B) or A,B,C, got {text!r}")
        seeds.extend(s for s in range(low, high + 1) if s not in seeds)
    if len(seeds) > 100_000:
        raise argparse.ArgumentTypeError(f"names {len(seeds)} seeds; at most 100,000")
    return seeds


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def add_generator_choice(p: argparse.ArgumentParser) -> None:
    from advnets.snapshot import VARIANTS

    p.add_argument("--generator", choices=VARIANTS, default="auto",
                   help="which generator of a run that kept a moving average of G's weights (train.ema_decay): "
                        "ema, the average; live, G itself (from a run directory: the snapshot whose live G "
                        "validated best); auto (default): the average when there is one")


def add_device(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
