"""The IDX file format of MNIST and Fashion-MNIST, gzip-compressed or raw.

Layout (big-endian): two zero bytes, a type code (0x08 = uint8), the number of dimensions n,
n uint32 sizes, then the values in C order.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from advnets.errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_TYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_raw_bytes(path: Path) -> bytes:
    """The file's uncompressed bytes (gzip is recognised by its magic, not its name)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    return decompress(data, str(path))


def decompress(data: bytes, source: str) -> bytes:
    """gzip-decompress `data` if it is gzip, else return it unchanged."""
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error):
        raise DataError(f"{source} is a corrupt or truncated gzip file; delete it and fetch it again") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into an array, checking the magic number and the length."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"{source} is not an IDX file (bad magic number {data[:4].hex() or 'empty'})")
    dtype = np.dtype(_IDX_TYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{source} is truncated inside its IDX header")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "longer than its header says"
        raise DataError(f"{source} is {what}: {len(data)} bytes, the header implies {expected}")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)


def write_idx(array: np.ndarray, path: Path, compress: bool = True) -> None:
    """Write `array` as IDX (used by tests and by users making MNIST-format data sets)."""
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}
    arr = np.ascontiguousarray(array)
    code = codes[arr.dtype.newbyteorder("=").str]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    body = header + arr.astype(np.dtype(_IDX_TYPES[code])).tobytes()
    path.write_bytes(gzip.compress(body) if compress else body)
