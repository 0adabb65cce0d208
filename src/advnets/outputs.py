"""Where a command may write: never into a run folder that another process is training, and never
over a run's own files.

A run folder is trained by one process at a time, which holds ``.advnets-train.lock`` (an
``fcntl.flock``; advnets.train.rundir). Every other command that writes (``sample``, ``figure``,
``export``, ``average``, ``report``, ``evaluate``'s metrics.jsonl, ``infer``, ``semisup --out``) asks
:func:`check_output` first, before any work: a path inside a folder whose lock is held is refused,
and so is a path that names one of a run's own files (its training state, network snapshots,
config.yaml, stats.jsonl ...) in a run folder, with or without ``--force``, since replacing one would
lose the run.
"""

from __future__ import annotations

import errno
import os
import re
import socket
from pathlib import Path

from advnets.errors import CheckpointError, ConfigError

LOCK_FILE = ".advnets-train.lock"  # held (fcntl.flock) while a process trains the run
RUN_MARKERS = ("config.yaml", "training-state.safetensors", LOCK_FILE)  # what makes a folder a run's
RUN_FILES = ("training-state.safetensors", "config.yaml", "stats.jsonl", "probes.jsonl", "init-from.json", "log.txt",
             "sessions.jsonl", LOCK_FILE)  # and its network snapshots, network-*.safetensors


def is_run_file(name: str) -> bool:
    """Whether a file of this name in a run folder is one the training keeps (no other command may replace it)."""
    return name in RUN_FILES or (name.startswith("network-") and name.endswith(".safetensors"))


def recorded_holder_alive(fd: int) -> bool:
    """Whether the process a lock file records ("pid N on HOST ...") still runs on this host (for file
    systems that cannot lock, where the record decides)."""
    match = re.match(r"pid (\d+) on (\S+)", os.pread(fd, 200, 0).decode(errors="replace"))
    if not match or match.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return int(match.group(1)) != os.getpid()


def training_holder(folder: Path) -> str | None:
    """Who trains `folder` now ("pid N on HOST since ..."), or None when nobody does. Asked with a shared,
    non-blocking flock that is let go at once (a trainer taking the lock meanwhile retries: rundir.RunLock)."""
    try:
        fd = os.open(Path(folder) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        record = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
        try:
            import fcntl
        except ImportError:  # no flock (Windows): the recorded PID decides
            return record if recorded_holder_alive(fd) else None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return record
            return record if recorded_holder_alive(fd) else None  # e.g. ENOLCK: a file system without locks
        return None
    finally:
        os.close(fd)  # closing the descriptor lets go of the probe's shared lock


def is_run_folder(folder: Path) -> bool:
    return any((Path(folder) / name).exists() for name in RUN_MARKERS)


def check_output(path: str | os.PathLike, force: bool = False, folder: bool = False) -> Path:
    """Refuse, in one line, to write `path` (a file; with `folder`, a folder to write files into) inside a run
    folder another process trains, over a run's own file, or over an existing file without `force`."""
    path = Path(path)
    start = (path if folder else path.parent).resolve()
    for parent in (start, *start.parents):
        holder = training_holder(parent) if (parent / LOCK_FILE).exists() else None
        if holder:
            raise CheckpointError(f"{path} is inside {parent}, which {holder} is training; write elsewhere, or "
                                  "wait until that run stops (no command writes into a run while it trains)")
    if not folder and is_run_file(path.name) and is_run_folder(start):
        raise CheckpointError(f"{path} is one of the files the run in {path.parent} keeps (only its training writes "
                              "them, --force or not); choose another --out")
    if not folder and path.exists() and not force:
        raise ConfigError(f"{path} already exists; choose another --out or pass --force to overwrite it")
    return path
