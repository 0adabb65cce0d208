import torch

from advnets.sampling import interpolate


def test_linear_interpolation_has_the_endpoints_and_is_even():
    z0, z1 = torch.zeros(4), torch.arange(4.0)
    path = interpolate(z0, z1, 5)
    assert path.shape == (5, 4) and torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    assert torch.allclose(path[2], (z0 + z1) / 2)


def test_spherical_interpolation_keeps_the_norm_between_equal_norm_endpoints():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = interpolate(z0, z1, 9, spherical=True)
    assert torch.allclose(path.norm(dim=1), torch.ones(9), atol=1e-6)
    assert torch.allclose(path[0], z0) and torch.allclose(path[-1], z1, atol=1e-6)
    assert torch.allclose(interpolate(z0, 2 * z0, 3, spherical=True), interpolate(z0, 2 * z0, 3))  # parallel: linear
