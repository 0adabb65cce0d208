import pytest
import torch

from advnets.batching import apply_in_batches


def test_slices_cover_every_input_once_in_order():
    x = torch.arange(2503.0).reshape(-1, 1)
    seen = []

    def fn(batch):
        seen.append(len(batch))
        return batch * 2

    out = apply_in_batches(fn, x, batch_size=1000)
    assert torch.equal(out, x * 2)
    assert seen == [1000, 1000, 503]


def test_results_come_back_to_the_cpu_without_autograd():
    layer = torch.nn.Linear(3, 2)
    out = apply_in_batches(layer, torch.randn(5, 3), batch_size=2, device="cpu")
    assert out.shape == (5, 2) and out.device.type == "cpu" and not out.requires_grad


def test_empty_input_is_refused():
    with pytest.raises(ValueError):
        apply_in_batches(lambda b: b, torch.empty(0, 3))
