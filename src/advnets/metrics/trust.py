"""When a number is not to be trusted as it stands: the warnings a metric row carries (``warning``, said on
standard error by the command line, as for AIS that has not converged).

- FID, KID and precision/recall on fewer than MIN_IMAGES samples or reference images: their estimators move
  with the set's size alone. Measured on MNIST in the shipped classifier's features against the 10,000 test
  images (experiments/fid_bias.py, docs/evaluation.md "How many images"): FID's excess over its value at
  10,000 is +1.2 to +1.8 at 2,000 images (real training images 2.98 against 1.23; the main job's generator
  20.9 against 19.7: under 10% of that generator's FID), +3.4 to +3.6 at 1,000 and +6 to +7 at 500, growing
  as 1/n; KID is unbiased but its spread over draws at 500 is as large as its value. Below 2,000 the size
  alone moves FID by more than the differences this project reports between settings.
- A reference more than REFERENCE_FACTOR times smaller than the samples: the reference's size then sets the
  bias (10,000 samples against 2,000 test images: FID 19.8 and precision 0.79, against 10,000: 19.0 and 0.72),
  whatever the number of samples.
- A parameter chosen on a grid (Parzen's sigma, AIS's s^2) at the grid's edge: the best value may lie
  beyond it, and the score is then a bound, not the protocol's number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MIN_IMAGES = 2_000
REFERENCE_FACTOR = 5


def size_warnings(metric: str, n_samples: int, n_reference: int) -> list[str]:
    """Warnings for a feature metric (FID, KID, precision/recall) of n_samples against n_reference images."""
    said = []
    small = [f"{n:,} {what}" for n, what in ((n_samples, "samples"), (n_reference, "reference images"))
             if n < MIN_IMAGES]
    if small:
        said.append(f"{metric} on {' and '.join(small)} (under {MIN_IMAGES:,}): its estimators are biased at this "
                    "size, compare it only with numbers of the same sizes (docs/evaluation.md, How many images)")
    if n_reference * REFERENCE_FACTOR < n_samples:
        said.append(f"the reference has {n_reference:,} images for {n_samples:,} samples (over {REFERENCE_FACTOR}x "
                    "fewer): its own noise sets the precision; use a larger reference")
    return said


def grid_edge(value: float, grid: Sequence[float], what: str) -> list[str]:
    """A warning when `value`, chosen on `grid`, is the grid's smallest or largest."""
    if value not in (min(grid), max(grid)):
        return []
    side = "smallest" if value == min(grid) else "largest"
    return [f"{what} {value:g} is the {side} of its grid ({min(grid):g} to {max(grid):g}): the best one may lie "
            "beyond it, so the score is a bound, not the protocol's number"]


def with_warnings(row: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """`row` with `warnings` added to its `warning`, one warning a line (after any it has)."""
    said = [row["warning"]] if row.get("warning") else []
    said += warnings
    return {**row, "warning": "\n".join(said)} if said else row
