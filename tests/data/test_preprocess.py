"""The model's space (advnets.data.preprocess): the released CIFAR-10 code's global contrast normalisation
against pylearn2's formula written out here in NumPy, the display map, and training batches in it."""

import numpy as np
import torch

from advnets.config import load_config
from advnets.data import preprocess
from advnets.data.sources import TensorSource


def pylearn2_gcn(X: np.ndarray, scale: float = 55.0, min_divisor: float = 1e-8) -> np.ndarray:
    """pylearn2.expr.preprocessing.global_contrast_normalize with the released code's arguments
    (subtract_mean, no std, sqrt_bias 0), on rows of raw 0-255 values as pylearn2's CIFAR10 class gives it."""
    X = X - X.mean(axis=1)[:, None]
    normalizers = np.sqrt((X ** 2).sum(axis=1)) / scale
    normalizers[normalizers < min_divisor] = 1.0
    return X / normalizers[:, None]


def test_gcn_matches_pylearn2_on_raw_pixels_and_is_zero_mean_norm_55():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (7, 3, 32, 32)).astype(np.float64)
    pixels[3] = 17.0  # a flat image stays zero (pylearn2's divisor 1)
    gcn = preprocess.Preprocessing("gcn", 55.0)
    ours = gcn(torch.from_numpy(pixels / 255.0)).numpy().reshape(7, -1)  # we normalise pixels in [0, 1]
    np.testing.assert_allclose(ours, pylearn2_gcn(pixels.reshape(7, -1)), rtol=1e-10, atol=1e-10)
    kept = [0, 1, 2, 4, 5, 6]
    np.testing.assert_allclose(np.linalg.norm(ours[kept], axis=1), 55.0, rtol=1e-12)
    np.testing.assert_allclose(ours.mean(axis=1), 0.0, atol=1e-12)
    assert not ours[3].any()


def test_display_map_keeps_zero_at_mid_grey_and_fills_the_range_per_image():
    gcn = preprocess.Preprocessing("gcn")
    x = gcn(torch.rand(4, 3, 8, 8))
    shown = gcn.to_display(x)
    assert float(shown.min()) >= 0 and float(shown.max()) <= 1
    peaks = (shown - 0.5).abs().reshape(4, -1).amax(dim=1)
    torch.testing.assert_close(peaks, torch.full((4,), 0.5))  # each image's largest |x| at black or white
    assert torch.equal(preprocess.IDENTITY.to_display(x), x)  # pixels need no mapping


def test_config_chooses_the_preprocessing_and_training_batches_are_in_it():
    cfg = load_config("paper-cifar10-fc")
    chosen = preprocess.for_data(cfg.data)
    assert (chosen.kind, chosen.scale) == ("gcn", 55.0) and "scale 55" in chosen.describe()
    assert preprocess.for_data(load_config("paper-mnist").data) is preprocess.IDENTITY
    pixels = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    plain = TensorSource(pixels, 5, 0, torch.device("cpu"))
    normalised = TensorSource(pixels, 5, 0, torch.device("cpu"), preprocess=chosen)
    a, b = plain.next_batch(), normalised.next_batch()
    torch.testing.assert_close(b, chosen(a))  # the same examples, normalised
    torch.testing.assert_close(b.reshape(5, -1).norm(dim=1), torch.full((5,), 55.0))
    torch.testing.assert_close(normalised.reference_batch(3), chosen(plain.reference_batch(3)))
    torch.testing.assert_close(normalised.mean(), plain.mean())  # the mean image stays in pixels (G's bias)
