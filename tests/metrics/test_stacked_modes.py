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
