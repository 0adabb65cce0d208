"""The convolutional networks (advnets.models.conv): every layer's shape against sizes computed by hand
from the paper's table, the maxout and pooling rules, other image sizes, and refusals in one line."""

import pytest
import torch
import torch.nn.functional as F

from advnets.config import load_config
from advnets.errors import ConfigError
from advnets.models import build_discriminator, build_generator
from advnets.conv_shapes import pooled_size
from advnets.models.conv import ConvDiscriminator, DeconvGenerator


def _layer_outputs(D: ConvDiscriminator, x: torch.Tensor) -> list[tuple[int, ...]]:
    """Shapes after every convolution, every pool, every maxout and the logit, in order."""
    shapes = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:])))
             for conv in D.convs for m in (conv.conv, conv.pool)]
    hooks += [block.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape[1:]))) for block in D.blocks]
    D.eval()(x)
    for hook in hooks:
        hook.remove()
    return shapes


def test_paper_cifar10_conv_shapes_at_every_layer():
    cfg = load_config("paper-cifar10-conv")
    G, D = build_generator(cfg, (3, 32, 32)), build_discriminator(cfg, (3, 32, 32))
    assert isinstance(G, DeconvGenerator) and isinstance(D, ConvDiscriminator)
    # By hand: conv n + 2 pad - k + 1, pool ceil((n - p) / s) + 1; each conv makes channels x pieces maps
    # 32 + 8 - 8 + 1 = 33 -> ceil(29/2) + 1 = 16; 16 + 6 - 8 + 1 = 15 -> ceil(11/2) + 1 = 7;
    # 7 + 6 - 5 + 1 = 9 -> ceil(7/2) + 1 = 5; 192 * 5 * 5 = 4,800 features -> maxout 500
    assert _layer_outputs(D, torch.zeros(2, 3, 32, 32)) == [
        (64, 33, 33), (32, 16, 16), (64, 15, 15), (32, 7, 7), (384, 9, 9), (192, 5, 5), (500,)]
    assert D.blocks[0].linear.weight.shape == (2500, 4800) and D.out.weight.shape == (1, 500)
    # G: 100 -> 8000 -> 8000 = 80x10x10 -> 5x5 transposed convolution, stride 3: (10 - 1) * 3 + 5 = 32
    assert [m.weight.shape for m in G.hidden if isinstance(m, torch.nn.Linear)] == [(8000, 100), (8000, 8000)]
    assert G.out.weight.shape == (80, 3, 5, 5) and G.out.stride == (3, 3)
    x = G.eval()(G.sample_z(2))
    assert x.shape == (2, 3, 32, 32)
    assert D(x).shape == (2,)


def test_paper_cifar10_fc_networks_and_their_initial_ranges():
    cfg = load_config("paper-cifar10-fc")
    G, D = build_generator(cfg, (3, 32, 32)), build_discriminator(cfg, (3, 32, 32))
    linears = [m for m in G.hidden if isinstance(m, torch.nn.Linear)] + [G.out]
    assert [tuple(m.weight.shape) for m in linears] == [(8000, 100), (8000, 8000), (3072, 8000)]
    assert [type(m).__name__ for m in G.hidden] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    ranges = [float(m.weight.detach().abs().max()) for m in linears]
    assert 0.45 < ranges[2] <= 0.5 + 1e-6  # irange 0.5 on the linear output ...
    assert all(0.045 < r <= 0.05 + 1e-6 for r in ranges[:2])  # ... 0.05 on the others
    assert [tuple(b.linear.weight.shape) for b in D.blocks] == [(8000, 3072), (8000, 1600)]
    assert [d.keep for d in D.dropouts] == [0.8, 0.5, 0.5]
    assert cfg.train.batch_size == 100 and cfg.optim.lr == 0.025
    x = G(G.sample_z(2))
    assert x.shape == (2, 3, 32, 32) and D(x).shape == (2,)
    assert x.min() < 0  # a linear output, in the contrast-normalised space


def test_conv_maxout_is_a_convolution_then_the_max_of_consecutive_pieces_then_an_overhanging_pool():
    torch.manual_seed(0)
    cfg = load_config("paper-cifar10-conv", ["discriminator.hidden=[3]", "discriminator.conv=[{channels: 2, pieces: 3, "
                                             "kernel: 3, pad: 1, pool: 3, pool_stride: 2}]"])
    D = build_discriminator(cfg, (3, 32, 32))
    x = torch.randn(2, 3, 32, 32)
    layer = D.convs[0]
    maps = F.conv2d(x, layer.conv.weight, layer.conv.bias, padding=1)  # [2, 6, 32, 32]
    grouped = torch.maximum(torch.maximum(maps[:, 0::3], maps[:, 1::3]), maps[:, 2::3])  # 0-2 -> unit 0, 3-5 -> 1
    interleaved = torch.maximum(torch.maximum(maps[:, 0:2], maps[:, 2:4]), maps[:, 4:6])  # not pylearn2's layout
    assert not torch.allclose(interleaved, grouped)
    padded = F.pad(grouped, (0, 1, 0, 1), value=float("-inf"))  # the last window overhangs by one
    expected = F.max_pool2d(padded, 3, 2)  # ceil((32 - 3) / 2) + 1 = 16
    assert torch.equal(layer(x), expected) and expected.shape == (2, 2, 16, 16)


@pytest.mark.parametrize("n, pool, stride", [(n, p, s) for n in range(1, 20) for p in (1, 2, 3, 4) for s in (1, 2, 3)
                                             if p <= n and s <= p])
def test_pooled_size_matches_pytorch(n, pool, stride):
    out = F.max_pool2d(torch.zeros(1, 1, n, n), pool, stride, ceil_mode=True)
    assert pooled_size(n, pool, stride) == out.shape[-1]


@pytest.mark.parametrize("x_shape, overrides", [
    ((1, 28, 28), ["generator.feature_shape=[80, 10, 10]"]),  # MNIST as it is: G's 32x32 cropped to 28x28
    ((1, 28, 28), ["discriminator.pad_to=32"]),  # MNIST padded to 32x32 for D
    ((1, 48, 48), ["generator.feature_shape=[80, 15, 15]", "generator.hidden=[8000, 18000]", "generator.kernel=6"]),
])
def test_conv_networks_on_other_image_sizes_and_channel_counts(x_shape, overrides):
    cfg = load_config("paper-cifar10-conv", ["generator.hidden=[64, 8000]", *overrides])
    G, D = build_generator(cfg, x_shape), build_discriminator(cfg, x_shape)
    x = G.eval()(G.sample_z(2))
    assert x.shape == (2, *x_shape)
    assert D.eval()(x).shape == (2,)


def test_conv_mnist_preset_keeps_the_centre_of_gs_32x32_and_pads_for_d(data_dir):
    cfg = load_config("conv-mnist", [f"data.dir={data_dir}"])
    G, D = build_generator(cfg, (1, 28, 28)), build_discriminator(cfg, (1, 28, 28))
    assert _layer_outputs(D, torch.zeros(1, 1, 28, 28))[1::2][:3] == [(16, 16, 16), (16, 7, 7), (48, 5, 5)]
    assert G.sample_z(3).shape == (3, 100) and G(G.sample_z(3)).shape == (3, 1, 28, 28)


@pytest.mark.parametrize("overrides, message", [
    (["generator.feature_shape=[80, 9, 9]", "generator.hidden=[8000, 6480]"], r"generator.feature_shape: 9x9 features, kernel 5, stride 3 make 29x29"),
    (["generator.hidden=[8000, 4000]"], r"generator.hidden: must be a list whose last width is 8000"),
    (["generator.feature_shape=null"], r"generator.feature_shape: must be \[channels, height, width\]"),
    (["discriminator.conv[0]=1"], r"unknown config key"),
    (["discriminator.conv=[{channels: 8, kernel: 40}]"], r"discriminator.conv: on 32x32 images, layer 0's convolution"),
    (["discriminator.conv=[{channels: 8, kernel: 3, colour: 2}]"], r"unknown config key 'discriminator.conv\[0\].colour'"),
    (["discriminator.conv=[]"], r"discriminator.conv: must be at least one layer"),
    (["discriminator.pad_to=30"], r"discriminator.pad_to: must be at least the image size 32x32"),
    (["data.name=ring", "data.preprocess=none"], r"generator.arch: must be mlp or a registered network for synthetic data"),
    (["discriminator.arch=maxout"], r"discriminator.conv: must be empty"),
    (["generator.output=sigmoid"], r"generator.output: must be linear with data.preprocess gcn"),
])
def test_impossible_conv_settings_are_one_line_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("paper-cifar10-conv", overrides)


def test_batch_norm_in_g_uses_batch_statistics_in_training_and_running_ones_when_sampling(data_dir, tmp_path):
    """generator.batch_norm (conv-mnist's, not the paper's): sampling never moves the running statistics,
    the moving average of G averages them and copies the batch counter, and a resume is still exact."""
    from advnets.sampling import generate
    from advnets.train.checkpoint import load_training_state
    from advnets.train.loop import train

    cfg = load_config("conv-mnist")
    G = build_generator(cfg, (1, 28, 28)).train()
    norms = [m for m in G.hidden if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 2 and [type(m).__name__ for m in G.hidden][:3] == ["Linear", "BatchNorm1d", "ReLU"]
    before = [m.running_mean.clone() for m in norms]
    generate(G, 8, seed=0)
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, norms)) and G.training
    overrides = [f"data.dir={data_dir}", "generator.hidden=[32, 200]", "generator.feature_shape=[2, 10, 10]",
                 "train.batch_size=20", "train.log_every=5", "train.checkpoint_every=5", "train.sample_every=10",
                 "train.valid_every=0", "train.grid_size=4", "train.progress=false", "device=cpu"]
    full = train(load_config("conv-mnist", [*overrides, "train.steps=10"]), tmp_path / "full")
    train(load_config("conv-mnist", [*overrides, "train.steps=5"]), tmp_path / "split")
    resumed = train(load_config("conv-mnist", [*overrides, "train.steps=10"]), tmp_path / "split", resume=True)
    a, b = load_training_state(full.run_dir)[0], load_training_state(resumed.run_dir)[0]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    counters = [k for k in a if k.endswith("num_batches_tracked")]
    assert counters and all(int(a[k]) == 10 for k in counters)  # live G and its average: 10 updates each
