import torch

from advnets.metrics.diversity import COLLAPSE_DIVERSITY, HEALTHY_DIVERSITY, CollapseWatch, diversity, mean_pairwise_distance


def test_mean_pairwise_distance_and_diversity():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]])
    assert mean_pairwise_distance(x) == 5.0 and mean_pairwise_distance(x[:1]) == 0.0
    assert diversity(x, real_spread=10.0) == 0.5


def test_collapse_is_a_fall_after_a_healthy_peak():
    watch = CollapseWatch()
    low = COLLAPSE_DIVERSITY / 2
    assert not watch.collapsed(low)  # G starts near the mean image: low diversity is not a collapse yet
    assert not watch.collapsed(HEALTHY_DIVERSITY + 0.2)
    assert watch.collapsed(low) and watch.peak == HEALTHY_DIVERSITY + 0.2
    assert CollapseWatch(peak=0.9).collapsed(low)  # a resumed run keeps its peak
