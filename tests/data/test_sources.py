import math

import torch

from advnets.data import toy
from advnets.data.sources import MixtureSource, TensorSource
from advnets.train import plan_training
from advnets.train.build import build_source


def source_of(cfg):
    """The training source a run of `cfg` draws from (its data set resolved by the run's plan)."""
    return build_source(plan_training(cfg).data, cfg.train.batch_size, cfg.seed, torch.device("cpu"))


def test_mnist_source_pixels_and_epochs(tiny_mnist):
    cfg = tiny_mnist("train.batch_size=100")
    src = source_of(cfg)
    assert src.x_shape == (1, 28, 28) and src.batches_per_epoch == 500
    x = src.next_batch()
    assert x.shape == (100, 1, 28, 28) and x.dtype == torch.float32
    assert x.min() >= 0 and x.max() <= 1 and x.max() == 1.0
    mean = src.mean()
    assert mean.shape == (1, 28, 28) and 0.12 < mean.mean() < 0.14  # MNIST's mean pixel is 0.1307


def test_each_epoch_visits_every_example_once_in_a_new_order():
    pixels = torch.arange(10, dtype=torch.uint8).reshape(10, 1)
    src = TensorSource(pixels, batch_size=3, seed=0, device=torch.device("cpu"))
    assert src.batches_per_epoch == 3  # the last partial batch is dropped
    epochs = [torch.cat([src.next_batch() for _ in range(3)]).flatten().mul(255).round().long() for _ in range(2)]
    for e in epochs:
        assert len(set(e.tolist())) == 9
    assert epochs[0].tolist() != epochs[1].tolist()
    assert src.epoch == 3


def test_source_state_restores_the_stream(tiny_ring):
    cfg = tiny_ring()
    a = source_of(cfg)
    a.next_batch()
    state = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in a.state_dict().items()}
    expected = a.next_batch()
    b = source_of(cfg)
    b.load_state_dict(state)
    assert torch.equal(b.next_batch(), expected)
    assert isinstance(b, MixtureSource) and b.x_shape == (2,)


def test_toy_distributions():
    g = torch.Generator().manual_seed(0)
    ring = toy.ring(8, 2.0, 0.02)
    x = ring.sample(20_000, g, torch.device("cpu"))
    assert torch.allclose(x.norm(dim=1).mean(), torch.tensor(2.0), atol=0.01)
    angles = torch.atan2(x[:, 1], x[:, 0]) % (2 * math.pi)
    counts = torch.bincount(((angles + math.pi / 8) // (math.pi / 4)).long() % 8, minlength=8)
    assert counts.min() > 2200  # each of the 8 modes gets ~2500
    grid = toy.grid()
    assert grid.means.shape == (25, 2) and set(grid.means[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    mix = toy.mixture_1d([0.0], [1.0])
    assert torch.allclose(mix.log_prob(torch.zeros(1, 1)), torch.tensor([-0.5 * math.log(2 * math.pi)],
                                                                         dtype=torch.float64))
