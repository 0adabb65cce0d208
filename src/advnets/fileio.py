"""Files a run writes: atomically (readers see the old file or the new one, never a torn one), and
identified by their content (SHA-256) in every record that refers to them.

- :func:`atomic_write_bytes` / :func:`atomic_output`: a temporary file beside the target, fsync'ed,
  renamed over it, and the directory fsync'ed, so that the rename itself survives a power cut;
- :func:`append_line`: JSON-lines logs grow by appends, each flushed and fsync'ed; the most a crash
  or a full disk can leave is one torn last line, which :func:`read_json_lines` tolerates;
- :func:`remove_temporaries`: the temporary files of writes that a kill interrupted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_directory(path: str | os.PathLike) -> None:
    """Make a rename inside `path` durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_name(path: Path) -> str:
    """The prefix of `path`'s temporary files: ``.NAME.`` (then a random part, then a suffix)."""
    return f".{path.name}."


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` for a writer that wants a file name (PIL, matplotlib: give them
    the format, since the temporary name ends in ``.tmp``, so that no ``*.png`` or ``*.safetensors``
    pattern ever picks up a half-written file); once the block has written it, it is fsync'ed and
    renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temporary_name(path), suffix=TEMP_SUFFIX)
    except OSError as e:  # named as the user named it, not by the temporary name they never gave
        raise OSError(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
        fsync_directory(path.parent)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.filename in (tmp, Path(tmp)):
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def append_line(path: str | os.PathLike, text: str) -> None:
    """Append one line (no newline inside `text`) and make it durable before returning."""
    with open(path, "a") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_json_lines(path: str | os.PathLike) -> tuple[list[dict[str, Any]], bool]:
    """The rows of a JSON-lines file, and whether its last line was torn (cut short by a crash or a
    full disk: not JSON, and then dropped). A bad line elsewhere is damage, not a torn write:
    ValueError naming its line number."""
    lines = Path(path).read_text(errors="replace").split("\n")
    rows, torn = [], False
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError
        except ValueError:
            if number == last:
                torn = True
                continue
            raise ValueError(f"{path} line {number + 1} is not a JSON object (the file is damaged)") from None
        rows.append(row)
    return rows, torn


def remove_temporaries(directory: str | os.PathLike, prefixes: tuple[str, ...]) -> int:
    """Delete the temporary files that interrupted atomic writes left in `directory` for files whose
    names start with one of `prefixes` (e.g. "network-"); returns how many. Only the one writer of
    those files (a run's lock holder) may call this."""
    directory, removed = Path(directory), 0
    if not directory.is_dir():
        return 0
    for entry in directory.iterdir():
        if (entry.name.startswith(tuple("." + p for p in prefixes)) and TEMP_SUFFIX in entry.name
                and entry.is_file()):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB pieces (hex)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
