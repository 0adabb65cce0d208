"""A reference's saved statistics: FID's moments, the file written and read back, refusals of damaged files."""

import numpy as np
import pytest
import torch

from advnets.errors import ConfigError
from advnets.metrics.classifier_features import frechet_distance
from advnets.metrics.feature_stats import (FORMAT, gaussian_moments, is_stats_file, load_stats, save_stats, stats_of,
                                           weights_sha256)


def _features(n=400, d=6, seed=0, shift=0.0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + shift


def test_the_moments_and_the_distance_agree_with_independent_code():
    from torchmetrics.image.fid import FrechetInceptionDistance

    from advnets.metrics.classifier_features import _Identity

    real, fake = _features(), _features(seed=1, shift=0.3) * 1.5
    mean, cov = gaussian_moments(real)
    assert torch.allclose(mean, real.mean(0), atol=1e-12) and torch.allclose(cov, torch.cov(real.T), atol=1e-12)
    reference = FrechetInceptionDistance(feature=_Identity(real.shape[1]), normalize=False)
    reference.update(real, real=True)
    reference.update(fake, real=False)
    assert frechet_distance(real, fake) == pytest.approx(float(reference.compute()), rel=1e-9)
    assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-9)


def test_a_statistics_file_reads_back_exactly_and_says_what_it_holds(tmp_path):
    stats = stats_of(_features(), {"features": "toy", "features_weights_sha256": "ab" * 32},
                     {"what": "toy", "sha256": "cd" * 32, "count": 400, "x_shape": [1, 2, 3]})
    path = tmp_path / "ref.npz"
    save_stats(stats, path)
    back = load_stats(path)
    assert is_stats_file(path) and back.path == str(path) and back.network == stats.network
    assert back.reference == stats.reference and back.count == 400 and back.x_shape == [1, 2, 3]
    import json

    from advnets import __version__

    with np.load(path) as stored:
        assert json.loads(str(stored["meta"]))["advnets"] == __version__  # which advnets wrote it
    for key in ("features", "mean", "cov"):
        assert torch.equal(getattr(back, key), getattr(stats, key))
    images = tmp_path / "images.npz"
    np.savez(images, images=np.zeros((2, 4, 4), np.uint8))
    assert not is_stats_file(images)  # an array of images is no statistics file


def test_damaged_or_foreign_statistics_are_refused_in_one_line(tmp_path):
    stats = stats_of(_features(), {"features": "toy"}, {"what": "toy", "sha256": "0", "count": 400, "x_shape": [1]})
    path = tmp_path / "ref.npz"
    save_stats(stats, path)
    torn = tmp_path / "torn.npz"
    torn.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ConfigError, match="not a readable statistics file"):
        load_stats(torn)
    other = tmp_path / "other.npz"
    np.savez(other, features=np.zeros((3, 2)), mean=np.zeros(2), cov=np.zeros((2, 2)),
             meta=np.array('{"format": "someone-else/1"}'))
    with pytest.raises(ConfigError, match=f"not {FORMAT}"):
        load_stats(other)
    lying = tmp_path / "lying.npz"
    np.savez(lying, features=np.zeros((3, 2)), mean=np.zeros(5), cov=np.zeros((2, 2)),
             meta=np.array('{"format": "%s", "network": {}, "reference": {"count": 3}}' % FORMAT))
    with pytest.raises(ConfigError, match="its arrays do not agree"):
        load_stats(lying)


def test_the_weights_hash_names_the_weights():
    net = torch.nn.Linear(3, 2)
    before = weights_sha256(net)
    assert weights_sha256(net) == before
    with torch.no_grad():
        net.weight[0, 0] += 1e-6
    assert weights_sha256(net) != before
