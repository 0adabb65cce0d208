"""The one on-disk format for tensors: a safetensors file whose metadata holds a JSON header.

Loading never executes pickled code. Network snapshots, training states, inference networks and the
shipped classifier are all such files; what a file is says its header's ``format`` tag (see
``advnets.snapshot``). Several state dicts share one file under prefixes ("generator.", "opt_d."...).

Every file written since advnets 0.2 carries the SHA-256 of its tensor bytes (the safetensors data
section) in its header, ``tensors_sha256``, checked on every load: a flipped or lost byte is refused
in one line instead of sampling from damaged weights. Files without it (0.1.0) load unchecked.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from advnets.errors import CheckpointError
from advnets.fileio import atomic_write_bytes


CHECKSUM_KEY = "tensors_sha256"


def _serialise(tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> bytes:
    return st_save(tensors, metadata={"advnets": json.dumps(header)})


def _tensor_bytes_sha256(data: bytes) -> str:
    """SHA-256 of a safetensors file's data section (everything after its 8-byte length and header);
    where each tensor lies in it does not depend on the header's metadata."""
    n = int.from_bytes(data[:8], "little")
    return hashlib.sha256(memoryview(data)[8 + n :]).hexdigest()


_PENDING = b"?" * 64  # the checksum's place in the header until the data section is known (a digest's length)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> None:
    """Write tensors (moved to the CPU, made contiguous) and a JSON header with the tensors'
    checksum, atomically. Serialised once: the header holds a placeholder of the digest's length,
    overwritten in place by the digest of the data section."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    data = bytearray(_serialise(tensors, {**header, CHECKSUM_KEY: _PENDING.decode()}))
    end = 8 + int.from_bytes(data[:8], "little")
    at = data.find(_PENDING, 8, end)
    assert at >= 0 and data.find(_PENDING, at + 1, end) < 0, "the checksum placeholder must be unique"
    data[at : at + len(_PENDING)] = _tensor_bytes_sha256(data).encode()
    atomic_write_bytes(path, data)


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and JSON header of a file written by :func:`save_tensors`."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror}") from None
    header = _parse_header(data, path)
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError, TypeError):
        raise CheckpointError(f"{path} is not an advnets checkpoint (corrupt, truncated or of another format)") from None
    expected = header.get(CHECKSUM_KEY)
    if expected is not None and _tensor_bytes_sha256(data) != expected:
        raise CheckpointError(f"{path} is damaged: its tensor bytes do not match the checksum in its header "
                              "(a changed or lost byte)")
    return tensors, header


def read_header(path: Path) -> dict[str, Any]:
    """Only the JSON header of a checkpoint file (no tensors are read)."""
    try:
        with Path(path).open("rb") as f:
            n = int.from_bytes(f.read(8), "little")
            prefix = n.to_bytes(8, "little") + (f.read(n) if 0 < n < 100_000_000 else b"")
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror}") from None
    return _parse_header(prefix, path)


def _parse_header(data: bytes, path: Path) -> dict[str, Any]:
    """The advnets JSON header from a safetensors file's leading bytes (8-byte length, then JSON)."""
    try:
        n = int.from_bytes(data[:8], "little")
        if not 0 < n <= len(data) - 8:
            raise ValueError
        header = json.loads(json.loads(data[8 : 8 + n])["__metadata__"]["advnets"])
        if not isinstance(header, dict):
            raise ValueError
        return header
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"{path} is not an advnets checkpoint (corrupt or of another format)") from None


def with_prefix(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """{"w": t} -> {"prefix.w": t}: several state dicts share one file."""
    return {f"{prefix}.{k}": v for k, v in state.items()}


def strip_prefix(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries under "prefix.", with the prefix removed (the inverse of with_prefix)."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
