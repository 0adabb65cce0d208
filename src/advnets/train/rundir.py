"""Run directories: numbered, never overwritten, holding everything a run produced, trained by one
process at a time.

    runs/00003-paper-mnist/
        config.yaml                  the resolved config, written before step 0
        stats.jsonl                  one JSON line per log interval
        log.txt                      what the run printed (warnings, progress lines), time-stamped
        sessions.jsonl               each training session: command line, versions, CPU and threads, its end
        samples/step-00000500.png    progress images from a fixed latent batch
        network-latest.safetensors   network snapshot for sampling and evaluation
        training-state.safetensors   everything needed to resume exactly
        .advnets-train.lock          held (fcntl.flock) while a process trains the run

A folder that holds only what an interrupted start leaves (the lock file, temporary files of
interrupted writes) counts as empty: a new run may take it.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from advnets.config import Config, to_yaml
from advnets.errors import CheckpointError, shell_command
from advnets.fileio import TEMP_SUFFIX, append_line, atomic_write_bytes, read_json_lines, remove_temporaries
from advnets.outputs import LOCK_FILE, recorded_holder_alive

CONFIG_FILE = "config.yaml"
STATS_FILE = "stats.jsonl"
PROBES_FILE = "probes.jsonl"  # 1-D runs: the Figure-1 probes (metrics/probe_1d.py)
INIT_FROM_FILE = "init-from.json"  # generator.init_from: the trained G this run started from
LOG_FILE = "log.txt"  # what the run printed: warnings, progress lines (time-stamped)
SESSIONS_FILE = "sessions.jsonl"  # each training session: its command line, versions, machine; how it ended
SAMPLES_DIR = "samples"
TRAINING_STATE = "training-state.safetensors"  # everything needed to resume (advnets.train.checkpoint)
# The files that training alone writes (by name prefix): their temporary files may be removed by the lock
# holder, and no other command may replace them (advnets.outputs). Other commands (metrics.jsonl, figures,
# report.html) write into a run folder only while nobody trains it.
TRAINING_OUTPUTS = ("network-", "training-state", "config.yaml", "stats.jsonl", "probes.jsonl", "init-from",
                    "log.txt", "sessions.jsonl")
LOCK_RETRY_S = 0.2  # how long acquire() waits out another command's momentary probe of the lock

def is_leftover(entry: Path) -> bool:
    """What an interrupted start leaves and a new run may take over: the lock, temporary files."""
    return entry.name == LOCK_FILE or (entry.name.startswith(".") and TEMP_SUFFIX in entry.name and entry.is_file())


class RunLock:
    """One process trains a run directory at a time: an advisory lock (``fcntl.flock``) on
    ``.advnets-train.lock``, which records who holds it. The kernel releases the lock when its process
    ends however it ends (kill -9 included), so a lock file left behind is never stale. Where the file
    system cannot lock (some network file systems), the recorded PID decides: a lock whose process no
    longer runs on this host is taken over."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not self._flock(fd):
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                raise CheckpointError(f"{self.path.parent} is being trained by {holder}; wait for it to finish or "
                                      "stop it (Ctrl-C saves its state) before starting or resuming it here")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}"
                      .encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def _flock(self, fd: int) -> bool:
        """True when this process now holds the lock."""
        try:
            import fcntl
        except ImportError:  # no flock (Windows): the recorded PID decides
            return not recorded_holder_alive(fd)
        deadline = time.monotonic() + LOCK_RETRY_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    return not recorded_holder_alive(fd)  # e.g. ENOLCK: a file system without locks
                if time.monotonic() > deadline:  # held, not just probed by another command (outputs.py)
                    return False
                time.sleep(0.02)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None

    def __enter__(self) -> "RunLock":
        return self if self.fd is not None else self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def claim_run_dir(out: str | Path | None, name: str, root: str | Path = "runs") -> tuple[Path, RunLock]:
    """A new run directory, locked for this process: `out` itself (created, or an existing folder that
    holds nothing but leftovers of an interrupted start), or the next numbered folder under `root`."""
    if out is not None:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise CheckpointError(f"{path} exists and is not a directory; choose a new --out")
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = _next_numbered(Path(root), name)
    lock = RunLock(path).acquire()
    kept = [entry for entry in path.iterdir() if not is_leftover(entry)]
    if kept:
        lock.release()
        resume = shell_command("advnets", "train", "--resume", path)
        hint = (f"it stopped before its first checkpoint: start it again with {resume}"
                if (path / CONFIG_FILE).is_file() and not any(p.name.startswith("training-state") for p in kept)
                else f"continue it with {resume}")
        raise CheckpointError(f"{path} already exists and is not empty; choose a new --out (or {hint})")
    remove_temporaries(path, TRAINING_OUTPUTS)
    return path, lock


class RunClaim:
    """A run folder this process trains in: locked while it does, and removed again when it was made for
    this run and holds no training state when the run ends (a start that failed before its first checkpoint
    leaves nothing behind). Ranks 1.. of a distributed run hold no claim: rank 0 holds it for all."""

    def __init__(self, path: Path, lock: RunLock | None, created: bool):
        self.path, self.lock, self.created = Path(path), lock, created

    @classmethod
    def new(cls, out: str | Path | None, name: str, root: str | Path = "runs") -> "RunClaim":
        """A new run's folder: `out` (made, or taken over from an interrupted start), else the next numbered
        folder under `root` (claim_run_dir)."""
        path, lock = claim_run_dir(out, name, root)
        return cls(path, lock, created=True)

    @classmethod
    def existing(cls, run_dir: str | Path) -> "RunClaim":
        """A run to resume, locked before its state is read (so that no other process trains it meanwhile)."""
        path = Path(run_dir)
        if not path.is_dir():
            raise CheckpointError(f"{path} is not a run directory (it does not exist); nothing to resume")
        return cls(path, RunLock(path).acquire(), created=False)

    @classmethod
    def folder(cls, run_dir: str | Path) -> "RunClaim":
        """`run_dir` as the library's train() is given it: made when missing (and then removed again if the
        run fails before its first checkpoint), locked either way."""
        path = Path(run_dir)
        claim = cls(path, None, created=not path.exists())
        path.mkdir(parents=True, exist_ok=True)
        try:
            claim.lock = RunLock(path).acquire()
        except BaseException:
            claim.close()
            raise
        return claim

    def close(self) -> None:
        """Give the folder up: removed when made for this run and it holds no training state; unlocked."""
        if self.created and not (self.path / TRAINING_STATE).exists():
            shutil.rmtree(self.path, ignore_errors=True)
            self.created = False
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> "RunClaim":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def create_run_dir(out: str | Path | None, name: str, root: str | Path = "runs") -> Path:
    """A new, empty run directory (as claim_run_dir, without keeping the lock)."""
    path, lock = claim_run_dir(out, name, root)
    lock.release()
    return path


def _next_numbered(root: Path, name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d+)-", p.name))]
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name) or "run"
    number = max(numbers, default=-1) + 1
    while True:  # another process may take a number at the same moment
        path = root / f"{number:05d}-{safe_name}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            number += 1


def remove_leftovers(run_dir: Path) -> int:
    """The lock holder's cleanup: temporary files of the training's interrupted writes."""
    return remove_temporaries(run_dir, TRAINING_OUTPUTS) + remove_temporaries(run_dir / SAMPLES_DIR, ("step-",))


def write_config(run_dir: Path, cfg: Config) -> None:
    atomic_write_bytes(run_dir / CONFIG_FILE, to_yaml(cfg).encode())


class RunLog:
    """What a run says: printed (without breaking its progress bar) and kept in ``log.txt``."""

    def __init__(self, run_dir: Path, quiet: bool = False, label: str = ""):
        self.path = Path(run_dir) / LOG_FILE
        self.progress = None  # the run's advnets.progress.Progress, once it has one
        self.quiet = quiet  # ranks 1.. of a distributed run: rank 0 speaks for all
        self.label = label  # printed before each line (a member of several trained at once: "[s3] "), not kept

    def copy(self, text: str) -> None:
        if not self.quiet:
            append_line(self.path, f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}")

    def say(self, text: str) -> None:
        if self.quiet:
            return
        if self.progress is not None:
            self.progress.write(self.label + text)
        else:
            print(self.label + text, flush=True)
        self.copy(text)


def record_session(run_dir: Path, row: dict[str, Any]) -> None:
    """One line of sessions.jsonl: a training session's start (command line, versions, machine) or end."""
    append_line(Path(run_dir) / SESSIONS_FILE, json.dumps({"time": time.strftime("%Y-%m-%d %H:%M:%S"), **row}))


class StatsWriter:
    """Appends one JSON object per line to ``stats.jsonl`` (or another such file), durably at once."""

    def __init__(self, run_dir: Path, name: str = STATS_FILE):
        self.path = run_dir / name

    def write(self, row: dict[str, Any]) -> None:
        append_line(self.path, json.dumps(row))

    def truncate_after(self, step: int) -> None:
        """Drop rows logged after `step` (a resumed run re-logs them, so none appear twice), and a last
        line torn by a crash or a full disk."""
        if not self.path.exists():
            return
        kept = [row for row in _read_rows(self.path) if row.get("step", 0) <= step]
        atomic_write_bytes(self.path, "".join(json.dumps(row) + "\n" for row in kept).encode())


def _read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        rows, _torn = read_json_lines(path)  # a torn last line is what a crash leaves: dropped
    except ValueError as e:
        raise CheckpointError(str(e)) from None
    return rows


def read_stats(run_dir: Path, name: str = STATS_FILE) -> list[dict[str, Any]]:
    """The rows of a run's JSON-lines file ([] when it has none yet)."""
    path = Path(run_dir) / name
    if not path.exists():
        return []
    return _read_rows(path)
