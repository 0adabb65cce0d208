"""CIFAR-10, "python version" (https://www.cs.toronto.edu/~kriz/cifar.html): the archive
``cifar-10-python.tar.gz`` or its extracted folder ``cifar-10-batches-py/``, each batch a pickled dict

    data    uint8 [10000, 3072]   1,024 red, then green, then blue values of a 32 x 32 image, row-major
    labels  [10000]               classes 0-9 (airplane, automobile, bird, cat, deer, dog, frog, horse,
                                  ship, truck)

looked up in the usual data directories (``--data-dir``, ``$ADVNETS_DATA``, the user cache; in each,
directly or under ``cifar10/``): the extracted folder first, else the archive, read in memory (nothing is
extracted to disk). Where downloads are allowed and neither is found, the archive is fetched from the
official site and checked against its published MD5 before it is kept.

The batches are pickles, which can run code when loaded. They are read with a restricted unpickler that
accepts only what the official files hold (dicts, lists, strings, numbers and NumPy arrays) and refuses
anything else before it is built, so a planted payload runs nothing. What loads is then checked for the
format above. Splits (the released code's): train = data_batch_1-4 (train[0:40000]), valid =
data_batch_5 (train[40000:50000]), test = test_batch. Pixels are uint8 as stored; the CIFAR presets'
preprocessing (global contrast normalisation) is applied later, not here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import urllib.error
import zlib
from pathlib import Path

import numpy as np

from advnets.data.mnist import data_dirs, fetch
from advnets.data.spec import IMAGE, DatasetSpec
from advnets.errors import DataError
from advnets.fileio import atomic_write_bytes

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
URL = "https://www.cs.toronto.edu/~kriz/" + ARCHIVE
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR page (and used by torchvision)
SPLITS = {"train": ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4"), "valid": ("data_batch_5",),
          "test": ("test_batch",)}
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
class _ArrayRecord:
    """Stands in for numpy.ndarray while a batch is unpickled: keeps the array's pickled state (shape,
    dtype, bytes) without letting NumPy build anything from it (fuzzing found damaged states on which
    NumPy's own unpickling crashes the process); :func:`_to_array` checks the state and builds the array."""

    def __setstate__(self, state):
        self.state = state


class _DTypeRecord:
    """Stands in for numpy.dtype: keeps its name ("u1" for the images)."""

    def __init__(self, name="", align=False, copy=False):
        self.name = name

    def __setstate__(self, state):
        self.state = state


def _reconstruct(cls, shape, typecode):
    return _ArrayRecord()


def _encode(text, encoding="latin1"):
    return str(text).encode(str(encoding))


# The only globals a batch refers to, each replaced by a stand-in that runs nothing: how NumPy rebuilds
# an array (old and new module names), and how a protocol-2 pickle written by Python 3 spells bytes.
_STAND_INS = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
              ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
              ("numpy", "ndarray"): _ArrayRecord, ("numpy", "dtype"): _DTypeRecord, ("_codecs", "encode"): _encode}


class _BatchUnpickler(pickle.Unpickler):
    """Builds plain containers and array records, nothing else: any other global (a function or class a
    pickle could call) is refused before it is looked up."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _STAND_INS:
            raise pickle.UnpicklingError(f"refused {module}.{name}: not part of a CIFAR-10 batch")
        return _STAND_INS[(module, name)]


def _to_array(record: _ArrayRecord, where: str) -> np.ndarray:
    """The uint8 [N, 3072] image array an _ArrayRecord describes, or one error line."""
    try:
        _version, shape, dtype, fortran, raw = record.state
        shape = tuple(int(n) for n in shape)
        raw = raw.encode("latin1") if isinstance(raw, str) else bytes(raw)
        ok = isinstance(dtype, _DTypeRecord) and dtype.name in ("u1", "uint8") and not fortran
    except (AttributeError, TypeError, ValueError, UnicodeEncodeError, OverflowError):
        ok, shape = False, ()
    if not ok or len(shape) != 2 or shape[1] != 3072 or len(raw) != shape[0] * 3072:
        raise DataError(f"{where}: 'data' must be uint8 [N, 3072], got {list(shape) if shape else 'another array'}")
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape).copy()


def read_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of one batch's pickle bytes."""
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="latin1").load()  # the official files are Python 2's
    except Exception as e:  # noqa: BLE001 - damaged pickles fail in many ways; each is one line
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise DataError(f"{where} is not a CIFAR-10 batch ({reason})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{where} is not a CIFAR-10 batch (it holds a {type(batch).__name__}, not a dict)")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if not isinstance(batch.get("data"), _ArrayRecord):
        raise DataError(f"{where}: 'data' must be uint8 [N, 3072], got {type(batch.get('data')).__name__}")
    data = _to_array(batch["data"], where)
    labels = batch.get("labels")
    if not isinstance(labels, (list, tuple)) or not all(type(v) is int for v in labels):
        raise DataError(f"{where}: 'labels' must be a list of {len(data)} classes in 0-9")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(labels) != len(data) or (len(labels) and (labels.min() < 0 or labels.max() > 9)):
        raise DataError(f"{where}: 'labels' must be {len(data)} classes in 0-9")
    return data.reshape(-1, 3, 32, 32), labels


def _candidates(dirs: list[Path], name: str) -> list[Path]:
    """Where `name` may be in each data directory: directly, or under cifar10/."""
    return [d / sub / name for d in dirs for sub in ("", "cifar10")]


def find_cifar10(data_dir: str | None, download: bool) -> Path:
    """The extracted folder, else the archive; downloaded (MD5-checked) when allowed and found nowhere."""
    dirs = data_dirs(data_dir, download)
    for path in [*_candidates(dirs, FOLDER), *_candidates(dirs, ARCHIVE)]:
        if path.exists():
            return path
    target = dirs[0] / "cifar10" / ARCHIVE
    where = f"put {ARCHIVE} (or its extracted {FOLDER}/) in {target.parent}, or set ADVNETS_DATA / --data-dir"
    if not download:
        raise DataError(f"CIFAR-10 not found in {', '.join(map(str, dirs))}; {where}")
    try:
        payload = fetch(URL, ARCHIVE)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DataError(f"CIFAR-10 is not on this machine and could not be downloaded "
                        f"({URL}: {getattr(e, 'reason', None) or e}); {where}") from None
    if hashlib.md5(payload).hexdigest() != ARCHIVE_MD5:  # noqa: S324 (the published checksum is an MD5)
        raise DataError(f"the downloaded {ARCHIVE} fails its published MD5 check (kept nothing); {where}")
    atomic_write_bytes(target, payload)
    return target


# What the official files hold, so that nothing larger is ever read: each batch is 31,035,704 bytes
# (test_batch 31,035,526), the archive 9 entries and 186 MB once decompressed.
MAX_BATCH_BYTES = 32 << 20
MAX_ARCHIVE_ENTRIES = 32
MAX_ARCHIVE_BYTES = 192 << 20


class _BoundedReader:
    """A decompressed stream that refuses to yield more than `limit` bytes (an archive bomb: a few MB
    that expand to many GB), counting every byte tarfile reads, its own headers' included."""

    def __init__(self, stream, limit: int, path: Path):
        self.stream, self.limit, self.path, self.count = stream, limit, path, 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(self.limit + 1 - self.count if n is None or n < 0 else n)
        self.count += len(data)
        if self.count > self.limit:
            raise DataError(f"{self.path} expands to more than {self.limit >> 20} MiB, more than the CIFAR-10 "
                            "archive; it is not the official archive (delete it and get it again)")
        return data


def _member_bytes(path: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of `names` from the archive at `path`, read in one pass of its decompressed stream,
    every entry's size checked before its bytes are read."""
    wanted = {f"{FOLDER}/{name}": name for name in names}
    found: dict[str, bytes] = {}
    with gzip.open(path, "rb") as stream, tarfile.open(fileobj=_BoundedReader(stream, MAX_ARCHIVE_BYTES, path),
                                                       mode="r|") as archive:
        for count, member in enumerate(archive, start=1):
            if count > MAX_ARCHIVE_ENTRIES or member.size > MAX_BATCH_BYTES:
                what = (f"more than {MAX_ARCHIVE_ENTRIES} entries" if count > MAX_ARCHIVE_ENTRIES else
                        f"{member.name[:80]} of {member.size:,} bytes (a batch has 31,035,704)")
                raise DataError(f"{path} holds {what}: not the CIFAR-10 python archive (delete it and get it again)")
            if member.name in wanted and member.isfile():
                found[wanted[member.name]] = archive.extractfile(member).read()
    return found


def _read_members(path: Path, names: tuple[str, ...]) -> tuple[bytes, ...]:
    """The bytes of batches `names` from the folder or the archive at `path` (none larger than a batch)."""
    if path.is_dir():
        missing = [n for n in names if not (path / n).is_file()]
        if missing:
            raise DataError(f"{path} lacks {', '.join(missing)} (an incomplete {FOLDER}/); get the archive again")
        large = [n for n in names if (path / n).stat().st_size > MAX_BATCH_BYTES]
        if large:
            raise DataError(f"{path / large[0]} has {(path / large[0]).stat().st_size:,} bytes, more than a CIFAR-10 "
                            "batch (31,035,704): not an official batch; get the archive again")
        return tuple((path / n).read_bytes() for n in names)
    try:
        found = _member_bytes(path, names)
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as e:  # truncated or not a gzip'ed tar
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise DataError(f"{path} is damaged or not a .tar.gz ({reason}); delete it and get it again") from None
    missing = [n for n in names if n not in found]
    if missing:
        raise DataError(f"{path} has no {FOLDER}/{missing[0]}: not the CIFAR-10 python archive")
    return tuple(found[n] for n in names)


def load_cifar10_split(split: str, data_dir: str | None = None, download: bool = True
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of one split (train, valid, test)."""
    if split not in SPLITS:
        raise DataError(f"unknown CIFAR-10 split '{split}' (known: {', '.join(SPLITS)})")
    path = find_cifar10(data_dir, download)
    batches = [read_batch(raw, f"{path}: {name}") for name, raw in zip(SPLITS[split], _read_members(path, SPLITS[split]))]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


DATASETS = (DatasetSpec(name="cifar10", title="CIFAR-10", kind=IMAGE, x_shape=(3, 32, 32), n_classes=10,
                        splits=tuple(SPLITS), read_split=load_cifar10_split),)
