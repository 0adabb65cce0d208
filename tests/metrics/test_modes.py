import math

import pytest
import torch

from advnets.data import toy
from advnets.metrics.modes import mode_report, uniform_kl_bound

RING = toy.ring(8, 1.0, 0.01)


def test_samples_on_every_mode_score_perfectly():
    g = torch.Generator().manual_seed(0)
    samples = RING.means.repeat(250, 1) + 0.01 * torch.randn(2000, 2, generator=g)  # 250 per mode, 1 std
    r = mode_report(samples, RING.means, 0.01)
    assert r.modes == 8 and r.total_modes == 8 and r.n_samples == 2000
    assert r.high_quality == pytest.approx(100 * (1 - math.exp(-4.5)), abs=0.7)  # P(|N(0, I_2)| > 3) = e^-4.5
    assert r.reverse_kl == pytest.approx(0.0, abs=1e-3)
    assert sum(r.counts) == round(r.high_quality * 20)


def test_one_mode_is_collapse():
    samples = RING.means[3].repeat(500, 1)
    r = mode_report(samples, RING.means, 0.01)
    assert (r.modes, r.high_quality) == (1, 100.0)
    assert r.reverse_kl == pytest.approx(math.log(8)) == uniform_kl_bound(8)
    assert r.counts[3] == 500


def test_uniform_noise_is_mostly_low_quality():
    g = torch.Generator().manual_seed(1)
    samples = torch.rand(2500, 2, generator=g) * 4 - 2  # the square [-2, 2]^2
    r = mode_report(samples, RING.means, 0.01)
    expected = 100 * 8 * math.pi * 0.03**2 / 16  # 8 disks of radius 3 std in an area of 16
    assert r.high_quality == pytest.approx(expected, abs=0.5)
    none = mode_report(samples + 100, RING.means, 0.01)
    assert (none.modes, none.high_quality, none.reverse_kl) == (0, 0.0, None)


def test_grid_has_25_modes():
    grid = toy.grid()
    r = mode_report(grid.means + 0.01, grid.means, 0.05)
    assert (r.modes, r.total_modes, r.high_quality) == (25, 25, 100.0)


@pytest.mark.slow
def test_toy_ring_preset_captures_the_modes(tmp_path):
    """The full toy-ring preset, seed 0 (about two minutes): at least 7 of 8 modes."""
    from advnets.config import load_config
    from advnets.metrics.registry import MetricRequest, evaluate
    from advnets.snapshot import load_snapshot
    from advnets.train.loop import train

    run = train(load_config("toy-ring", ["device=cpu", "train.progress=false"]), tmp_path / "ring").run_dir
    row = evaluate("modes", load_snapshot(run), MetricRequest(n_samples=2500, seed=0))
    assert row["modes"] >= 7 and row["high_quality"] > 50
