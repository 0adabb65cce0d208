import numpy as np
import pytest

from advnets.data.idx import write_idx
from advnets.data.mnist import IDX_DATASETS, data_dirs, load_idx_split
from advnets.errors import DataError


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_paper_splits(data_dir, name):
    sizes = {"train": 50_000, "valid": 10_000, "test": 10_000, "train-full": 60_000}
    for split, n in sizes.items():
        images, labels = load_idx_split(name, split, data_dir)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and set(np.unique(labels)) == set(range(10))
    full, _ = load_idx_split(name, "train-full", data_dir)
    train, _ = load_idx_split(name, "train", data_dir)
    valid, _ = load_idx_split(name, "valid", data_dir)
    np.testing.assert_array_equal(full[:50_000], train)
    np.testing.assert_array_equal(full[50_000:], valid)


def test_search_order(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("ADVNETS_DATA", str(data_dir))
    dirs = data_dirs()
    assert dirs[0] == data_dir and "advnets" in str(dirs[1])
    images, _ = load_idx_split("mnist", "test", download=False)  # no explicit folder: $ADVNETS_DATA
    assert images.shape == (10_000, 28, 28)


def test_an_explicit_folder_is_the_only_place_searched_even_when_empty(tmp_path, monkeypatch, data_dir, capsys):
    """An existing but empty --data-dir is never silently replaced by $ADVNETS_DATA (which holds the files)."""
    from advnets.cli import main

    monkeypatch.setenv("ADVNETS_DATA", str(data_dir))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert data_dirs(empty) == [empty] == data_dirs(empty, download=True)
    with pytest.raises(DataError, match=f"not found in {empty}$|not found in {empty};"):
        load_idx_split("mnist", "test", empty, download=False)
    assert main(["train", "paper-mnist", "--out", str(tmp_path / "r"), "--data-dir", str(empty),
                 "--set", "data.download=false", "train.steps=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"not found in {empty};" in err and not (tmp_path / "r").exists()


def test_missing_files_without_download(tmp_path):
    with pytest.raises(DataError) as err:
        load_idx_split("mnist", "train", tmp_path, download=False)
    msg = str(err.value)
    assert "MNIST file train-images-idx3-ubyte.gz not found" in msg and str(tmp_path / "mnist") in msg
    assert "\n" not in msg


def test_download_from_a_mirror_checks_sha256(tmp_path, mnist_copy):
    mirror = mnist_copy / "mnist"
    target = tmp_path / "data"
    images, labels = load_idx_split("mnist", "test", target, mirrors=(mirror.as_uri() + "/",))
    assert images.shape == (10_000, 28, 28)
    assert (target / "mnist" / "t10k-images-idx3-ubyte.gz").is_file()

    # a mirror serving a tampered file is rejected and nothing is written
    bad_mirror = tmp_path / "bad"
    bad_mirror.mkdir()
    write_idx(np.zeros((10, 28, 28), np.uint8), bad_mirror / "train-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match="could not be downloaded .*checksum mismatch"):
        load_idx_split("mnist", "train", tmp_path / "other", mirrors=(bad_mirror.as_uri() + "/",))
    assert not (tmp_path / "other" / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_unreachable_mirror_gives_one_line(tmp_path):
    with pytest.raises(DataError) as err:
        load_idx_split("fashion-mnist", "test", tmp_path, mirrors=("http://127.0.0.1:9/",))
    msg = str(err.value)
    assert "Fashion-MNIST file t10k-images-idx3-ubyte.gz is not on this machine and could not be downloaded" in msg
    assert "\n" not in msg


def test_corrupt_and_truncated_files(mnist_copy):
    labels = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    write_idx(np.zeros(10_000, np.uint8), labels)  # right format and size, wrong content
    with pytest.raises(DataError, match="fails its SHA-256 check"):
        load_idx_split("mnist", "test", mnist_copy, download=False)
    write_idx(np.zeros(9_999, np.uint8), labels)
    with pytest.raises(DataError, match="fails its SHA-256 check"):
        load_idx_split("mnist", "test", mnist_copy, download=False)
    labels.write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        load_idx_split("mnist", "test", mnist_copy, download=False)
    labels.write_bytes(b"\x00\x00\x99\x01")
    with pytest.raises(DataError, match="not an IDX file"):
        load_idx_split("mnist", "test", mnist_copy, download=False)
    assert set(IDX_DATASETS) == {"mnist", "fashion-mnist"}
