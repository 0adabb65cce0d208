import torch

from advnets.mirrored import Mirrored


def test_both_copies_move_together_and_a_replay_moves_the_host_copy():
    count = Mirrored(0, "cpu")
    for _ in range(3):
        count.advance()
    assert count.value == count.tensor.item() == 3 and isinstance(count.value, int)
    count.tensor.add_(2)  # what a replayed CUDA graph does on the device
    count.replayed(2)
    assert count.value == count.tensor.item() == 5
    count.set(11)
    assert count.value == count.tensor.item() == 11


def test_a_float_factor_keeps_its_type_on_both_sides():
    factor = Mirrored(1.0, "cpu", torch.float64)
    factor.set(0.5)
    assert factor.value == 0.5 and isinstance(factor.value, float)
    assert factor.tensor.dtype == torch.float64 and factor.tensor.item() == 0.5
