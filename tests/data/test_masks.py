import pytest
import torch

from advnets.data.masks import FAMILIES, named_masks, pack_observed, random_masks, unpack_observed
from advnets.errors import ConfigError


def _missing(mask):
    return mask[:, 0] == 0  # [n, H, W]


def test_named_masks_hide_what_their_names_say():
    left, right = _missing(named_masks("left-half", 2, (28, 28))), _missing(named_masks("right-half", 2, (28, 28)))
    assert left[:, :, :14].all() and not left[:, :, 14:].any()
    assert right[:, :, 14:].all() and not right[:, :, :14].any()
    top, bottom = _missing(named_masks("top-half", 1, (28, 28))), _missing(named_masks("bottom-half", 1, (28, 28)))
    assert top[:, :14].all() and not top[:, 14:].any() and bottom[:, 14:].all() and not bottom[:, :14].any()
    center = _missing(named_masks("center", 1, (28, 28)))[0]
    assert center[7:21, 7:21].all() and center.sum() == 14 * 14
    rnd = named_masks("random:0.5", 200, (28, 28), seed=1)
    assert abs(float(_missing(rnd).float().mean()) - 0.5) < 0.01
    assert torch.equal(rnd, named_masks("random:0.5", 200, (28, 28), seed=1))  # the seed fixes them
    assert not torch.equal(rnd[0], rnd[1])  # a fresh subset per image
    for bad in ("random:1.5", "random:x", "middle"):
        with pytest.raises(ConfigError):
            named_masks(bad, 1, (28, 28))


@pytest.mark.parametrize("family, hidden", [("halves", 0.5), ("quarters", 0.25), ("squares", None), ("pixels", 0.55)])
def test_each_family_hides_its_share(family, hidden):
    masks = random_masks(4000, (28, 28), [family], torch.Generator().manual_seed(0), "cpu")
    assert masks.shape == (4000, 1, 28, 28) and set(masks.unique().tolist()) <= {0.0, 1.0}
    share = _missing(masks).float().mean(dim=(1, 2))  # per mask
    if family == "squares":  # sides 7 .. 18 of 28, fully inside the image
        sides = share.mul(784).sqrt()
        assert torch.allclose(sides, sides.round(), atol=1e-4) and sides.min() >= 7 and sides.max() <= 18
    elif family == "pixels":  # p ~ U(0.2, 0.9)
        assert share.min() > 0.1 and share.max() < 0.97 and abs(float(share.mean()) - hidden) < 0.02
    else:
        assert torch.allclose(share, torch.full_like(share, hidden))


def test_families_are_drawn_uniformly_and_replayable():
    g = torch.Generator().manual_seed(3)
    a = random_masks(3000, (28, 28), FAMILIES, g, "cpu")
    b = random_masks(3000, (28, 28), FAMILIES, torch.Generator().manual_seed(3), "cpu")
    assert torch.equal(a, b)
    halves = (_missing(a).float().mean(dim=(1, 2)) == 0.5).float().mean()  # only 'halves' hide exactly half
    assert 0.2 < float(halves) < 0.3


def test_pack_hides_the_missing_pixels():
    x = torch.rand(5, 1, 28, 28)
    mask = named_masks("right-half", 5, (28, 28))
    c = pack_observed(x, mask)
    assert c.shape == (5, 2, 28, 28)
    observed, m = unpack_observed(c)
    assert torch.equal(m, mask) and (observed[..., 14:] == 0).all() and torch.equal(observed[..., :14], x[..., :14])
