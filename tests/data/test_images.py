"""data.name=images: your own images from a folder or an array file (data/images.py)."""

import numpy as np
import pytest
import torch
from PIL import Image

from advnets.cli import main
from advnets.config import load_config
from advnets.data import images as own
from advnets.data import registry
from advnets.errors import ConfigError
from advnets.train.checkpoint import load_training_state
from advnets.train.loop import train
from tests.conftest import TINY
from tests.image_files import CLASSES, write_shapes


@pytest.fixture
def shapes(tmp_path, monkeypatch):
    """200 16x16 RGB images of 4 shapes (a folder with one sub-folder per class, and the same as an .npz); the
    user cache in tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    own._DECODED.clear()
    return write_shapes(tmp_path)


def _config(path, *extra):
    return load_config("paper-mnist", [*TINY, "data.name=images", f"data.path={path}", "train.batch_size=20",
                                       "train.valid_samples=40", *extra])


def test_a_folder_is_a_data_set_with_its_subfolders_as_classes_and_fixed_splits(shapes, tmp_path, monkeypatch):
    folder, _ = shapes
    spec = registry.for_config(_config(folder).data)
    assert spec.x_shape == (3, 16, 16) and spec.n_classes == 4 and spec.source["files"] == 200
    assert spec.source["classes"] == sorted(CLASSES)
    splits = {name: spec.load_pixels(name) for name in ("train", "valid", "test")}
    assert [len(x) for x, _ in splits.values()] == [160, 20, 20]
    first = np.asarray(Image.open(folder / "circle" / "0000.png")).transpose(2, 0, 1)
    everything = np.concatenate([x for x, _ in splits.values()])
    assert any(np.array_equal(first, x) for x in everything)  # decoded as stored
    assert all((y >= 0).all() and (y < 4).all() for _, y in splits.values())
    # the same splits whatever the run's seed; from the cache in a fresh process (decoding refused here)
    own._DECODED.clear()
    monkeypatch.setattr(own, "_decode_folder", lambda *a: pytest.fail("decoded again despite the cache"))
    again = registry.for_config(_config(folder, "seed=7").data)
    assert all(np.array_equal(again.load_pixels(n)[0], splits[n][0]) for n in splits)


def test_an_array_file_and_the_settings_that_reshape_images(shapes):
    folder, npz = shapes
    spec = registry.for_config(_config(npz).data)
    assert spec.x_shape == (3, 16, 16) and spec.n_classes == 4
    small_grey = registry.for_config(_config(folder, "data.size=8", "data.channels=1", "data.resize_filter=box").data)
    assert small_grey.x_shape == (1, 8, 8)
    x, _ = small_grey.load_pixels("train")
    assert x.dtype == np.uint8 and x.shape[1:] == (1, 8, 8)
    np.save(folder.parent / "grey.npy", np.zeros((30, 12, 12), np.uint8))
    assert registry.for_config(_config(folder.parent / "grey.npy").data).x_shape == (1, 12, 12)


@pytest.mark.parametrize("make, message", [
    (lambda root: (root / "empty").mkdir() or root / "empty", "holds no image files"),
    (lambda root: _unreadable(root), "Pillow cannot read it"),
    (lambda root: _mixed_sizes(root), "set data.size"),
    (lambda root: np.savez(root / "f.npz", images=np.zeros((4, 8, 8), np.float32)) or root / "f.npz", "uint8"),
    (lambda root: np.savez(root / "l.npz", images=np.zeros((4, 8, 8), np.uint8), labels=np.arange(3)) or
     root / "l.npz", "'labels' must be 4 class numbers"),
    (lambda root: root / "missing", "no such folder or file"),
])
def test_what_cannot_be_a_data_set_is_one_line_and_nothing_is_written(tmp_path, monkeypatch, capsys, make, message):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = make(tmp_path)
    with pytest.raises(ConfigError, match=message):
        registry.for_config(_config(path).data)
    run = tmp_path / "run"
    assert main(["train", "paper-mnist", "--out", str(run), "--set", "data.name=images", f"data.path={path}"]) == 2
    assert message.split("'")[0] in capsys.readouterr().err and not run.exists()


def _unreadable(root):
    (root / "bad").mkdir()
    Image.new("RGB", (8, 8)).save(root / "bad" / "a.png")
    (root / "bad" / "x.png").write_bytes(b"not a png")
    return root / "bad"


def _mixed_sizes(root):
    (root / "mixed").mkdir()
    Image.new("RGB", (8, 8)).save(root / "mixed" / "a.png")
    Image.new("RGB", (9, 8)).save(root / "mixed" / "b.png")
    return root / "mixed"


def test_settings_are_checked_before_any_file_is_read():
    with pytest.raises(ConfigError, match="data.path: must be the folder"):
        load_config("paper-mnist", ["data.name=images"])
    with pytest.raises(ConfigError, match="data.split_fractions"):
        load_config("paper-mnist", ["data.name=images", "data.path=x", "data.split_fractions=[0.5, 0.5, 0.5]"])
    with pytest.raises(ConfigError, match="data.channels"):
        load_config("paper-mnist", ["data.name=images", "data.path=x", "data.channels=2"])


def test_a_conditional_run_trains_resumes_exactly_and_samples_without_its_images(shapes, tmp_path):
    folder, _ = shapes
    cfg = _config(folder, "data.conditional=true", "train.steps=20")
    full = train(cfg, tmp_path / "full")
    train(_config(folder, "data.conditional=true", "train.steps=10"), tmp_path / "split")
    train(cfg, tmp_path / "split", resume=True)
    a, header = load_training_state(full.run_dir)
    b, _ = load_training_state(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit-identical to not stopping
    assert header["config"]["data"]["found"]["files"] == 200 and header["config"]["data"]["found"]["classes"]
    run = str(full.run_dir)
    assert main(["evaluate", run, "--metric", "parzen", "--n-samples", "100"]) == 0  # on the images' test split
    for kind in ("fig2", "fig3"):
        assert main(["figure", kind, run, "--out", str(tmp_path / f"{kind}.png")]) == 0
    assert main(["report", run]) == 0 and (full.run_dir / "report.html").stat().st_size > 10_000
    folder.rename(tmp_path / "moved")  # a trained model samples without its images
    assert main(["sample", str(full.run_dir), "--n", "8", "--out", str(tmp_path / "s.npy")]) == 0
    assert np.load(tmp_path / "s.npy").shape == (8, 3, 16, 16)
    (tmp_path / "moved").rename(folder)
    Image.new("RGB", (16, 16)).save(folder / "circle" / "new.png")  # the images changed: the run says so
    with pytest.raises(ConfigError, match="not those this run was trained on"):
        train(_config(folder, "data.conditional=true", "train.steps=30"), tmp_path / "split", resume=True)
    assert main(["train", "--resume", str(tmp_path / "split"), "--set", "train.steps=30"]) == 2
    assert load_training_state(tmp_path / "split")[1]["step"] == 20  # untouched
    # a new run started from that run's config.yaml (its record of the old images inside) reads them afresh
    assert main(["train", str(tmp_path / "split" / "config.yaml"), "--out", str(tmp_path / "again"), "--set",
                 "train.steps=5"]) == 0
    assert load_training_state(tmp_path / "again")[1]["config"]["data"]["found"]["files"] == 201


def test_a_conditional_model_needs_labelled_images(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "flat").mkdir()
    for i in range(30):
        Image.new("L", (8, 8), i).save(tmp_path / "flat" / f"{i}.png")
    with pytest.raises(ConfigError, match="has none: put the images in one sub-folder per class"):
        train(_config(tmp_path / "flat", "data.conditional=true"), tmp_path / "run")
    assert not (tmp_path / "run").exists()
