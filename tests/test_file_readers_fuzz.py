"""Fuzzing the file readers (hypothesis): whatever bytes a damaged disk, a truncated download or a
foreign file hands them, the IDX reader, the tensor-file reader (safetensors header and body), the TFD
MATLAB reader and the YAML config reader (aliases included) either return what they read or raise the
project's one-line error type; never another exception, never a hang. Tensor files whose headers claim
sizes that disagree with each other or with the file are refused before their data is read. Inputs are valid files with bytes flipped,
inserted, deleted or cut off, and plain random bytes. Each test has a fixed budget of examples
(derandomized, so that CI runs the same inputs every time; raise ADVNETS_FUZZ_EXAMPLES to search longer).
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advnets.errors import CheckpointError, ConfigError, DataError

EXAMPLES = int(os.environ.get("ADVNETS_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """`original` with a few bytes flipped, inserted or deleted, or cut short; or random bytes."""
    kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "random"]))
    data = bytearray(original)
    if kind == "random":
        return draw(st.binary(max_size=2048))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, max(0, len(data) - 1)))])
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[where] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=16))
        elif data:
            del data[where : where + draw(st.integers(1, 16))]
    return bytes(data)


# --- IDX (MNIST, Fashion-MNIST) ----------------------------------------------------------------------


def _idx_bytes() -> bytes:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    return bytes([0, 0, 0x08, 3]) + np.asarray(array.shape, dtype=">u4").tobytes() + array.tobytes()


IDX = _idx_bytes()


@FUZZ
@given(data=damaged(IDX) | damaged(gzip.compress(IDX)))
def test_the_idx_reader_reads_or_refuses(data):
    from advnets.data.idx import decompress, parse_idx

    try:
        values = parse_idx(decompress(data, "f.gz"), "f")
    except DataError:
        return
    assert isinstance(values, np.ndarray) and values.size * values.itemsize + 4 + 4 * values.ndim == len(
        decompress(data, "f.gz"))


# --- tensor files (snapshots, training states) -------------------------------------------------------


ORIGINAL_W = torch.arange(6, dtype=torch.float32).reshape(2, 3)


def _tensor_file() -> bytes:
    from advnets.tensorfile import save_tensors

    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.safetensors"
        save_tensors(path, {"generator.w": ORIGINAL_W, "rng": torch.zeros(4, dtype=torch.uint8)},
                     {"format": "advnets-network-snapshot/1", "step": 3})
        return path.read_bytes()


TENSOR_FILE = _tensor_file()
ORIGINAL_HEADER = __import__("json").loads(__import__("json").loads(
    TENSOR_FILE[8 : 8 + int.from_bytes(TENSOR_FILE[:8], "little")])["__metadata__"]["advnets"])


@FUZZ
@given(data=damaged(TENSOR_FILE))
def test_the_tensor_file_reader_reads_or_refuses(tmp_path, data):
    from advnets.tensorfile import load_tensors, read_header

    path = tmp_path / "x.safetensors"
    path.write_bytes(data)
    for read in (read_header, load_tensors):
        try:
            read(path)
        except CheckpointError:
            pass
    try:
        tensors, header = load_tensors(path)
    except CheckpointError:
        return
    # A file that passes the original checksum holds the original weights: no damaged byte gets through.
    if header.get("tensors_sha256") == ORIGINAL_HEADER["tensors_sha256"] and "generator.w" in tensors:
        assert torch.equal(tensors["generator.w"], ORIGINAL_W)


@st.composite
def tensor_table(draw) -> bytes:
    """A safetensors file whose header claims tensors (types, shapes, extents) that may or may not agree
    with each other and with the bytes that follow: huge shapes, negative or overlapping extents,
    unknown types, a data section shorter or longer than claimed."""
    import json

    entries = {}
    offset = 0
    for i in range(draw(st.integers(0, 4))):
        dtype = draw(st.sampled_from(["F32", "F64", "U8", "I64", "BOOL"] * 3 + ["Q9", 7]))
        shape = draw(st.lists(st.sampled_from([1, 2, 3] * 4 + [0, 100_000, -1, 2**62]), max_size=3))
        size = draw(st.sampled_from([None] * 8 + [0, 4, 12, 2**40]))
        begin = offset + draw(st.sampled_from([0] * 8 + [-4, 4]))
        if size is None:
            import math

            size = max(0, math.prod(shape)) * {"F32": 4, "F64": 8, "U8": 1, "I64": 8, "BOOL": 1}.get(dtype, 1)
        entries[f"generator.w{i}"] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, begin + size]}
        offset = begin + size
    header = {"format": "advnets-network-snapshot/1", "step": 3}
    table = json.dumps({"__metadata__": {"advnets": json.dumps(header)}, **entries}).encode()
    data_len = draw(st.sampled_from([max(0, min(offset, 4096))] * 4 + [0, 17]))
    return len(table).to_bytes(8, "little") + table + b"\0" * data_len


@FUZZ
@given(data=tensor_table())
def test_tensor_headers_with_inconsistent_sizes_are_refused_before_reading(tmp_path, data):
    """Whatever a header claims, the reader refuses in one line or returns tensors that are exactly what it
    claimed, without reading more than the file holds."""
    import time

    from advnets.tensorfile import load_tensors

    path = tmp_path / "x.safetensors"
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        tensors, _ = load_tensors(path)
    except CheckpointError:
        return
    finally:
        assert time.perf_counter() - started < 2.0
    assert sum(t.numel() * t.element_size() for t in tensors.values()) <= len(data)


def test_the_intact_tensor_file_reads(tmp_path):
    from advnets.tensorfile import load_tensors

    (tmp_path / "x.safetensors").write_bytes(TENSOR_FILE)
    tensors, header = load_tensors(tmp_path / "x.safetensors")
    assert header["step"] == 3 and tensors["generator.w"].shape == (2, 3)


# --- TFD's MATLAB file ---------------------------------------------------------------------------------


def _tfd_file(compress: bool) -> bytes:
    from scipy.io import savemat

    buf = io.BytesIO()
    images = np.zeros((4, 48, 48), dtype=np.uint8)
    folds = np.tile(np.array([[0, 1, 2, 3, 0]]), (4, 1))
    savemat(buf, {"images": images, "folds": folds, "labs_ex": np.arange(4)}, do_compression=compress)
    return buf.getvalue()


@FUZZ
@given(data=damaged(_tfd_file(False)) | damaged(_tfd_file(True)))
def test_the_tfd_reader_reads_or_refuses(tmp_path, data):
    from advnets.data.tfd import _read

    path = tmp_path / "TFD_48x48.mat"
    path.write_bytes(data)
    _read.cache_clear()
    try:
        images, folds, labels = _read(path)
    except DataError:
        return
    assert images.shape[1:] == (48, 48) and folds.shape == (len(images), 5)


# A damaged file on which scipy 1.17's loadmat segfaults (found by fuzzing): refused in one line, the
# reading process unharmed (advnets.data.tfd.crashes_the_parser).
CRASHES_SCIPY = (
    "TUFUTEFCIDUuMCBNQVQtZmlsZSBQbGF0Zm9ybTogcG9zaXgsIENyZWF0ZWQgb246IFN1biBOb3YgMjkgMDA6MDM6MDMgMjAyNgAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABSU0PAAAAUQAAAHic7crBCYMAEETRMWiIIFZhAZaQVjxIyMGT/YMr2oTw"
    "HnwWhh2TfKfkXfdT9bl01VC11Xx3anL9/rflt+7J6xynAAAAAAAAAAAAD3YAJj4Dog8AAAA2AAAAeJzjY2BguAHEbEDMAcR8DBDACuWzQNmMUDqO"
    "eBoMAi0/J6UYSPMA8QIGwoCRAM1EgGYmQBMCANRfA/sPAAAANwAAAHic42NgYIgAYjYg5gBiPgYIYIXyGYGYBUqzA3FOYlJxfGoFAw+QrcCAAIxQ"
    "mglKM0NpALw5A60=")


def test_a_tfd_file_that_crashes_scipy_is_refused(tmp_path):
    import base64

    from advnets.data.tfd import _read

    path = tmp_path / "TFD_48x48.mat"
    path.write_bytes(base64.b64decode(CRASHES_SCIPY))
    _read.cache_clear()
    with pytest.raises(DataError, match="is damaged: scipy's MATLAB reader crashed on it|not a readable MATLAB"):
        _read(path)


# --- YAML configs ---------------------------------------------------------------------------------------

PRESET = (Path(__file__).resolve().parents[1] / "src" / "advnets" / "configs" / "quick-mnist.yaml").read_bytes()
YAML_PIECES = st.sampled_from(["a: 1", "train: {steps: -3}", "!!python/object:os.system {}", "x: 2001-02-30",
                               "- [", "&a [*a]", "optim: {lr: .inf}", "seed: 1e400", "train:\n  k: 0.5",
                               "data: {name: [1, 2]}", "<<: *b", "? [1]: 2", "\t", "name: 1", "%YAML 9.9\n---"])


@FUZZ
@given(data=damaged(PRESET) | st.lists(YAML_PIECES, min_size=1, max_size=4).map(lambda p: "\n".join(p).encode()))
def test_the_config_reader_reads_or_refuses(tmp_path, data):
    from advnets.config import load_config

    path = tmp_path / "c.yaml"
    path.write_bytes(data)
    try:
        load_config(str(path))
    except ConfigError:
        pass


@st.composite
def aliased_config(draw) -> str:
    """A config whose one key holds a chain of anchors and aliases: `levels` lists of `width` items, each
    list the previous one repeated (width**levels values once expanded), sometimes referring to itself."""
    levels, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    names = [f"n{i}" for i in range(levels)]
    lists = [f"&{names[0]} [{','.join(['1'] * width)}]"]
    lists += [f"&{names[i]} [{','.join([f'*{names[i - 1]}'] * width)}]" for i in range(1, levels)]
    if draw(st.booleans()):
        lists.append(f"&loop [*loop]" if draw(st.booleans()) else f"*{names[-1]}")
    key = draw(st.sampled_from(["name", "seed", "generator.hidden", "data.means", "train", "no_such_key"]))
    outer, _, inner = key.partition(".")
    value = "[" + ",".join(lists) + "]"
    return f"{outer}: {{{inner}: {value}}}\n" if inner else f"{outer}: {value}\n"


@FUZZ
@given(text=aliased_config())
def test_configs_with_aliases_read_or_refuse_at_once(tmp_path, text):
    """However the aliases nest (up to 12**12 values once expanded), reading is quick and ends in a
    config or the one-line error."""
    import time

    from advnets.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(text)
    started = time.perf_counter()
    try:
        load_config(str(path))
    except ConfigError:
        pass
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("text, message", [
    ("x: 2001-02-30\n", "not valid YAML"),  # a date YAML accepts and Python does not
    ("!!python/object/apply:os.system [echo hacked]\n", "not valid YAML"),  # never constructed
    ("seed: .nan\n", "seed"),
])
def test_config_reader_examples(tmp_path, text, message):
    from advnets.config import load_config

    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(str(tmp_path / "c.yaml"))


# --- CIFAR-10 batches (pickles, read by a restricted unpickler) ------------------------------------------


def _cifar_batch() -> bytes:
    import pickle

    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    return pickle.dumps({"batch_label": "b", "labels": [3, 7], "data": data, "filenames": ["a.png", "b.png"]},
                        protocol=2)


CIFAR_BATCH = _cifar_batch()


@FUZZ
@given(data=damaged(CIFAR_BATCH))
def test_the_cifar10_batch_reader_reads_or_refuses(data):
    from advnets.data.cifar10 import read_batch

    try:
        images, labels = read_batch(data, "batch")
    except DataError:
        return
    assert images.dtype == np.uint8 and images.shape[1:] == (3, 32, 32) and len(labels) == len(images)
    assert labels.dtype == np.int64 and (len(labels) == 0 or 0 <= labels.min() <= labels.max() <= 9)
