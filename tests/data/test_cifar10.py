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


def _gzip_of(raw_parts, path):
    """`path` written as the gzip of the concatenated `raw_parts` (streamed: a few MB on disk)."""
    import gzip

    with gzip.open(path, "wb", compresslevel=1) as f:
        for part in raw_parts:
            f.write(part)


def test_an_archive_bomb_is_refused_before_it_is_expanded(tmp_path, capsys):
    """A 10 GiB data_batch_1 in a small .tar.gz: refused from its entry's header, nothing expanded."""
    import tarfile
    import time

    root = tmp_path / "bomb"
    root.mkdir()
    entry = tarfile.TarInfo(f"{cifar10.FOLDER}/data_batch_1")
    entry.size = 10 * 2**30
    _gzip_of([entry.tobuf(format=tarfile.GNU_FORMAT), b"\0" * (8 << 20)], root / cifar10.ARCHIVE)
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"holds cifar-10-batches-py/data_batch_1 of 10,737,418,240 bytes"):
        cifar10.load_cifar10_split("train", str(root), download=False)
    assert main(["train", "paper-cifar10-fc", "--data-dir", str(root), "--out", str(tmp_path / "r"),
                 "--set", "data.download=false"]) == 2
    assert "not the CIFAR-10 python archive" in capsys.readouterr().err
    assert time.perf_counter() - started < 10 and not (tmp_path / "r").exists()


def test_an_archive_that_expands_beyond_the_official_one_is_refused(tmp_path):
    """Headers tarfile reads whole (a GNU long name of 1 GiB), or many entries: bounded all the same."""
    import tarfile

    root = tmp_path / "long"
    root.mkdir()
    long_name = tarfile.TarInfo("././@LongLink")
    long_name.type, long_name.size = tarfile.GNUTYPE_LONGNAME, 2**30
    _gzip_of([long_name.tobuf(format=tarfile.GNU_FORMAT)] + [b"a" * (1 << 20)] * 200, root / cifar10.ARCHIVE)
    with pytest.raises(DataError, match="expands to more than 192 MiB"):
        cifar10.load_cifar10_split("train", str(root), download=False)
    many = tmp_path / "many"
    many.mkdir()
    import io

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for i in range(40):
            info = tarfile.TarInfo(f"junk{i}")
            info.size = 1
            archive.addfile(info, io.BytesIO(b"x"))
    _gzip_of([buffer.getvalue()], many / cifar10.ARCHIVE)
    with pytest.raises(DataError, match="holds more than 32 entries"):
        cifar10.load_cifar10_split("train", str(many), download=False)


def test_an_oversized_batch_in_the_folder_is_refused_before_it_is_read(tmp_path):
    write_folder(tmp_path)
    with (tmp_path / cifar10.FOLDER / "data_batch_3").open("r+b") as f:
        f.truncate(cifar10.MAX_BATCH_BYTES + 1)  # sparse
    with pytest.raises(DataError, match="more than a CIFAR-10 batch"):
        cifar10.load_cifar10_split("train", str(tmp_path), download=False)
