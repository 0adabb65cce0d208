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
    """n stacks of real MNIST *training* digits (held out: the correction's confusion counts come from the test
    digits), each channel's digit drawn from `digits` (or the fixed triple `one`), its image drawn among the
    training images of that digit: a set whose true modes are known. Returns the stacks and their true modes."""
    images, labels = registry.get("mnist").load_images("train", str(data_dir))
    g = torch.Generator().manual_seed(seed)
    channels, truth = [], []
    for c in range(3):
        wanted = (torch.full((n,), one[c]) if one else
                  torch.tensor(digits)[torch.randint(len(digits), (n,), generator=g)])
        picks = torch.empty(n, dtype=torch.long)
        for d in set(wanted.tolist()):
            pool, rows = (labels == d).nonzero()[:, 0], (wanted == d).nonzero()[:, 0]
            picks[rows] = pool[torch.randint(len(pool), (len(rows),), generator=g)]
        channels.append(images[picks, 0])
        truth.append(wanted)
    return torch.stack(channels, 1), truth[0] * 100 + truth[1] * 10 + truth[2]  # [n, 3, 28, 28], [n]


def test_the_confusion_counts_are_the_test_digits_read_by_the_classifier(data_dir):
    from advnets.metrics.stacked_modes import confusion_bounds, test_split_confusion

    counts = test_split_confusion(str(data_dir))
    _, labels = registry.get("mnist").load_images("test", str(data_dir))
    assert counts.shape == (10, 10) and counts.sum() == 10_000
    assert torch.equal(counts.sum(1), torch.bincount(labels, minlength=10).double())  # every test digit once
    rates, upper = confusion_bounds(counts)
    assert rates.diagonal().min() > 0.95  # the shipped classifier reads real digits well, not perfectly
    off = ~torch.eye(10, dtype=torch.bool)
    assert bool((upper[off] > rates[off]).all())  # a misread never seen is not a rate of 0
    assert bool((upper[off][counts[off] == 0] > 1e-4).all()) and torch.equal(upper.diagonal(), rates.diagonal())


@pytest.mark.parametrize(("digits", "one", "seed", "low", "high"), [
    (tuple(range(10)), None, 20, 900, 1000),  # ~1,000 true modes: within 10%
    ((0, 1, 2, 3, 4), None, 21, 113, 137),  # 125
    ((0, 1, 2), None, 22, 25, 29),  # 27 (raw: over 100)
    ((0, 1), None, 23, 6, 10),  # 8 (raw: about 80): within 2 modes below 20
    ((), (3, 3, 3), 24, 1, 3),  # 1, every channel a different 3 (raw: about 25)
])
def test_the_corrected_mode_count_holds_on_sets_of_training_digits_it_never_saw(data_dir, digits, one, seed, low,
                                                                                  high):
    from advnets.metrics.stacked_modes import test_split_confusion

    stacks, true_modes = _constructed_stacks(data_dir, 10_000, seed, digits=digits, one=one)
    counted = mode_statistics(stacks, test_split_confusion(str(data_dir)))
    truth = true_modes.unique().numel()
    assert low <= truth <= high  # the set is what it says
    assert counted["modes"] > truth or truth == 1000  # the raw count: every misread stack lands in a new mode
    assert (abs(counted["modes_corrected"] - truth) <= 2 if truth < 20
            else abs(counted["modes_corrected"] - truth) <= 0.1 * truth), (counted, truth)


def test_noise_has_fewer_corrected_modes_than_read(data_dir):
    from advnets.metrics.stacked_modes import test_split_confusion

    noise = mode_statistics(torch.rand(5_000, 3, 28, 28, generator=torch.Generator().manual_seed(3)),
                            test_split_confusion(str(data_dir)))
    assert noise["modes_corrected"] < noise["modes"] / 2  # not digits: no true modes, fewer counted than read


def test_the_confusion_matrix_is_measured_once_for_several_seeds(data_dir, monkeypatch):
    from types import SimpleNamespace

    from advnets.config import load_config
    from advnets.metrics import stacked_modes
    from advnets.metrics.registry import MetricRequest
    from advnets.models import build_generator

    measured = []
    monkeypatch.setattr(stacked_modes, "confusion_counts",
                        lambda *a: measured.append(1) or 1000 * torch.eye(10).double())
    stacked_modes.test_split_confusion.cache_clear()
    cfg = load_config("stacked-mnist", ["generator.hidden=[16]"])
    snap = SimpleNamespace(generator=build_generator(cfg, (3, 28, 28)), config=cfg)
    rows = [stacked_modes.score_stacked(snap, MetricRequest(n_samples=100, seed=seed, data_dir=str(data_dir)))
            for seed in (0, 1, 2)]
    assert len(measured) == 1 and all(row["n_samples"] == 100 and row["modes_corrected"] >= 1 for row in rows)
    stacked_modes.test_split_confusion.cache_clear()
