"""The data set registry: every data set's spec, and a data set added by registration alone
(no other module edited) trains, samples, evaluates and draws like the built-in ones."""

import numpy as np
import pytest
import torch

from advnets.cli import main
from advnets.config import load_config
from advnets.data import registry
from advnets.data.spec import IMAGE, TOY, DatasetSpec
from advnets.errors import ConfigError
from tests.conftest import TINY


def test_built_in_data_sets():
    assert registry.names() == ("mnist", "fashion-mnist", "tfd", "ring", "grid", "gaussian-1d", "stacked-mnist",
                                "cifar10", "images")
    assert registry.names(kind=IMAGE) == ("mnist", "fashion-mnist", "tfd", "stacked-mnist", "cifar10", "images")
    assert registry.names(kind=TOY) == ("ring", "grid", "gaussian-1d")
    assert registry.names(labelled=True) == ("mnist", "fashion-mnist", "cifar10")
    assert [registry.get(n).classifier is not None for n in registry.names()] == [True] + [False] * 8
    assert registry.get("images").from_config is not None  # your images: the spec comes from the data config
    assert len(registry.get("mnist").checksums) == 4 and registry.get("tfd").checksums == {}
    with pytest.raises(ConfigError, match="unknown data set 'cifar' .known: mnist, "):
        registry.get("cifar")


def test_image_splits_come_as_nchw_in_the_unit_interval(data_dir):
    spec = registry.get("mnist")
    pixels, labels = spec.load_pixels("valid", str(data_dir))
    assert pixels.shape == (10_000, *spec.x_shape) and pixels.dtype == np.uint8 and labels.dtype == np.int64
    images, tensor_labels = spec.load_images("test", str(data_dir))
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() == 1 and torch.equal(tensor_labels.unique(), torch.arange(10))
    assert spec.load_images("test", str(data_dir), dtype=torch.float64)[0].dtype == torch.float64


def test_synthetic_specs_build_the_configured_distribution():
    cfg = load_config("toy-ring", ["data.radius=2", "data.std=0.02"])
    ring = registry.get("ring").mixture(cfg.data)
    assert torch.allclose(ring.means.norm(dim=1), torch.full((8,), 2.0)) and float(ring.stds[0]) == pytest.approx(0.02)
    grid = registry.get("grid").mixture(load_config("toy-grid", ["data.std=null"]).data)
    assert float(grid.stds[0]) == pytest.approx(0.05)  # the published default
    one_d = registry.get("gaussian-1d").mixture(load_config("toy-1d", ["data.means=[-1, 1]", "data.stds=[1, 1]",
                                                                       "data.mixture_weights=[1, 3]"]).data)
    assert one_d.dim == 1 and one_d.mixture_weights.tolist() == [0.25, 0.75]


def _squares(split: str, data_dir, download) -> tuple[np.ndarray, np.ndarray]:
    """A made-up data set of 8x8 images: a bright square in one of two corners (the class)."""
    n = {"train": 400, "valid": 1000, "test": 300}[split]
    rng = np.random.default_rng(len(split))
    labels = rng.integers(0, 2, n)
    images = rng.integers(0, 40, (n, 8, 8)).astype(np.uint8)
    for i, c in enumerate(labels):
        images[i, c * 4 : c * 4 + 4, c * 4 : c * 4 + 4] = 230
    return images, labels


@pytest.fixture
def squares(monkeypatch):
    spec = DatasetSpec(name="squares", title="Squares", kind=IMAGE, x_shape=(1, 8, 8), n_classes=2,
                       splits=("train", "valid", "test"), read_split=_squares)
    monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
    return spec


def test_a_registered_data_set_needs_no_other_change(squares, tmp_path, capsys):
    run = tmp_path / "run"
    small = [*TINY, "data.name=squares", "train.steps=10", "train.valid_every=5", "train.valid_samples=50"]
    assert main(["train", "paper-mnist", "--out", str(run), "--set", *small]) == 0
    assert main(["sample", str(run), "--n", "6", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (6, 1, 8, 8)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--metric", "parzen", "--n-samples", "50"]) == 0
    assert '"dataset": "squares"' in capsys.readouterr().out
    assert main(["figure", "fig2", str(run), "--rows", "2", "--out", str(tmp_path / "fig2.png")]) == 0
    cond = tmp_path / "cond"
    assert main(["train", "paper-mnist", "--out", str(cond), "--set", *small, "data.conditional=true",
                 "train.valid_every=0"]) == 0
    assert main(["sample", str(cond), "--n", "4", "--label", "1", "--out", str(tmp_path / "c.npy")]) == 0
    assert main(["evaluate", str(cond), "--metric", "classes"]) == 2  # no classifier ships for it
    assert "only mnist has" in capsys.readouterr().err
