"""The tensor file reader trusts nothing a header says before checking it: a snapshot whose header claims
a 40 GB tensor (on a sparse file of that size) is refused in a moment by every command that reads one,
without reading its data; so are claims beyond a file kind's ceiling or the memory available."""

import json
import time
from pathlib import Path

import pytest

from advnets.cli import main
from advnets.errors import CheckpointError
from advnets.snapshot import LATEST_SNAPSHOT, load_network_file
from advnets.tensorfile import load_tensors, save_tensors
from tests.train.test_faults import one_error_line


def _claiming(source: Path, out: Path, shape: list[int], name: str = "generator.hidden.0.weight") -> Path:
    """A copy of `source`'s header claiming one F32 tensor of `shape`, on a sparse file of exactly that size."""
    data = source.read_bytes()
    n = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8 : 8 + n])["__metadata__"]
    size = 4
    for d in shape:
        size *= d
    table = json.dumps({"__metadata__": metadata, name: {"dtype": "F32", "shape": shape, "data_offsets": [0, size]}})
    with out.open("wb") as f:
        f.write(len(table).to_bytes(8, "little") + table.encode())
        f.truncate(8 + len(table) + size)  # sparse: no disk used, 40 GB to a reader
    return out


def test_a_sparse_40_gb_snapshot_is_refused_by_every_reader_at_once(tiny_mnist_run, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.yaml", "stats.jsonl"):
        (run / name).write_bytes((tiny_mnist_run / name).read_bytes())
    big = _claiming(tiny_mnist_run / LATEST_SNAPSHOT, run / LATEST_SNAPSHOT, [100_000, 100_000])
    assert big.stat().st_size > 40e9
    started = time.perf_counter()
    for argv in (["sample", str(big), "--n", "4", "--out", str(tmp_path / "x.npy")],
                 ["evaluate", str(big), "--metric", "parzen", "--n-samples", "10"],
                 ["export", str(run), "--out", str(tmp_path / "g.safetensors")]):
        assert main(argv) == 2, argv
        err = one_error_line(capsys)
        assert "claims 40.0 GB of tensors, more than the networks its config builds" in err, err
    assert main(["report", str(run)]) == 0  # the report says what it could not draw, and why
    assert "claims 40.0 GB of tensors" in (run / "report.html").read_text()
    assert time.perf_counter() - started < 60  # (reading 40 GB would take minutes, or fail for memory)


def test_claims_beyond_the_memory_available_are_refused(tiny_mnist_run, monkeypatch):
    import advnets.tensorfile as tensorfile

    monkeypatch.setattr(tensorfile, "available_memory", lambda device="cpu": 1000)
    with pytest.raises(CheckpointError, match="of memory available to read them"):
        load_tensors(tiny_mnist_run / LATEST_SNAPSHOT)


def test_a_tensor_outside_its_kind_is_refused(tiny_mnist_run, tmp_path):
    """A snapshot may hold only what its config's networks have (plus a little); a training state also
    its optimizers' buffers."""
    tensors, header = load_network_file(tiny_mnist_run / LATEST_SNAPSHOT)
    import torch

    save_tensors(tmp_path / "extra.safetensors", {**tensors, "junk": torch.zeros(2_000_000)}, header)
    with pytest.raises(CheckpointError, match=r"claims 8.\d MB of tensors, more than the networks its config builds"):
        load_network_file(tmp_path / "extra.safetensors")
    load_tensors(tmp_path / "extra.safetensors")  # (a file of no kind has no ceiling of its own)
    for name in ("training-state.safetensors", LATEST_SNAPSHOT):
        load_network_file(tiny_mnist_run / name)  # the real ones fit


def test_a_truncated_or_padded_file_is_refused_before_its_data_is_read(tiny_mnist_run, tmp_path):
    data = (tiny_mnist_run / LATEST_SNAPSHOT).read_bytes()
    (tmp_path / "short.safetensors").write_bytes(data[:-1])
    (tmp_path / "long.safetensors").write_bytes(data + b"\0")
    for name in ("short", "long"):
        with pytest.raises(CheckpointError, match="its header claims .* bytes and the file has"):
            load_tensors(tmp_path / f"{name}.safetensors")
