"""User-facing errors, and the interruption of a run.

Anything a user can cause (a bad config value, a missing or corrupt file, a run directory that
already exists) raises an :class:`AdvnetsError`. The command line prints it as one line and exits
with status 2; library users catch it like any exception. A run stopped by Ctrl-C, SIGTERM or
SIGUSR1 raises :class:`TrainingInterrupted` once its state is saved (exit status 128 + the signal's
number: 130, 143, 138); a run whose numbers became NaN or infinite raises :class:`TrainingDiverged`
(exit status 3) with its last finite checkpoint intact.
"""

from __future__ import annotations

import errno
import os
import shlex
from pathlib import Path

# What to do about the operating-system errors a user can meet, by errno.
OS_ERROR_HINTS = {
    errno.ENOSPC: "the disk is full; free some space",
    errno.EDQUOT: "the disk quota is exhausted; free some space",
    errno.EROFS: "it is on a read-only file system; choose a writable place",
    errno.EACCES: "no permission; choose a folder you may write to",
    errno.EPERM: "no permission; choose a folder you may write to",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, where a file is written",
    errno.EEXIST: "a file of that name is in the way",
    errno.ENOENT: "a folder on the path does not exist",
}


def describe_os_error(e: OSError) -> str:
    """An operating-system error as one line: the path, what happened, what to do."""
    where = f"{e.filename}: " if e.filename else ""
    hint = OS_ERROR_HINTS.get(e.errno)
    return f"{where}{e.strerror or e}" + (f" ({hint})" if hint else "")


def shell_command(*words: str | os.PathLike) -> str:
    """A command for a user to paste, every word quoted for the shell where it needs it (a run folder
    named "x y;rm -rf x" stays one argument, never a second command)."""
    return " ".join(shlex.quote(str(word)) for word in words)


class AdvnetsError(Exception):
    """An error caused by the user's input; the message is one self-contained line."""

    exit_status = 2


class ConfigError(AdvnetsError):
    """An unknown key, a value of the wrong type, or a value out of range."""


class DataError(AdvnetsError):
    """A data set that is missing, corrupt, truncated or of the wrong format."""


class CheckpointError(AdvnetsError):
    """A run directory or checkpoint that is missing, corrupt, or does not match the request."""


class TrainingInterrupted(Exception):
    """Raised after Ctrl-C (or SIGTERM, SIGUSR1), once the training state has been saved."""

    def __init__(self, step: int, run_dir: Path, signal_name: str = "SIGINT", signal_number: int = 2,
                 resume_command: str | None = None):
        by = "" if signal_name == "SIGINT" else f" by {signal_name}"
        again = resume_command or shell_command('advnets', 'train', '--resume', run_dir)
        super().__init__(f"interrupted{by} at step {step}; state saved, continue with: {again}")
        self.step, self.signal_name = step, signal_name
        self.exit_status = 128 + signal_number


class TrainingDiverged(Exception):
    """Raised when a run's statistics or weights became NaN or infinite (train.on_nonfinite=stop, or
    no rollback left); nothing non-finite was written, the last finite checkpoint is intact."""

    exit_status = 3
