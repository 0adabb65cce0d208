import math

import pytest
import torch

from advnets.config import load_config
from advnets.models import build_discriminator, build_generator, sample_prior
from advnets.models.mlp import DropoutInput, Maxout, pixel_logit


@pytest.fixture(scope="module")
def paper():
    cfg = load_config("paper-mnist")
    mean = torch.rand(1, 28, 28) * 0.5
    mean[0, 0, 0] = 0.0  # MNIST's corner pixels are always 0
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return cfg, mean, build_generator(cfg, (1, 28, 28), mean), build_discriminator(cfg, (1, 28, 28))


def test_generator_shapes_and_init(paper):
    cfg, mean, G, _ = paper
    assert G.z_dim == 100 and G.x_shape == (1, 28, 28)
    linears = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(1200, 100), (1200, 1200), (784, 1200)]
    for m in linears:
        assert m.weight.abs().max() <= 0.05 and m.weight.abs().max() > 0.049
    assert all((m.bias == 0).all() for m in linears[:-1])
    # output bias = logit(mean pixel), clipped like pylearn2
    assert torch.allclose(torch.sigmoid(linears[-1].bias[1:]), mean.flatten()[1:], atol=1e-6)
    assert linears[-1].bias[0].item() == pytest.approx(math.log(1e-7 / (1 - 1e-7)), rel=1e-4)
    x = G(G.sample_z(7))
    assert x.shape == (7, 1, 28, 28) and x.min() >= 0 and x.max() <= 1


def test_discriminator_shapes_and_init(paper):
    _, _, _, D = paper
    linears = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(1200, 784), (1200, 240), (1, 240)]
    assert all(m.weight.abs().max() <= 0.005 for m in linears)
    assert [d.keep for d in D.dropouts] == [0.8, 0.5, 0.5]
    D.eval()
    logits = D(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5,)
    with pytest.raises(AssertionError, match="x must be"):
        D(torch.rand(5, 784))


def test_maxout_takes_the_max_of_consecutive_pieces():
    m = Maxout(3, units=2, pieces=3, init_range=0.1)
    h = torch.randn(4, 3)
    a = m.linear(h)
    expected = torch.stack([a[:, 0:3].max(1).values, a[:, 3:6].max(1).values], dim=1)
    assert torch.equal(m(h), expected)


def test_dropout_is_inverted_and_off_in_eval():
    d = DropoutInput(0.8)
    h = torch.ones(200_000)
    out = d(h, torch.Generator().manual_seed(0))
    kept = out != 0
    assert set(out.unique().tolist()) == {0.0, 1.25}
    assert kept.float().mean().item() == pytest.approx(0.8, abs=0.005)
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)
    a, b = d(h, torch.Generator().manual_seed(1)), d(h, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)  # masks come from the explicit generator
    d.eval()
    assert torch.equal(d(h), h)


def test_priors():
    g = torch.Generator().manual_seed(0)
    u = sample_prior(100_000, 3, "uniform", g)
    assert u.abs().max() <= math.sqrt(3) and u.var().item() == pytest.approx(1.0, abs=0.02)
    n = sample_prior(100_000, 3, "gaussian", g)
    assert n.std().item() == pytest.approx(1.0, abs=0.02) and n.abs().max() > math.sqrt(3)


def test_pixel_logit_inverts_sigmoid():
    p = torch.tensor([0.1, 0.5, 0.9])
    assert torch.allclose(torch.sigmoid(pixel_logit(p)), p)


def test_mlp_discriminator_and_linear_generator_for_toy_data():
    cfg = load_config("toy-ring")
    G, D = build_generator(cfg, (2,)), build_discriminator(cfg, (2,))
    x = G(G.sample_z(6))
    assert x.shape == (6, 2) and D(x).shape == (6,)


def test_column_norm_constraint_matches_pylearn2():
    from torch import nn

    from advnets.models.mlp import constrain_column_norms_

    layer = nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 4.0, 0, 0], [0.1, 0, 0, 0], [0, 0, 1.0, 1.0]]))  # norms 5, 0.1, 1.41
    constrain_column_norms_(layer, 1.0)
    norms = layer.weight.norm(dim=1)
    assert torch.allclose(norms, torch.tensor([1.0, 0.1, 1.0]), atol=1e-6)  # only too-long rows shrink
    assert torch.allclose(layer.weight[0], torch.tensor([0.6, 0.8, 0, 0]), atol=1e-6)  # direction kept


def test_per_layer_activations_and_biases():
    from advnets.config import load_config
    from advnets.models import build_generator

    cfg = load_config("paper-mnist", ["generator.hidden=[8, 6]", "generator.hidden_activations=[relu, sigmoid]",
                                      "generator.hidden_bias=[0.0, -2.0]"])
    G = build_generator(cfg, (1, 28, 28))
    assert isinstance(G.hidden[1], torch.nn.ReLU) and isinstance(G.hidden[3], torch.nn.Sigmoid)
    assert torch.equal(G.hidden[2].bias, torch.full((6,), -2.0)) and torch.equal(G.hidden[0].bias, torch.zeros(8))


def test_conditional_networks_take_one_hot_labels():
    from advnets.config import load_config
    from advnets.models import build_discriminator, build_generator

    cfg = load_config("cond-mnist", ["generator.hidden=[16]", "discriminator.hidden=[8]"])
    G, D = build_generator(cfg, (1, 28, 28)), build_discriminator(cfg, (1, 28, 28)).eval()
    assert G.hidden[0].in_features == 110 and D.blocks[0].linear.in_features == 794
    z = G.sample_z(4, torch.Generator().manual_seed(0))
    a, b = G(z, torch.tensor([0, 1, 2, 3])), G(z, torch.tensor([3, 2, 1, 0]))
    assert a.shape == (4, 1, 28, 28) and not torch.equal(a, b)  # the label changes the sample
    assert D(a, None, torch.tensor([0, 1, 2, 3])).shape == (4,)
    with pytest.raises(AssertionError, match="needs labels"):
        G(z)
