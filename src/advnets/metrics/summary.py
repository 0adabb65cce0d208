"""Summaries over repeated runs: the mean and its standard error (std / sqrt(n))."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean of `values` and its standard error, sample std (n - 1) / sqrt(n); the error is nan for one value."""
    if not values:
        raise ValueError("mean_and_se needs at least one value")
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return mean, se


def format_mean_se(values: Sequence[float], plus_minus: str = "±", digits: int = 1) -> str:
    """'mean ± se' for a table; one value prints alone, none prints '-'."""
    if not values:
        return "-"
    mean, se = mean_and_se(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} {plus_minus} {se:.{digits}f}"
