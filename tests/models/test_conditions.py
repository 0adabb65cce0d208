import torch

from advnets.config import load_config
from advnets.data.masks import named_masks, pack_observed
from advnets.models import build_discriminator, build_generator


def _inpainting_pair():
    cfg = load_config("inpaint-mnist", ["generator.hidden=[32]", "discriminator.hidden=[16]", "discriminator.pieces=2"])
    return build_generator(cfg, (1, 28, 28), torch.full((1, 28, 28), 0.13)), build_discriminator(cfg, (1, 28, 28))


def test_an_inpainting_generator_keeps_the_observed_pixels_and_reads_only_them():
    G, _ = _inpainting_pair()
    assert G.hidden[0].in_features == 100 + 2 * 784  # z, the observed pixels, the mask
    x = torch.rand(6, 1, 28, 28)
    mask = named_masks("right-half", 6, (28, 28))
    z = G.sample_z(6, torch.Generator().manual_seed(0))
    out = G(z, pack_observed(x, mask))
    assert torch.equal(out[..., :14], x[..., :14])  # observed: the input, exactly
    other = x.clone()
    other[..., 14:] = torch.rand(6, 1, 28, 14)  # change only what G may not see
    assert torch.equal(G(z, pack_observed(other, mask)), out)
    assert not torch.equal(G(G.sample_z(6, torch.Generator().manual_seed(1)), pack_observed(x, mask)), out)


def test_an_inpainting_discriminator_sees_the_mask():
    _, D = _inpainting_pair()
    D.eval()
    x = torch.rand(4, 1, 28, 28)
    left, right = named_masks("left-half", 4, (28, 28)), named_masks("right-half", 4, (28, 28))
    assert D.blocks[0].linear.in_features == 2 * 784
    assert not torch.equal(D(x, None, pack_observed(x, left)), D(x, None, pack_observed(x, right)))
