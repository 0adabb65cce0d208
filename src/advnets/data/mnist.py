"""MNIST and Fashion-MNIST: finding, downloading, verifying and splitting the IDX files.

Where the files are looked for: in ``--data-dir`` / ``data.dir`` alone when one is given; otherwise in
``$ADVNETS_DATA``, then the user cache directory; in each, ``<dir>/<dataset>/<file>`` and then ``<dir>/<file>``. Missing files are
downloaded into the first of those directories from the official mirrors, and every file's
uncompressed bytes are checked against the published SHA-256 before use.

The paper's splits (``docs/paper.md`` section 4): train = train[0:50000], valid =
train[50000:60000] (the Parzen sigma is chosen on its first 1,000), test = the 10,000 test images.
"""

from __future__ import annotations

import functools
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from advnets.data.idx import decompress, parse_idx, read_raw_bytes, sha256
from advnets.data.spec import IMAGE, DatasetSpec
from advnets.errors import DataError
from advnets.fileio import atomic_write_bytes

SPLITS = ("train", "valid", "test", "train-full")
TRAIN_SIZE = 50_000  # train[0:50000]; the rest of the official training set is validation


@dataclass(frozen=True)
class IdxFile:
    filename: str
    sha256: str  # of the uncompressed bytes
    nbytes: int  # uncompressed


@dataclass(frozen=True)
class IdxDataset:
    name: str
    title: str
    files: dict[str, IdxFile]  # role -> file; roles: train_images, train_labels, test_images, test_labels
    mirrors: tuple[str, ...]


MNIST = IdxDataset(
    name="mnist",
    title="MNIST",
    files={
        "train_images": IdxFile("train-images-idx3-ubyte.gz",
                                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", 47040016),
        "train_labels": IdxFile("train-labels-idx1-ubyte.gz",
                                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", 60008),
        "test_images": IdxFile("t10k-images-idx3-ubyte.gz",
                               "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", 7840016),
        "test_labels": IdxFile("t10k-labels-idx1-ubyte.gz",
                               "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", 10008),
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
)

FASHION_MNIST = IdxDataset(
    name="fashion-mnist",
    title="Fashion-MNIST",
    files={
        "train_images": IdxFile("train-images-idx3-ubyte.gz",
                                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016),
        "train_labels": IdxFile("train-labels-idx1-ubyte.gz",
                                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008),
        "test_images": IdxFile("t10k-images-idx3-ubyte.gz",
                               "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016),
        "test_labels": IdxFile("t10k-labels-idx1-ubyte.gz",
                               "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008),
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)

IDX_DATASETS = {d.name: d for d in (MNIST, FASHION_MNIST)}


def data_dirs(explicit: str | os.PathLike | None = None, download: bool = False) -> list[Path]:
    """Directories searched for data files, in order; the first is where downloads go. A directory
    given explicitly (--data-dir, data.dir) is the only place searched, whether it holds the files or
    not (an empty one included): it must exist, or, where downloads are allowed, it is created by a
    successful download."""
    if explicit:
        given = Path(explicit).expanduser()
        if not given.is_dir() and not (download and not given.exists()):
            raise DataError(f"data directory {explicit} (--data-dir / data.dir) "
                            f"{'is a file' if given.exists() else 'does not exist'}; give the folder that holds "
                            "the data files, or leave it unset to search $ADVNETS_DATA and the user cache")
        return [given]
    dirs = []
    if os.environ.get("ADVNETS_DATA"):
        dirs.append(Path(os.environ["ADVNETS_DATA"]).expanduser())
    dirs.append(user_cache_dir() / "data")
    return list(dict.fromkeys(dirs))


def user_cache_dir() -> Path:
    """advnets' folder in the user's cache (platformdirs' answer; without that package, the XDG default)."""
    try:
        import platformdirs
    except ImportError:  # e.g. a bare GPU image that runs the benchmarks from the source tree
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "advnets"
    return Path(platformdirs.user_cache_dir("advnets"))


def _candidates(dataset: IdxDataset, f: IdxFile, dirs: list[Path]) -> list[Path]:
    stem = f.filename[: -len(".gz")]
    return [d / sub / name for d in dirs for sub in (dataset.name, "") for name in (f.filename, stem)]


def find_file(dataset: IdxDataset, role: str, dirs: list[Path], download: bool,
              mirrors: tuple[str, ...] | None = None) -> Path:
    """The path of one verified file, downloading it when it is nowhere in `dirs`."""
    f = dataset.files[role]
    for path in _candidates(dataset, f, dirs):
        if path.is_file():
            return path
    target = dirs[0] / dataset.name / f.filename
    names = ", ".join(x.filename for x in dataset.files.values())
    where = f"put {names} in {target.parent} (or set ADVNETS_DATA / --data-dir to a folder holding them)"
    if not download:
        raise DataError(f"{dataset.title} file {f.filename} not found in {', '.join(map(str, dirs))}; {where}")
    reason = _download(f, target, mirrors or dataset.mirrors)
    if reason:
        raise DataError(f"{dataset.title} file {f.filename} is not on this machine and could not be downloaded "
                        f"({reason}); {where}")
    return target


def fetch(url: str, name: str) -> bytes:
    """The bytes at `url`, with a progress bar named `name`; urllib's errors (URLError, OSError,
    ValueError) pass to the caller, which checks the bytes before keeping them."""
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (the data sets' official addresses)
        total = int(response.headers.get("Content-Length") or 0) or None
        chunks = []
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {name}", leave=False) as bar:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def _download(f: IdxFile, target: Path, mirrors: tuple[str, ...]) -> str | None:
    """Fetch `f` into `target` atomically; returns None on success, else why it failed."""
    reason = "no mirror"
    for mirror in mirrors:
        url = mirror + f.filename
        try:
            payload = fetch(url, f.filename)
        except (urllib.error.URLError, OSError, ValueError) as e:
            reason = f"{url}: {getattr(e, 'reason', None) or e}"
            continue
        try:
            _verify(Path(url), f, decompress(payload, url))
        except DataError:
            reason = f"{url}: checksum mismatch"
            continue
        atomic_write_bytes(target, payload)
        return None
    return reason


def _verify(path: Path, f: IdxFile, raw: bytes) -> None:
    if len(raw) != f.nbytes or sha256(raw) != f.sha256:
        parse_idx(raw, str(path))  # a wrong format or length gets the more specific message
        raise DataError(f"{path} fails its SHA-256 check (corrupt or not the official {f.filename}); "
                        "delete it and fetch it again")


@functools.lru_cache(maxsize=8)
def _load_verified(path: Path, f: IdxFile) -> np.ndarray:
    raw = read_raw_bytes(path)
    _verify(path, f, raw)
    return parse_idx(raw, str(path))


def load_idx_split(name: str, split: str, data_dir: str | None = None, download: bool = True,
                   mirrors: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images [N, 28, 28] uint8 and labels [N] uint8 of one split of MNIST or Fashion-MNIST."""
    if name not in IDX_DATASETS:
        raise DataError(f"unknown IDX data set '{name}' (known: {', '.join(IDX_DATASETS)})")
    if split not in SPLITS:
        raise DataError(f"unknown split '{split}' (known: {', '.join(SPLITS)})")
    dataset = IDX_DATASETS[name]
    dirs = data_dirs(data_dir, download)
    part = "test" if split == "test" else "train"
    images = _load_verified(find_file(dataset, f"{part}_images", dirs, download, mirrors),
                            dataset.files[f"{part}_images"])
    labels = _load_verified(find_file(dataset, f"{part}_labels", dirs, download, mirrors),
                            dataset.files[f"{part}_labels"])
    rows = {"train": slice(0, TRAIN_SIZE), "valid": slice(TRAIN_SIZE, None)}.get(split, slice(None))
    return images[rows], labels[rows]


def _spec(dataset: IdxDataset, classifier: str | None = None, has_references: bool = False) -> DatasetSpec:
    return DatasetSpec(
        name=dataset.name, title=dataset.title, kind=IMAGE, x_shape=(1, 28, 28), n_classes=10, splits=SPLITS,
        read_split=lambda split, data_dir, download: load_idx_split(dataset.name, split, data_dir, download),
        checksums={f.filename: f.sha256 for f in dataset.files.values()}, classifier=classifier,
        has_references=has_references)


DATASETS = (_spec(MNIST, classifier="mnist-classifier.safetensors", has_references=True), _spec(FASHION_MNIST))
