import gzip

import numpy as np
import pytest

from advnets.data.idx import parse_idx, read_raw_bytes, write_idx
from advnets.errors import DataError


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(tmp_path, compress):
    arr = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    path = tmp_path / "a.idx"
    write_idx(arr, path, compress=compress)
    np.testing.assert_array_equal(parse_idx(read_raw_bytes(path)), arr)


def test_bad_magic_truncation_and_corrupt_gzip(tmp_path):
    arr = np.zeros((4, 2, 2), dtype=np.uint8)
    path = tmp_path / "a.idx"
    write_idx(arr, path, compress=False)
    raw = path.read_bytes()
    with pytest.raises(DataError, match="not an IDX file"):
        parse_idx(b"\x12\x34" + raw[2:], "x")
    with pytest.raises(DataError, match="is truncated: 17 bytes, the header implies 32"):
        parse_idx(raw[:17], "x")
    with pytest.raises(DataError, match="longer than its header"):
        parse_idx(raw + b"\0", "x")
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(raw)[:-10])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        read_raw_bytes(bad)
    with pytest.raises(DataError, match="cannot read"):
        read_raw_bytes(tmp_path / "missing.gz")
