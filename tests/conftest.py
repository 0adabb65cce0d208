"""Shared fixtures. Tests that need MNIST fail (never skip) when it cannot be found."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from advnets.config import load_config

REPO = Path(__file__).resolve().parents[1]


def _find_data_dir() -> Path | None:
    for candidate in (os.environ.get("ADVNETS_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mnist" / "train-images-idx3-ubyte.gz").is_file():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    found = _find_data_dir()
    if found is None:
        pytest.fail("MNIST not found: set ADVNETS_DATA to a folder holding mnist/*.gz (CI uses ../shared/data)")
    return found


@pytest.fixture
def mnist_copy(tmp_path, data_dir) -> Path:
    """A writable copy of the MNIST files, as <returned dir>/mnist/*.gz, for tests that damage them."""
    import shutil

    from advnets.data.mnist import _load_verified

    folder = tmp_path / "data-copy" / "mnist"
    folder.mkdir(parents=True)
    for f in (data_dir / "mnist").iterdir():
        shutil.copy(f, folder / f.name)
    _load_verified.cache_clear()
    return folder.parent


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's cache or environment: downloads would go to a temporary folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("ADVNETS_DATA", raising=False)


TINY = [
    "generator.hidden=[32]", "discriminator.hidden=[16]", "discriminator.pieces=2",
    "train.batch_size=20", "train.log_every=5", "train.sample_every=10", "train.checkpoint_every=10",
    "train.grid_size=16", "train.progress=false", "device=cpu",
]


@pytest.fixture
def tiny_mnist(data_dir):
    """A tiny but otherwise paper-faithful MNIST config (make one with extra overrides)."""

    def make(*overrides: str):
        return load_config("paper-mnist", [*TINY, f"data.dir={data_dir}", "train.steps=20", *overrides])

    return make


@pytest.fixture
def tiny_ring():
    def make(*overrides: str):
        return load_config("toy-ring", [*TINY, "train.batch_size=32", "train.steps=20", *overrides])

    return make


# The CIFAR-10 convolutional preset's layers (kernels, paddings, pools, strides) with few channels
TINY_CONV = ["generator.hidden=[32, 400]", "generator.feature_shape=[4, 10, 10]", "discriminator.hidden=[16]",
             "discriminator.conv=[{channels: 4, pieces: 2, kernel: 8, pad: 4, pool: 4, pool_stride: 2},"
             " {channels: 4, pieces: 2, kernel: 8, pad: 3, pool: 4, pool_stride: 2},"
             " {channels: 8, pieces: 2, kernel: 5, pad: 3, pool: 2, pool_stride: 2}]"]


@pytest.fixture(scope="session")
def cifar_dir(tmp_path_factory) -> Path:
    """Small CIFAR-10 files in the official format (160 training, 40 validation, 40 test images)."""
    from tests.cifar_files import write_folder

    root = tmp_path_factory.mktemp("cifar")
    write_folder(root, 40)
    return root


@pytest.fixture
def tiny_cifar_conv(cifar_dir):
    """paper-cifar10-conv (contrast-normalised CIFAR-10, the convolutional networks), few channels."""

    def make(*overrides: str):
        return load_config("paper-cifar10-conv", [*TINY, *TINY_CONV, "train.batch_size=32", f"data.dir={cifar_dir}",
                                                  "data.download=false", "train.steps=20", *overrides])

    return make


@pytest.fixture(scope="session")
def tiny_mnist_run(tmp_path_factory, data_dir) -> Path:
    """A finished 10-step tiny MNIST run directory, shared by the tests that only read it."""
    from advnets.cli import main

    run = tmp_path_factory.mktemp("tiny-mnist") / "run"
    assert main(["train", "paper-mnist", "--out", str(run), "--data-dir", str(data_dir),
                 "--set", *TINY, "train.steps=10"]) == 0
    return run
