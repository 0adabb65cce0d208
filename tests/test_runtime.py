import pytest
import torch

from advnets import runtime
from advnets.errors import ConfigError


def test_the_streams_are_the_documented_functions_of_the_seed():
    seed = 7
    assert [runtime.stream_seed(name, seed) for name in ("init", "game", "fixed-batch", "validation", "encoder",
                                                          "data-stream", "reference")] == \
        [7, 7, 8, 9, 10, 7 * 1_000_003 + 7, 12345]
    assert runtime.stream_seed("data-order", seed, index=3) == 7 * 1_000_003 + 3
    assert runtime.stream_seed("game-moved", seed, index=500) == 507
    assert runtime.stream_seed("data-split", 0) == 54321  # called with data.split_seed, not the run's seed
    for name in runtime.STREAMS:  # each one is named in the module's table
        assert f"\n    {name} " in runtime.__doc__


def test_a_stream_is_a_fresh_generator_and_seeded_leaves_the_global_state_alone():
    a, b = runtime.stream("data-order", 1, index=2), runtime.stream("data-order", 1, index=2)
    assert torch.equal(torch.rand(5, generator=a), torch.rand(5, generator=b))
    before = torch.random.get_rng_state()
    with runtime.seeded("init", 3):
        inside = torch.rand(3)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(inside, torch.rand(3, generator=torch.Generator().manual_seed(3)))


def test_devices():
    assert runtime.resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert runtime.resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ConfigError, match="PyTorch sees no CUDA device"):
            runtime.resolve_device("cuda:0")
