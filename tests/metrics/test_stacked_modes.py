import math

import pytest
import torch

from advnets.cli import main
from advnets.data import registry
from advnets.metrics.stacked_modes import mode_statistics


def test_real_stacked_images_cover_every_mode_and_a_collapse_one(data_dir):
    images, _ = registry.get("stacked-mnist").load_images("test", str(data_dir))
    real = mode_statistics(images)
    assert real["modes"] == 1000 and real["kl_uniform"] < 0.1  # 10,000 real images: all modes, near uniform
    assert real["confident_share"] > 0.85 and real["modes_confident"] > 990  # real digits are read clearly
    blurred = mode_statistics(torch.nn.functional.avg_pool2d(images, 7, stride=1, padding=3))
    assert blurred["confident_share"] < real["confident_share"] - 0.3  # a blur still lands in modes, unclearly
    collapsed = mode_statistics(images[:1].repeat(500, 1, 1, 1))
    assert collapsed["modes"] == 1 and collapsed["kl_uniform"] == pytest.approx(math.log(1000))


def test_stacked_modes_needs_a_stacked_mnist_run(tiny_mnist_run, capsys):
    assert main(["evaluate", str(tiny_mnist_run), "--metric", "stacked-modes"]) == 2
    assert "needs a run on stacked-mnist" in capsys.readouterr().err


def _constructed_stacks(data_dir, n, seed, digits=tuple(range(10)), one=None):
    """n stacks of real MNIST test digits, each channel's digit drawn from `digits` (or the fixed triple `one`),
    its image drawn among the test images of that digit: a set whose true modes are known."""
    images, labels = registry.get("mnist").load_images("test", str(data_dir))
    g = torch.Generator().manual_seed(seed)
    channels = []
    for c in range(3):
        wanted = (torch.full((n,), one[c]) if one else
                  torch.tensor(digits)[torch.randint(len(digits), (n,), generator=g)])
        pools = {d: (labels == d).nonzero()[:, 0] for d in set(wanted.tolist())}
        picks = torch.stack([pools[d][torch.randint(len(pools[d]), (1,), generator=g)][0] for d in wanted.tolist()])
        channels.append(images[picks, 0])
    return torch.stack(channels, 1)  # [n, 3, 28, 28]


def test_the_corrected_mode_count_finds_the_true_number_of_modes_of_constructed_sets(data_dir):
    from advnets.metrics.stacked_modes import confusion_matrix

    real, real_modes = registry.get("stacked-mnist").load_images("test", str(data_dir))
    confusion = confusion_matrix(real, real_modes)
    assert confusion.shape == (10, 10) and torch.allclose(confusion.sum(1), torch.ones(10, dtype=torch.float64))
    assert confusion.diagonal().min() > 0.95  # the shipped classifier reads real digits well, not perfectly
    every = mode_statistics(_constructed_stacks(data_dir, 10_000, 0), confusion)
    assert every["modes"] == 1000 and every["modes_corrected"] >= 995
    for seed in (1, 4):  # 5^3 = 125 true modes (measured: 132 and 128 corrected, 282 and 296 raw)
        low = mode_statistics(_constructed_stacks(data_dir, 10_000, seed, digits=(0, 1, 2, 3, 4)), confusion)
        assert low["modes"] > 200  # the raw count: every misread stack lands in a new mode
        assert 120 <= low["modes_corrected"] <= 135
    one = mode_statistics(_constructed_stacks(data_dir, 5_000, 2, one=(3, 1, 4)), confusion)
    assert one["modes"] > 3 and one["modes_corrected"] == 1
    noise = mode_statistics(torch.rand(5_000, 3, 28, 28, generator=torch.Generator().manual_seed(3)), confusion)
    assert noise["modes_corrected"] < noise["modes"] / 2  # not digits: no true modes, fewer counted than read


def test_the_confusion_matrix_is_measured_once_for_several_seeds(data_dir, monkeypatch):
    from types import SimpleNamespace

    from advnets.config import load_config
    from advnets.metrics import stacked_modes
    from advnets.metrics.registry import MetricRequest
    from advnets.models import build_generator

    measured = []
    monkeypatch.setattr(stacked_modes, "confusion_matrix", lambda *a: measured.append(1) or torch.eye(10).double())
    stacked_modes.test_split_confusion.cache_clear()
    cfg = load_config("stacked-mnist", ["generator.hidden=[16]"])
    snap = SimpleNamespace(generator=build_generator(cfg, (3, 28, 28)), config=cfg)
    rows = [stacked_modes.score_stacked(snap, MetricRequest(n_samples=100, seed=seed, data_dir=str(data_dir)))
            for seed in (0, 1, 2)]
    assert len(measured) == 1 and all(row["n_samples"] == 100 and row["modes_corrected"] >= 1 for row in rows)
    stacked_modes.test_split_confusion.cache_clear()
