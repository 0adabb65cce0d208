"""CIFAR-10 (advnets.data.cifar10) on files the tests write in the official "python version" format (no
CIFAR-10 files are available here): the folder and the archive, the splits, the pixel layout, a planted
payload refused without running, damaged and missing files as one error line."""

import os
import pickle

import numpy as np
import pytest

from advnets.cli import main
from advnets.data import cifar10, registry
from advnets.errors import DataError
from tests import cifar_files
from tests.cifar_files import write_archive

PER_BATCH = 6


def write_folder(root) -> dict:
    return cifar_files.write_folder(root, PER_BATCH)


def test_splits_layout_and_labels_from_the_folder_and_from_the_archive(tmp_path):
    batches = write_folder(tmp_path / "a")
    write_archive(tmp_path / "b", tmp_path / "a")
    spec = registry.get("cifar10")
    for root in ("a", "b"):
        pixels, labels = spec.load_pixels("train", str(tmp_path / root), download=False)
        assert pixels.shape == (4 * PER_BATCH, 3, 32, 32) and pixels.dtype == np.uint8
        first = batches["data_batch_1"]
        assert np.array_equal(pixels[0, 0].reshape(-1), first["data"][0, :1024])  # red plane first, row-major
        assert np.array_equal(pixels[0, 2].reshape(-1), first["data"][0, 2048:])  # then green, then blue
        assert labels.tolist()[:PER_BATCH] == first["labels"]
        valid, valid_labels = spec.load_pixels("valid", str(tmp_path / root), download=False)  # train[40000:]
        assert np.array_equal(valid.reshape(PER_BATCH, -1), batches["data_batch_5"]["data"])
        test, _ = spec.load_images("test", str(tmp_path / root), download=False)
        assert test.shape == (PER_BATCH, 3, 32, 32) and 0 <= float(test.min()) and float(test.max()) <= 1


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    write_folder(tmp_path)
    marker = tmp_path / "payload-ran"
    payload = _Payload()
    payload.marker = marker
    (tmp_path / cifar10.FOLDER / "test_batch").write_bytes(pickle.dumps({"data": payload, "labels": []}, protocol=2))
    with pytest.raises(DataError, match=r"test_batch is not a CIFAR-10 batch \(refused posix.system"):
        cifar10.load_cifar10_split("test", str(tmp_path), download=False)
    assert not marker.exists()


@pytest.mark.parametrize("damage, message", [
    ("truncated", "is damaged or not a .tar.gz"),
    ("foreign", "is damaged or not a .tar.gz"),
    ("no-batch", "has no cifar-10-batches-py/data_batch_5: not the CIFAR-10 python archive"),
])
def test_damaged_archives_are_one_line(tmp_path, damage, message):
    write_folder(tmp_path / "src")
    (tmp_path / "d").mkdir()
    if damage == "no-batch":
        (tmp_path / "src" / cifar10.FOLDER / "data_batch_5").unlink()
    write_archive(tmp_path / "d", tmp_path / "src")
    archive = tmp_path / "d" / cifar10.ARCHIVE
    if damage == "truncated":
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    if damage == "foreign":
        archive.write_bytes(b"this is not an archive\n" * 100)
    with pytest.raises(DataError, match=message):
        cifar10.load_cifar10_split("valid", str(tmp_path / "d"), download=False)


def test_wrong_contents_missing_files_and_the_command_line(tmp_path, capsys):
    write_folder(tmp_path)
    folder = tmp_path / cifar10.FOLDER
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": np.zeros((3, 100), np.uint8), "labels": [0] * 3}))
    with pytest.raises(DataError, match=r"'data' must be uint8 \[N, 3072\], got \[3, 100\]"):
        cifar10.load_cifar10_split("train", str(tmp_path), download=False)
    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": np.zeros((3, 3072), np.uint8), "labels": [0, 11, 2]}))
    with pytest.raises(DataError, match=r"'labels' must be 3 classes in 0-9"):
        cifar10.load_cifar10_split("train", str(tmp_path), download=False)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="lacks data_batch_3"):
        cifar10.load_cifar10_split("train", str(tmp_path), download=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["train", "paper-mnist", "--out", str(tmp_path / "run"), "--set", "data.name=cifar10",
            f"data.dir={empty}", "data.download=false"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CIFAR-10 not found in" in err and not (tmp_path / "run").exists()
