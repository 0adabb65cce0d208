"""The networks' memory, measured on the meta device: the same bytes as the real networks, at no cost
however large the config asks them to be."""

import time

import pytest
import torch

from advnets.config import load_config
from advnets.data import registry
from advnets.models import build_discriminator, build_generator
from advnets.models.footprint import activation_bytes, meta_networks, network_sizes, tensor_bytes


@pytest.mark.parametrize("preset, extra", [("paper-mnist", []), ("cond-mnist", []), ("inpaint-mnist", []),
                                           ("toy-ring", ["train.ema_decay=0.9"]),
                                           ("conv-mnist", ["inference.joint=false"])])
def test_meta_networks_have_the_real_networks_bytes(preset, extra):
    cfg = load_config(preset, extra)
    x_shape = registry.get(cfg.data.name).x_shape
    nets = meta_networks(cfg, x_shape)
    assert all(t.device.type == "meta" for net in nets.values() for t in net.state_dict().values())
    assert tensor_bytes(nets["generator"]) == tensor_bytes(build_generator(cfg, x_shape))
    assert tensor_bytes(nets["discriminator"]) == tensor_bytes(build_discriminator(cfg, x_shape))
    assert ("generator_ema" in nets) == (cfg.train.ema_decay > 0)


def test_activations_grow_with_the_batch_and_are_measured_without_allocating():
    cfg = load_config("paper-mnist")
    small, large = activation_bytes(cfg, (1, 28, 28), 10), activation_bytes(cfg, (1, 28, 28), 1000)
    assert 90 * small < large < 110 * small
    # per example, the paper's step keeps G's layers (2 x 1200 + 784) and, for each of D's two passes, its
    # inputs, dropout masks and maxout pre-activations (2 x 1200 ...): thousands of floats, not the weights
    assert 3e6 < activation_bytes(cfg, (1, 28, 28), 100) < 30e6
    started = time.perf_counter()
    huge = load_config("paper-mnist", ["generator.hidden=[100000, 100000]", "train.batch_size=100000"])
    assert activation_bytes(huge, (1, 28, 28), 100_000) > 1e11  # 100 GB asked for, nothing allocated
    assert tensor_bytes(meta_networks(huge, (1, 28, 28))["generator"]) > 4e10
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize("preset, extra", [("paper-mnist", []), ("fast-mnist", []), ("cond-mnist", []),
                                           ("conv-mnist", []), ("paper-mnist", ["inference.joint=true"])])
def test_network_sizes_from_one_build_equal_the_networks_measured_one_by_one(preset, extra):
    """A planned run measures its networks once (network_sizes): the same bytes as every network a run keeps
    built on its own (G's moving average counted as G's copy), the same activations, and G's plus twice D's
    weights per example as one update's multiply-adds."""
    cfg = load_config(preset, extra)
    x_shape = registry.get(cfg.data.name).x_shape
    sizes = network_sizes(cfg, x_shape, 50)
    nets = meta_networks(cfg, x_shape)
    assert sizes.weights == sum(tensor_bytes(net) for net in nets.values())
    assert sizes.trained == sum(tensor_bytes(net) for name, net in nets.items() if name != "generator_ema")
    assert sizes.activations == activation_bytes(cfg, x_shape, 50)
    params = {name: sum(p.numel() for p in nets[name].parameters()) for name in ("generator", "discriminator")}
    assert sizes.update_macs == (params["generator"] + 2 * params["discriminator"]) * 50
