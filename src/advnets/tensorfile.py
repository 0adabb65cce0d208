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
import math
import os
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from advnets.errors import CheckpointError
from advnets.fileio import atomic_write_bytes
from advnets.runtime import available_memory, format_bytes


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


# What a header may claim before any tensor byte is read. A training state's JSON header is tens of kB.
MAX_HEADER_BYTES = 16 << 20
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
               "U16": 2, "U32": 4, "U64": 8, "C64": 8}

# A file kind's most bytes of tensors, given its header: (bytes, what holds that many), or None for no
# limit of its own. advnets.snapshot gives one per format, computed from the config the header carries.
Ceiling = Callable[[dict[str, Any]], "tuple[int, str] | None"]


def _not_a_checkpoint(path: Path, why: str = "corrupt, truncated or of another format") -> CheckpointError:
    return CheckpointError(f"{path} is not an advnets checkpoint ({why})")


def tensor_table_bytes(prefix: bytes, file_size: int, path: Path) -> int:
    """The bytes of tensor data a safetensors file's header (`prefix`: its 8-byte length and JSON)
    claims, after checking every claim against the others and against `file_size`: known types,
    shapes of whole numbers, each tensor's extent equal to its shape times its type's size, extents
    that tile the data section without gap or overlap, and a data section that ends where the file
    does. Nothing is read beyond `prefix`."""
    n = int.from_bytes(prefix[:8], "little")
    try:
        table = json.loads(prefix[8 : 8 + n])
        if not isinstance(table, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _not_a_checkpoint(path) from None
    extents = []
    for name, entry in table.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            ok = (dtype in DTYPE_BYTES and isinstance(shape, list)
                  and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
                  and all(isinstance(o, int) and not isinstance(o, bool) for o in (begin, end))
                  and 0 <= begin <= end and end - begin == math.prod(shape) * DTYPE_BYTES[dtype])
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise _not_a_checkpoint(path, f"its header's entry for {name[:60]!r} is inconsistent: a type, shape "
                                          "and extent that do not agree")
        extents.append((begin, end))
    covered = 0
    for begin, end in sorted(extents):
        if begin != covered:
            raise _not_a_checkpoint(path, "its header's tensors overlap or leave gaps in the data")
        covered = end
    if 8 + n + covered != file_size:
        raise _not_a_checkpoint(path, f"its header claims {8 + n + covered:,} bytes and the file has {file_size:,}: "
                                      "truncated, or not what its header says")
    return covered


def load_tensors(path: Path, ceiling: Ceiling | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and JSON header of a file written by :func:`save_tensors`. Before any tensor byte is
    read, the header's claims are checked against each other and the file's size
    (:func:`tensor_table_bytes`), against `ceiling` (the most its kind holds) and against the memory
    this machine has available; so a damaged or crafted header costs a few kB of reading, never the
    40 GB it may claim."""
    path = Path(path)
    try:
        with path.open("rb") as f:  # one open file throughout: a snapshot replaced meanwhile is not mixed in
            size = os.fstat(f.fileno()).st_size
            n = int.from_bytes(f.read(8), "little")
            if not 0 < n <= min(MAX_HEADER_BYTES, size - 8):
                raise _not_a_checkpoint(path)
            prefix = n.to_bytes(8, "little") + f.read(n)
            header = _parse_header(prefix, path)
            claimed = tensor_table_bytes(prefix, size, path)
            limit = ceiling(header) if ceiling is not None else None
            if limit is not None and claimed > limit[0]:
                raise CheckpointError(f"{path} claims {format_bytes(claimed)} of tensors, more than {limit[1]} "
                                      f"({format_bytes(limit[0])}); it is damaged or was written by another program")
            available = available_memory("cpu")
            if available is not None and 2 * claimed > available:  # the file's bytes, then the tensors made of them
                raise CheckpointError(f"{path} holds {format_bytes(claimed)} of tensors and this machine has "
                                      f"{format_bytes(available)} of memory available to read them")
            f.seek(0)
            data = f.read(8 + n + claimed)  # the whole file, now that its size is known to be what it claims
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint {path}: {e.strerror}") from None
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError, TypeError):
        raise _not_a_checkpoint(path) from None
    expected = header.get(CHECKSUM_KEY)
    if expected is not None and _tensor_bytes_sha256(data) != expected:
        raise CheckpointError(f"{path} is damaged: its tensor bytes do not match the checksum in its header "
                              "(a changed or lost byte)")
    return tensors, header


def read_header(path: Path) -> dict[str, Any]:
    """Only the JSON header of a checkpoint file (no tensors are read)."""
    try:
        with Path(path).open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            n = int.from_bytes(f.read(8), "little")
            prefix = n.to_bytes(8, "little") + (f.read(n) if 0 < n <= min(MAX_HEADER_BYTES, size - 8) else b"")
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
    except (ValueError, KeyError, TypeError, RecursionError):
        raise _not_a_checkpoint(path, "corrupt or of another format") from None


def with_prefix(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """{"w": t} -> {"prefix.w": t}: several state dicts share one file."""
    return {f"{prefix}.{k}": v for k, v in state.items()}


def strip_prefix(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries under "prefix.", with the prefix removed (the inverse of with_prefix)."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
