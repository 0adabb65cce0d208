"""The warnings a metric row carries (advnets.metrics.trust)."""

from advnets.metrics.parzen_window import SIGMA_GRID
from advnets.metrics.trust import MIN_IMAGES, REFERENCE_FACTOR, grid_edge, size_warnings, with_warnings


def test_size_warnings_fire_below_the_measured_threshold_and_for_a_small_reference():
    assert size_warnings("FID", MIN_IMAGES, MIN_IMAGES) == []
    low = size_warnings("FID", MIN_IMAGES - 1, 10_000)
    assert len(low) == 1 and f"{MIN_IMAGES - 1:,} samples" in low[0] and "reference" not in low[0]
    both = size_warnings("FID", 500, 400)
    assert len(both) == 1 and "500 samples and 400 reference images" in both[0]
    lopsided = size_warnings("FID", 50_000, 50_000 // REFERENCE_FACTOR - 1)
    assert len(lopsided) == 1 and f"over {REFERENCE_FACTOR}x fewer" in lopsided[0]
    assert size_warnings("FID", 50_000, 50_000 // REFERENCE_FACTOR) == []


def test_a_grid_edge_is_said_and_the_inside_is_not():
    assert grid_edge(SIGMA_GRID[3], SIGMA_GRID, "sigma") == []
    assert "smallest" in grid_edge(SIGMA_GRID[0], SIGMA_GRID, "sigma")[0]
    assert "largest" in grid_edge(SIGMA_GRID[-1], SIGMA_GRID, "sigma")[0]


def test_warnings_are_one_a_line_after_those_a_row_has():
    assert with_warnings({"a": 1}, []) == {"a": 1}
    row = with_warnings({"warning": "first"}, ["second", "third"])
    assert row["warning"].splitlines() == ["first", "second", "third"]
