import torch

from advnets.metrics.diversity import COLLAPSE_DIVERSITY, HEALTHY_DIVERSITY, CollapseWatch, diversity, mean_pairwise_distance


def test_mean_pairwise_distance_and_diversity():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert mean_pairwise_distance(x) == 5.0 and mean_pairwise_distance(x[:1]) == 0.0
    assert diversity(x, real_spread=10.0) == 0.5


def test_collapse_is_a_fall_after_a_healthy_peak():
    watch = CollapseWatch()
    low = COLLAPSE_DIVERSITY / 2
    assert not watch.collapsed(low, 0.5, 0.5)  # G starts near the mean image: low diversity is not a collapse yet
    assert not watch.collapsed(HEALTHY_DIVERSITY + 0.2, 0.5, 0.5)
    assert watch.collapsed(low, 0.5, 0.5) and watch.peak == HEALTHY_DIVERSITY + 0.2
    rows = [{"diversity": 0.9, "d_real": 0.5, "d_fake": 0.5}]
    assert CollapseWatch.from_rows(rows).collapsed(low, 0.5, 0.5)  # a resumed run keeps its peak


def test_a_collapse_that_starts_before_diversity_rose_is_flagged():
    """quick-mnist's first epoch (stats of the README's main job): G near the mean image while D learns
    nothing, then one repeated "9" once D separates (steps 350-650), then varied digits."""
    rows = [(50, 0.052, 0.0), (150, 0.052, 0.0), (250, 0.052, 0.16), (300, 0.053, 0.45), (350, 0.043, 0.92),
            (400, 0.052, 0.9), (450, 0.041, 0.63), (500, 0.059, 0.8), (550, 0.065, 0.88), (600, 0.09, 0.85),
            (650, 0.058, 0.88), (700, 0.155, 0.85), (750, 0.283, 0.86), (800, 0.315, 0.85), (850, 0.245, 0.84)]
    watch = CollapseWatch()
    flagged = [step for step, value, gap in rows if watch.collapsed(value, 0.5 + gap / 2, 0.5 - gap / 2)]
    assert flagged == [400, 450, 500, 550, 600, 650]  # the third low interval since D separated, until diversity rose
    never_begun = CollapseWatch()
    assert not any(never_begun.collapsed(0.05, 0.5, 0.5) for _ in range(50))  # D learns nothing: not yet a game
